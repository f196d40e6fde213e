"""Benchmark EBV generation (``generate_ebvs``, method 'auto', default budget).

Three sections, each case in its own subprocess (its own peak memory, wall
and CPU time), written to docs/en/benchmarks/ebv_generation.md (atomically):

* ``authors``: N = 1000 against the max |cos| of the authors' released EBV
  files (d = 100..500); target: 3% below theirs, within 60 s.
* ``large``: mid-size and large problems, with their quality targets.
* ``small``: small d against the best known line packings; target: median
  ratio <= 1.005, worst <= 1.03.
* ``extend``: ``extend_ebvs`` against a fresh set of the same size, from a
  fresh set (``generated``) and from a fresh larger set with its last rows
  removed (``holes``: the removed rows' places are free again).

    .venv/bin/python benchmarks/ebv_generation.py                # all
    .venv/bin/python benchmarks/ebv_generation.py --sections small
"""
import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'docs', 'en', 'benchmarks', 'ebv_generation.md')
sys.path.insert(0, os.path.join(ROOT, 'projects', 'digits'))

from digits_lab.reporting import machine  # noqa: E402

#: Max |cos| of the authors' EBV files for N = 1000 (their released pickles,
#: as measured here on the converted files), by d.
AUTHORS = {100: 0.135, 200: 0.080, 300: 0.058, 400: 0.044, 500: 0.035}
AUTHORS_MARGIN, AUTHORS_SECONDS = 0.97, 60.0
#: (N, d, target max |cos| or None, seconds allowed)
LARGE = [(2000, 700, 0.036, 120.0), (3000, 1000, 0.030, 120.0),
         (10000, 512, None, 120.0), (20000, 1000, None, 120.0),
         (20000, 2048, None, 120.0)]
#: (N, d, best known max |cos|, source). Sources: [CHS] Conway, Hardin,
#: Sloane, "Packing lines, planes, etc.", Exp. Math. 5 (1996), optimal for
#: N <= 7 in R^3 (proved, see Mixon & Parshall, arXiv:1902.10177); [ETF] real
#: equiangular tight frames, which meet the Welch bound (Paley conference
#: matrices for N = 2d = q + 1, q = 9, 13, 17, 25; Sustik, Tropp, Dhillon,
#: Heath, Linear Algebra Appl. 426 (2007) for the others); [Sloane] N. J. A.
#: Sloane's table of Grassmannian packings, as kept by H. Cohn
#: (benchmarks/data/line_packings_best_known.csv, which the sweep of
#: benchmarks/line_packings.py compares every small case to).
SMALL = [
    (4, 3, 1 / 3, 'CHS'), (5, 3, 1 / math.sqrt(5), 'CHS'),
    (6, 3, 1 / math.sqrt(5), 'CHS'), (7, 3, 1 / math.sqrt(3), 'CHS'),
    (10, 5, 1 / 3, 'ETF'), (16, 6, 1 / 3, 'ETF'),
    (14, 7, 1 / math.sqrt(13), 'ETF'), (28, 7, 1 / 3, 'ETF'),
    (18, 9, 1 / math.sqrt(17), 'ETF'), (16, 10, 0.2, 'ETF'),
    (26, 13, 0.2, 'ETF'), (11, 5, 0.3866411989, 'Sloane'),
    (40, 12, 0.2541493315, 'Sloane'), (50, 13, 0.25, 'Sloane'),
]
SMALL_MEDIAN, SMALL_WORST = 1.005, 1.03
#: (old N, new N, d) and the target: within 10% of a fresh set.
EXTEND = [(40, 46, 8), (120, 132, 24), (300, 330, 40), (500, 550, 100)]
EXTEND_MARGIN = 1.1
#: Random unit vectors moved into holes of the old set to find its deepest.
HOLE_PROBES = 1024
#: The deepest of them are polished by float64 L-BFGS (old rows fixed).
HOLES_POLISHED = 8
SECTIONS = ('authors', 'large', 'small', 'extend')


