"""Sweep of small (N, d) against the best known line packings.

    python benchmarks/line_packings.py [--jobs 2] [--work-dir DIR]
        [--report docs/en/benchmarks/line_packings.md] [--limit K]

Every (N, d) with 3 <= d <= 16 and d + 2 <= N <= 4d that the table in
``benchmarks/data/line_packings_best_known.csv`` lists (Henry Cohn's table of
Grassmannian packings, the successor of N. J. A. Sloane's; provenance in
``benchmarks/data/line_packings_SOURCES.md``) is generated once with the
defaults of ``tools/generate_ebvs.py`` (``generate_ebvs(N, d)``: method
``auto``, seed 0, no target, no time limit), one torch thread per case and
``--jobs`` cases at once, each worker process taking every ``jobs``-th case.
Max |cos| is measured in float64 over all pairs. Each case's result is saved
in the work dir as it finishes, with the generator version, so an
interrupted sweep resumes where it stopped (cases saved by another
generator version are run again).
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, 'benchmarks', 'data',
                     'line_packings_best_known.csv')
sys.path[:0] = [ROOT, os.path.join(ROOT, 'projects', 'digits')]

from digits_lab.reporting import machine  # noqa: E402
from mmebv.analysis.io import atomic_write_json, atomic_write_text  # noqa
from mmebv.core.generate import GENERATOR_VERSION  # noqa: E402

#: The issue's targets: ratio of our max |cos| to the best known one.
MEDIAN_TARGET, WORST_TARGET, SECONDS_TARGET = 1.001, 1.01, 60.0


def best_known() -> List[dict]:
    """The table's rows in the sweep's range, by d then N."""
    with open(TABLE, newline='') as f:
        rows = [dict(d=int(r['d']), N=int(r['N']),
                     best=float(r['best_max_abs_cos']))
                for r in csv.DictReader(f)]
    return sorted((r for r in rows if 3 <= r['d'] <= 16
                   and r['d'] + 2 <= r['N'] <= 4 * r['d']),
                  key=lambda r: (r['d'], r['N']))


def case_path(work_dir: str, row: dict) -> str:
    return os.path.join(work_dir, f"d{row['d']}_N{row['N']}.json")


def load_case(path: str) -> Optional[dict]:
    """A saved case, if it was made by this generator version."""
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        record = json.load(f)
    if record.get('generator_version') != GENERATOR_VERSION:
        return None
    return record


def worker(work_dir: str, shard: int, shards: int, cases: List[dict]) -> None:
    """Run this shard's missing cases, saving each result."""
    import warnings

    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
    from mmebv.core import generate_ebvs
    from mmebv.core.bounds import max_abs_cos
    warnings.simplefilter('ignore')
    for row in cases[shard::shards]:
        path = case_path(work_dir, row)
        if load_case(path) is not None:
            continue
        wall, cpu = time.perf_counter(), time.process_time()
        ebvs = generate_ebvs(row['N'], row['d'], progress=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        ours = max_abs_cos(F.normalize(ebvs.double(), dim=1))
        atomic_write_json(path, dict(row, ours=ours, ratio=ours / row['best'],
                                     seconds=wall, cpu_seconds=cpu,
                                     generator_version=GENERATOR_VERSION))
        print(f"d={row['d']} N={row['N']}: {ours:.6f} / {row['best']:.6f} "
              f'= {ours / row["best"]:.5f} ({cpu:.1f} s)', flush=True)


def report(results: List[dict], listed: int, args, wall: float,
           loads: tuple) -> str:
    ratios = [r['ratio'] for r in results]
    cpu = [r['cpu_seconds'] for r in results]
    median, worst = statistics.median(ratios), max(ratios)
    lines = [
        '# Small (N, d) against the best known line packings', '',
        'Produced by `' + ' '.join(['python'] + sys.argv) + f'` on '
        f'{machine()}, {args.jobs} case(s) at once, one torch thread each '
        f'(this invocation: {wall / 60:.1f} min wall; load average '
        f'{loads[0]:.1f} at its start, {loads[1]:.1f} at its end; cases '
        'already in the work dir are reused).', '',
        'Every (N, d) with 3 <= d <= 16 and d + 2 <= N <= 4d that the '
        'table lists: Henry Cohn, *Grassmannian packings* '
        '(cohn.mit.edu/grassmannian, the successor of N. J. A. Sloane\'s '
        'table; read from a copy of October 2026, see '
        '`benchmarks/data/line_packings_SOURCES.md`). Ours: one default '
        'call `generate_ebvs(N, d)` (what `tools/generate_ebvs.py '
        '--num-classes N --dim d` runs), max |cos| measured in float64; '
        'time: the call\'s CPU time on one thread (a CLI call runs small '
        'problems on one thread too and adds about 3 s of start-up).', '',
        f'- Cases: {len(results)}'
        + ('' if len(results) == listed else
           f' of the {listed} listed (the sweep was stopped; the others are '
           'not measured yet: the command without --report-only resumes '
           'it)')
        + f'; median ratio {median:.5f} (target <= '
        f'{MEDIAN_TARGET}: {"met" if median <= MEDIAN_TARGET else "missed"}),'
        f' worst {worst:.4f} (target <= {WORST_TARGET}: '
        f'{"met" if worst <= WORST_TARGET else "missed"}).',
        f'- Above 1.001: {sum(r > 1.001 for r in ratios)}; above 1.01: '
        f'{sum(r > 1.01 for r in ratios)}; below 0.9999 (better than the '
        f'table): {sum(r < 0.9999 for r in ratios)}.',
        f'- CPU time per case: median {statistics.median(cpu):.1f} s, max '
        f'{max(cpu):.1f} s (target <= {SECONDS_TARGET:g} s: '
        f'{"met" if max(cpu) <= SECONDS_TARGET else "missed"}).', '',
        '## By dimension', '',
        '| d | cases | median ratio | worst ratio (N) | max CPU (s) |',
        '|---|---|---|---|---|']
    by_dim: Dict[int, List[dict]] = {}
    for r in results:
        by_dim.setdefault(r['d'], []).append(r)
    for dim, rows in sorted(by_dim.items()):
        worst_row = max(rows, key=lambda r: r['ratio'])
        lines.append(
            f'| {dim} | {len(rows)} | '
            f'{statistics.median(r["ratio"] for r in rows):.5f} | '
            f'{worst_row["ratio"]:.4f} ({worst_row["N"]}) | '
            f'{max(r["cpu_seconds"] for r in rows):.1f} |')
    above = sorted((r for r in results if r['ratio'] > 1.001),
                   key=lambda r: -r['ratio'])
    lines += ['', '## Cases above 1.001', '',
              '| d | N | best known | ours | ratio | CPU (s) |',
              '|---|---|---|---|---|---|']
    lines += [f"| {r['d']} | {r['N']} | {r['best']:.6f} | {r['ours']:.6f} "
              f"| {r['ratio']:.4f} | {r['cpu_seconds']:.1f} |"
              for r in above] or ['| - | - | - | - | - | - |']
    return '\n'.join(lines + [''])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--jobs', type=int, default=2,
                        help='worker processes (one torch thread each)')
    parser.add_argument('--work-dir', default='work_dirs/line_packings')
    parser.add_argument('--report', default=None,
                        help='default: WORK_DIR/line_packings.md')
    parser.add_argument('--limit', type=int, default=None,
                        help='only the first K cases (by d, then N)')
    parser.add_argument('--report-only', action='store_true',
                        help='report the cases already in the work dir, '
                        'run none')
    parser.add_argument('--worker', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs < 1 or (args.limit is not None and args.limit < 1):
        parser.error('--jobs and --limit must be >= 1')
    cases = best_known()[:args.limit]
    work_dir = os.path.abspath(args.work_dir)
    if args.worker is not None:
        worker(work_dir, args.worker, args.jobs, cases)
        return 0
    os.makedirs(work_dir, exist_ok=True)
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    command = [sys.executable, os.path.abspath(__file__), '--jobs',
               str(args.jobs), '--work-dir', work_dir]
    if args.limit is not None:
        command += ['--limit', str(args.limit)]
    workers = [] if args.report_only else [
        subprocess.Popen(command + ['--worker', str(shard)])
        for shard in range(args.jobs)]
    if any(w.wait() != 0 for w in workers):
        print('a worker failed; rerun to resume', file=sys.stderr)
        return 1
    results = [record for record in (
        load_case(case_path(work_dir, row)) for row in cases)
        if record is not None]
    if not results:
        parser.error(f'no case has been run in {work_dir}')
    path = os.path.abspath(args.report or os.path.join(
        work_dir, 'line_packings.md'))
    text = report(results, len(cases), args, time.perf_counter() - start,
                  (load_start, os.getloadavg()[0]))
    atomic_write_text(path, text)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
