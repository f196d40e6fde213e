"""The table of best known line packings the sweep compares to, and
benchmarks/line_packings.py on its first cases."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmebv.core.bounds import lower_bound
from tests_conftest import checkout_env

REPO = Path(__file__).resolve().parents[2]
TABLE = REPO / 'benchmarks' / 'data' / 'line_packings_best_known.csv'


def table_rows() -> list:
    with open(TABLE, newline='') as f:
        return [(int(r['d']), int(r['N']), float(r['best_max_abs_cos']))
                for r in csv.DictReader(f)]


def test_table_is_in_range_and_above_the_lower_bounds():
    rows = table_rows()
    assert len(rows) == len({(d, n) for d, n, _ in rows}) >= 350
    for dim, num, best in rows:
        assert 3 <= dim <= 16 and dim + 2 <= num <= 4 * dim
        # no packing beats the Welch / orthoplex / Levenshtein bounds; the
        # table's values are rounded up by less than 1e-9
        assert best >= lower_bound(num, dim) - 1e-9, (dim, num)
    for dim in {d for d, _, _ in rows}:  # more lines never pack better
        values = [b for d, _, b in sorted(rows) if d == dim]
        assert all(a <= b + 1e-12 for a, b in zip(values, values[1:])), dim


@pytest.mark.slow
def test_sweep_of_the_first_cases(tmp_path):
    """Lines in R^3, N = 5, 6, 7 (optimal packings known): within 1%, and a
    rerun reuses the saved cases of this generator version only."""
    report = tmp_path / 'sweep.md'
    cmd = [sys.executable, 'benchmarks/line_packings.py', '--limit', '3',
           '--jobs', '1', '--work-dir', str(tmp_path / 'work'), '--report',
           str(report)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env=checkout_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(p.read_text())
               for p in sorted((tmp_path / 'work').glob('d*_N*.json'))]
    assert [(r['d'], r['N']) for r in results] == [(3, 5), (3, 6), (3, 7)]
    for r in results:
        assert 0.9999 <= r['ratio'] <= 1.01
    assert 'Cases: 3;' in report.read_text()
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                           env=checkout_env())
    assert rerun.returncode == 0 and 'd=3 N=5:' not in rerun.stdout
    # a case saved by another generator version is run again
    saved = tmp_path / 'work' / 'd3_N6.json'
    saved.write_text(json.dumps(dict(results[1], generator_version='old')))
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                           env=checkout_env())
    assert rerun.returncode == 0 and 'd=3 N=5:' not in rerun.stdout
    assert 'd=3 N=6:' in rerun.stdout
    assert json.loads(saved.read_text())['generator_version'] != 'old'