def worker(num: int, dim: int, threads: int) -> dict:
    """Generate one set with the defaults, time it, check it (tiled)."""
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, ROOT)
    import warnings

    from mmebv.core import coherence_report, generate_ebvs
    warnings.simplefilter('ignore')
    wall, cpu = time.perf_counter(), time.process_time()
    ebvs = generate_ebvs(num, dim, progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = coherence_report(ebvs)
    return dict(num=num, dim=dim, max_abs_cos=report.max_abs_cos,
                bound=report.bound, seconds=wall, cpu_seconds=cpu,
                peak_mib=peak)


def extend_worker(old_num: int, num: int, dim: int, threads: int) -> dict:
    """Fresh (N, d); extensions of a fresh (N0, d) and of its first N0 rows."""
    import torch
    torch.set_num_threads(threads)
    sys.path.insert(0, ROOT)
    import warnings

    from mmebv.core import extend_ebvs, generate_ebvs
    from mmebv.core.bounds import max_abs_cos
    from mmebv.core.optimize import deepen_holes, minimize_coherence_lbfgs
    warnings.simplefilter('ignore')
    fresh = generate_ebvs(num, dim, progress=False)
    old = generate_ebvs(old_num, dim, progress=False)
    row = dict(fresh=max_abs_cos(fresh), old=max_abs_cos(old))
    # the deepest hole of the old set found (one added row, and HOLE_PROBES
    # random probes moved into holes): every extension's max |cos| is at
    # least the deepest hole's
    one = extend_ebvs(old, old_num + 1, progress=False)
    probes = torch.nn.functional.normalize(torch.randn(
        HOLE_PROBES, dim, generator=torch.Generator().manual_seed(0)), dim=1)
    holes, depths = deepen_holes(old, probes)
    polished = [minimize_coherence_lbfgs(torch.cat([old, hole[None]]),
                                         old_num, p_start=32.0)[1]
                for hole in holes[depths.argsort()[:HOLES_POLISHED]]]
    row['hole'] = min([float((one[-1] @ old.t()).abs().max())] + polished)
    for name, start in (('generated', old), ('holes', fresh[:old_num])):
        wall, cpu = time.perf_counter(), time.process_time()
        extended = extend_ebvs(start.clone(), num, progress=False)
        row[name] = max_abs_cos(extended)
        row[name + '_seconds'] = time.perf_counter() - wall
        row[name + '_cpu'] = time.process_time() - cpu
        assert torch.equal(extended[:old_num], start)
    return row


#: Bounds the cases running at once (``--jobs``).
SLOTS = threading.Semaphore(1)


def run_cases(cases: list, threads: int) -> list:
    """``run_case`` for each tuple of sizes, concurrently up to ``--jobs``."""
    with ThreadPoolExecutor(max(1, len(cases))) as pool:
        return list(pool.map(lambda sizes: run_case(*sizes, threads=threads),
                             cases))


def run_case(*sizes: int, threads: int) -> dict:
    with SLOTS:
        return _run_case(*sizes, threads=threads)


def _run_case(*sizes: int, threads: int) -> dict:
    command = [sys.executable, os.path.abspath(__file__), '--worker',
               json.dumps([*sizes, threads])]
    result = subprocess.run(command, capture_output=True, text=True,
                            cwd=ROOT)
    if result.returncode != 0:
        raise RuntimeError(f'{sizes} failed:\n{result.stderr}')
    row = json.loads(result.stdout.strip().splitlines()[-1])
    print(sizes, row, flush=True)
    return row


def yes_no(ok: bool) -> str:
    return 'yes' if ok else '**no**'


def times(row: dict) -> list:
    return [f"{row['seconds']:.1f}", f"{row['cpu_seconds']:.1f}",
            f"{row['peak_mib']:.0f}"]


def authors_section(threads: int) -> list:
    lines = [
        '## N = 1000 against the authors\' EBV files', '',
        f'Target: at least {100 - AUTHORS_MARGIN * 100:.0f}% below the max '
        f'|cos| of the authors\' file, within {AUTHORS_SECONDS:.0f} s.', '',
        '| d | authors\' max\\|cos\\| | ours | ours / theirs | / bound '
        '| wall (s) | CPU (s) | peak (MiB) | met |',
        '|---|---|---|---|---|---|---|---|---|']
    rows = run_cases([(1000, dim) for dim in AUTHORS], threads)
    for (dim, theirs), row in zip(AUTHORS.items(), rows):
        mu = row['max_abs_cos']
        met = (mu <= AUTHORS_MARGIN * theirs and
               row['cpu_seconds'] <= AUTHORS_SECONDS)
        lines.append('| ' + ' | '.join([
            str(dim), f'{theirs:.3f}', f'{mu:.4f}', f'{mu / theirs:.3f}',
            f"{mu / row['bound']:.3f}", *times(row), yes_no(met)]) + ' |')
    return lines + ['']


def large_section(threads: int) -> list:
    lines = [
        '## Mid-size and large problems', '',
        '| N | d | target | max\\|cos\\| | / bound | lower bound | wall (s) '
        '| CPU (s) | peak (MiB) | met |',
        '|---|---|---|---|---|---|---|---|---|---|']
    rows = run_cases([case[:2] for case in LARGE], threads)
    for (num, dim, target, seconds), row in zip(LARGE, rows):
        mu = row['max_abs_cos']
        met = ((target is None or mu <= target) and
               row['cpu_seconds'] <= seconds)
        target_text = (f'<= {target:g}, ' if target else '') + \
            f'<= {seconds:.0f} s'
        lines.append('| ' + ' | '.join([
            str(num), str(dim), target_text, f'{mu:.4f}',
            f"{mu / row['bound']:.3f}", f"{row['bound']:.4f}", *times(row),
            yes_no(met)]) + ' |')
    return lines + ['']


def small_section(threads: int) -> list:
    lines = [
        '## Small d against the best known packings', '',
        f'Target: median ratio <= {SMALL_MEDIAN}, worst <= {SMALL_WORST}. '
        'Sources of the best known values are in `SMALL` of the benchmark '
        'script (CHS: Conway-Hardin-Sloane 1996, optimal; ETF: real '
        'equiangular tight frames, on the Welch bound; Sloane: his table of '
        'Grassmannian packings as kept by H. Cohn, '
        '`benchmarks/data/line_packings_best_known.csv`). This list is the '
        'regression set; every small case the table lists is in the '
        '[sweep](line_packings.md).', '',
        '| N | d | best known | source | ours | ours / best | wall (s) '
        '| CPU (s) |', '|---|---|---|---|---|---|---|---|']
    ratios = []
    rows = run_cases([case[:2] for case in SMALL], threads)
    for (num, dim, best, source), row in zip(SMALL, rows):
        ratio = row['max_abs_cos'] / best
        ratios.append(ratio)
        lines.append('| ' + ' | '.join([
            str(num), str(dim), f'{best:.4f}', source,
            f"{row['max_abs_cos']:.4f}", f'{ratio:.4f}',
            *times(row)[:2]]) + ' |')
    median, worst = statistics.median(ratios), max(ratios)
    lines += [
        '', f'Median ratio {median:.4f} (target <= {SMALL_MEDIAN}: '
        f'{yes_no(median <= SMALL_MEDIAN)}), worst {worst:.4f} (target <= '
        f'{SMALL_WORST}: {yes_no(worst <= SMALL_WORST)}).', '']
    return lines


def extend_section(threads: int) -> list:
    lines = [
        '## Extension (`extend_ebvs`, old rows bit-identical)', '',
        f'Target: within {EXTEND_MARGIN - 1:.0%} of a fresh set of the same '
        'size. `generated`: the old rows are a fresh N0-set; `holes`: they '
        'are the first N0 rows of the fresh N-set, so good places for the '
        'new rows exist. `deepest hole`: the smallest max |cos| to the old '
        'rows of one added unit vector found by `extend_ebvs(old, N0 + 1)` '
        f'and by moving {HOLE_PROBES} random unit vectors into holes '
        f'(`deepen_holes`, the {HOLES_POLISHED} deepest polished by '
        '`minimize_coherence_lbfgs`; a search, not a proof). Every new row '
        'sits in some hole of the old rows, so an extension of the generated '
        'set is at least as '
        'coherent as their deepest hole: where the one found is above 1.1 x '
        'fresh N, the target is out of reach with the old rows kept unless '
        'a deeper hole exists.', '',
        '| N0 -> N | d | fresh N0 | fresh N | deepest hole | / fresh '
        '| extended (generated) | / fresh '
        '| wall (s) | extended (holes) | / fresh | wall (s) |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|']
    rows = run_cases(EXTEND, threads)
    for (old_num, num, dim), row in zip(EXTEND, rows):
        cells = [f'{old_num} -> {num}', str(dim), f"{row['old']:.4f}",
                 f"{row['fresh']:.4f}", f"{row['hole']:.4f}",
                 f"{row['hole'] / row['fresh']:.3f}"]
        for name in ('generated', 'holes'):
            cells += [f'{row[name]:.4f}', f"{row[name] / row['fresh']:.3f}",
                      f"{row[name + '_seconds']:.1f}"]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines + ['']


def write_markdown(body: list, args, load_before: str, load_after: str,
                   total_seconds: float) -> None:
    lines = [
        '# EBV generation benchmark', '',
        f'Produced by `{" ".join(["python"] + sys.argv)}` '
        f'(re-run it to refresh this file). Every case is one default call '
        f'`generate_ebvs(N, d)` (method `auto`, no target, no time limit) '
        f'in its own process; max |cos| is measured afterwards over all '
        f'pairs by `coherence_report`.', '',
        f'- Machine: {machine()}; no GPU used.',
        f'- torch intra-op threads: {args.threads}; up to {args.jobs} cases '
        f'ran at once. Load average (1, 5, 15 min) before the run: '
        f'{load_before}, after: {load_after}; the CPU was shared with other '
        f'jobs, so wall times are pessimistic and CPU time (the process\'s '
        f'own) is the better measure of cost.',
        '- Time targets are judged on CPU time: with one thread per case '
        'it is what the case takes on one idle core.',
        f'- Sections run: {", ".join(args.sections)}; total '
        f'{total_seconds / 60:.1f} min.', '', *body]
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(OUT), suffix='.md')
    with os.fdopen(fd, 'w') as f:
        f.write('\n'.join(lines))
    os.replace(tmp, OUT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--sections', nargs='+', choices=SECTIONS,
                        default=list(SECTIONS))
    parser.add_argument('--threads', type=int, default=2,
                        help='torch intra-op threads')
    parser.add_argument('--jobs', type=int, default=1,
                        help='cases run at once (each in its own process)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sizes = json.loads(args.worker)
        work = worker if len(sizes) == 3 else extend_worker
        print(json.dumps(work(*sizes)))
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    load = lambda: ' '.join(f'{x:.1f}' for x in os.getloadavg())  # noqa
    load_before = load()
    begin = time.perf_counter()
    sections = dict(authors=authors_section, large=large_section,
                    small=small_section, extend=extend_section)
    global SLOTS
    SLOTS = threading.Semaphore(args.jobs)
    with ThreadPoolExecutor(len(args.sections)) as pool:
        parts = list(pool.map(lambda name: sections[name](args.threads),
                              args.sections))
    body = [line for part in parts for line in part]
    write_markdown(body, args, load_before, load(),
                   time.perf_counter() - begin)
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
