"""Benchmark EBV generation: method 'auto' against the authors' 'paper'.

Every case runs in its own subprocess (so the peak resident memory of each is
its own), with the same wall-clock budget for both methods. Results go to
docs/benchmarks/ebv_generation.md (written atomically).

    .venv/bin/python benchmarks/ebv_generation.py            # all cases
    .venv/bin/python benchmarks/ebv_generation.py --quick    # a subset
"""
import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'docs', 'benchmarks', 'ebv_generation.md')

#: (N, d, target max |cos| or None for N <= d, run paper too)
CASES = [
    (81, 81, None, True),
    (150, 150, None, True),
    (1000, 1000, None, True),
    (1000, 500, 0.035, True),
    (1000, 300, 0.058, True),
    (1000, 200, 0.080, True),
    (1000, 100, 0.135, True),
    (1000, 512, 0.035, True),
    (10000, 512, 0.0625, True),
    (100000, 5000, 0.016, False),
]
QUICK = [CASES[0], CASES[2], CASES[5], CASES[8]]
PAPER_DEFAULT_ALPHA = 0.002
#: Above this many pairs the exact check is reported in its own columns.
LARGE_PAIRS = 10**9


def worker(method: str, num: int, dim: int, alpha, budget: float,
           threads: int) -> dict:
    """Generate one set, time it, check it over all pairs (tiled)."""
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, ROOT)
    from mmebv.core import coherence_report, generate_ebvs
    import warnings
    warnings.simplefilter('ignore')
    start = time.perf_counter()
    ebvs = generate_ebvs(num, dim, method=method, alpha=alpha,
                         time_limit=budget, progress=False)
    seconds = time.perf_counter() - start
    peak_generate = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    report = coherence_report(ebvs)
    check_seconds = time.perf_counter() - start
    return dict(method=method, num=num, dim=dim, alpha=alpha,
                max_abs_cos=report.max_abs_cos, bound=report.bound,
                ratio=report.ratio_to_bound, seconds=seconds,
                peak_mib=peak_generate / 1024,
                check_seconds=check_seconds,
                check_peak_mib=resource.getrusage(
                    resource.RUSAGE_SELF).ru_maxrss / 1024,
                min_angle=report.min_angle_deg)


def run_case(method, num, dim, alpha, budget, threads) -> dict:
    command = [sys.executable, os.path.abspath(__file__), '--worker',
               json.dumps([method, num, dim, alpha, budget, threads])]
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f'{method} {num}x{dim} failed:\n{result.stderr}')
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine() -> str:
    model = platform.processor() or 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    import torch
    return (f'{model}, {os.cpu_count()} logical cores, '
            f'{platform.system()} {platform.release()}, Python '
            f'{platform.python_version()}, torch {torch.__version__}')


def fmt_cos(row) -> str:
    return f"{row['max_abs_cos']:.4g}"


def fmt_ratio(row) -> str:
    return '-' if row['bound'] == 0 else f"{row['ratio']:.3f}"


def write_markdown(rows, args, load_before, total_seconds) -> None:
    baseline = min(row[3]['peak_mib'] for row in rows)
    lines = [
        '# EBV generation benchmark', '',
        f'Produced by `{" ".join(["python"] + sys.argv)}` '
        f'(re-run it to refresh this file).', '',
        f'- Machine: {machine()}; no GPU used (`device=cpu`).',
        f'- torch intra-op threads: {args.threads}. Load average before the '
        f'run: {load_before} (the CPU was shared with other jobs).',
        f'- Wall-clock budget per run: {args.budget:g} s for both methods '
        f'(`time_limit`); `paper` stops when max |cos| <= alpha + 1e-4, '
        f'`auto` when max |cos| <= alpha (alpha = target; for N <= d, auto '
        f'is exact and paper uses the authors\' 0.002).',
        '- Peak memory: peak resident set size of the process that ran the '
        f'case; it includes Python + torch ({baseline:.0f} MiB in the '
        f'smallest case).',
        '- max |cos| is measured afterwards over all pairs by '
        '`coherence_report` (tiled, exact).',
        f'- Total benchmark time: {total_seconds / 60:.1f} min.', '',
        '| N | d | target | auto max\\|cos\\| | auto / bound | auto time (s) '
        '| auto peak (MiB) | paper max\\|cos\\| | paper / bound '
        '| paper time (s) | paper peak (MiB) | lower bound |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    notes = []
    for num, dim, target, auto, paper in rows:
        paper_cells = (['-', '-', '-', '-'] if paper is None else [
            fmt_cos(paper), fmt_ratio(paper), f"{paper['seconds']:.2f}",
            f"{paper['peak_mib']:.0f}"])
        target_text = ('exact (<= 1e-6)' if target is None else
                       f'<= {target:g}')
        lines.append('| ' + ' | '.join([
            str(num), str(dim), target_text, fmt_cos(auto), fmt_ratio(auto),
            f"{auto['seconds']:.2f}", f"{auto['peak_mib']:.0f}",
            *paper_cells, f"{auto['bound']:.4g}"]) + ' |')
        if num * (num - 1) // 2 >= LARGE_PAIRS:
            pairs = num * (num - 1) // 2
            notes.append(
                f'- {num} x {dim} (auto): exact check over all {pairs:,} '
                f'pairs: max |cos| = {auto["max_abs_cos"]:.6g} (min angle '
                f'{auto["min_angle"]:.2f} deg), '
                f'{auto["check_seconds"]:.0f} s, '
                f'peak {auto["check_peak_mib"]:.0f} MiB (generation took '
                f'{auto["seconds"]:.2f} s).')
    if notes:
        lines += ['', *notes]
    lines.append('')
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(OUT), suffix='.md')
    with os.fdopen(fd, 'w') as f:
        f.write('\n'.join(lines))
    os.replace(tmp, OUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a subset of the cases')
    parser.add_argument('--budget', type=float, default=55.0,
                        help='seconds per run for each method')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch intra-op threads')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*json.loads(args.worker))))
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    load_before = ' '.join(f'{x:.1f}' for x in os.getloadavg())
    begin = time.perf_counter()
    rows = []
    for num, dim, target, with_paper in (QUICK if args.quick else CASES):
        auto = run_case('auto', num, dim, target, args.budget, args.threads)
        print(f"auto  {num}x{dim}: {auto['max_abs_cos']:.5g} in "
              f"{auto['seconds']:.2f} s", flush=True)
        paper = None
        if with_paper:
            alpha = PAPER_DEFAULT_ALPHA if target is None else target
            paper = run_case('paper', num, dim, alpha, args.budget,
                             args.threads)
            print(f"paper {num}x{dim}: {paper['max_abs_cos']:.5g} in "
                  f"{paper['seconds']:.2f} s", flush=True)
        rows.append((num, dim, target, auto, paper))
    write_markdown(rows, args, load_before, time.perf_counter() - begin)
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
