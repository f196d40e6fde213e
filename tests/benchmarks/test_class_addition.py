"""benchmarks/class_addition.py --quick end to end: every cell (task x head)
trains on the old classes, grows with the add_classes surgery (old logits
kept), fine-tunes both ways and is evaluated; the report holds it all."""
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests_conftest import checkout_env

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_class_addition_end_to_end(tmp_path):
    work_dir, report = tmp_path / 'work', tmp_path / 'report' / 'ca.md'
    cmd = [sys.executable, 'benchmarks/class_addition.py', '--quick',
           '--work-dir', str(work_dir), '--report', str(report)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env=checkout_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = sorted(work_dir.glob('*/*/seed0/result.json'))
    assert [p.relative_to(work_dir).parts[:2] for p in results] == [
        ('cls', 'ebv'), ('cls', 'fc'), ('seg', 'ebv'), ('seg', 'fc')]
    for path in results:
        cell = json.loads(path.read_text())
        assert cell['base_steps'] > 0
        assert all(math.isfinite(v) for v in cell['base_losses'])
        assert set(cell['after']) == {'new-only', 'replay'}
        for mode, after in cell['after'].items():
            assert after['steps'] > 0
            assert all(math.isfinite(v) for v in after['losses'])
            assert after['old_logit_drift'] < 1e-4  # the surgery kept them
            for group in ('old', 'new'):
                assert 0 <= after[group] <= 100
        assert (path.parent / 'grown' / 'checkpoint.pth').is_file()
        replay, new_only = (cell['after'][m]['train_size']
                            for m in ('replay', 'new-only'))
        assert replay > new_only  # the replay set was added
    text = report.read_text()
    assert text.count('| EBV | new-only |') == 2  # both tasks
    assert text.count('| FC | replay |') == 2
    assert (report.parent / 'class_addition.png').stat().st_size > 10_000
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                           env=checkout_env())
    assert rerun.returncode == 0
    assert ' seed 0: ' not in rerun.stdout  # every cell was reused
    other = subprocess.run(cmd + ['--replay', '0.1'], cwd=REPO,
                           capture_output=True, text=True, env=checkout_env())
    assert other.returncode != 0  # cells of another replay set: refused
    assert 'use another --work-dir' in other.stderr
