"""EBV head vs LinearClsHead: trainable parameters, train-step time, memory.

    python benchmarks/head_speed.py [--out docs/benchmarks/head_speed.md]

For N = 1000 (d = 1000) and N = 100,000 (d = 5000), on CPU:

* full train step: ResNet-50 + global pooling + head, forward + backward +
  SGD (momentum 0.9) step on a batch of ``--batch`` 224x224 images;
* head-only step: the head alone on ``--head-batch`` 2048-d pooled features.

Each measurement builds both models in this process, runs a few warm-up
steps, then ``--repeats`` steps alternating EBV and FC (so that machine noise
hits both alike) and reports the medians and the median of the ratios of
adjacent EBV and FC steps. Peak memory at N = 100,000 comes from a separate
worker process per model (Linux peak RSS, during train steps and while
building). EBVs are random unit
vectors from a temporary file: the cost does not depend on their values, and
generating 100,000 x 5,000 well-spread EBVs takes far longer than this run.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FEAT_DIM = 2048


def ebv_file(directory: str, num_classes: int, dim: int) -> str:
    """Random unit EBVs written once to ``directory``."""
    from mmebv.core import save_ebvs
    path = os.path.join(directory, f'ebv_{num_classes}x{dim}.safetensors')
    if not os.path.exists(path):
        gen = torch.Generator().manual_seed(0)
        ebvs = torch.randn(num_classes, dim, generator=gen)
        save_ebvs(path, torch.nn.functional.normalize(ebvs, dim=1))
    return path


def build_head_cfg(kind: str, num_classes: int, dim: int,
                   directory: str) -> dict:
    if kind == 'fc':
        return dict(type='LinearClsHead', num_classes=num_classes,
                    in_channels=FEAT_DIM)
    return dict(type='EBVClsHead', num_classes=num_classes,
                in_channels=FEAT_DIM, ebv_dim=dim,
                ebv_file=ebv_file(directory, num_classes, dim))


class Stepper:
    """One model (full classifier or head only) and its SGD train step."""

    def __init__(self, kind: str, part: str, num_classes: int, dim: int,
                 batch: int, directory: str) -> None:
        import mmebv.cls  # noqa: F401
        from mmpretrain.registry import MODELS
        from mmpretrain.structures import DataSample
        head = build_head_cfg(kind, num_classes, dim, directory)
        if part == 'full':
            self.model = MODELS.build(
                dict(type='mmpretrain.ImageClassifier',
                     backbone=dict(type='mmpretrain.ResNet', depth=50),
                     neck=dict(type='mmpretrain.GlobalAveragePooling'),
                     head=dict(head, type='mmpretrain.' + head['type'])))
            self.inputs = torch.randn(batch, 3, 224, 224)
        else:
            self.model = MODELS.build(
                dict(head, type='mmpretrain.' + head['type']))
            self.inputs = (torch.randn(batch, FEAT_DIM), )
        self.model.init_weights()
        self.model.train()
        self.part = part
        gen = torch.Generator().manual_seed(1)
        labels = torch.randint(0, num_classes, (batch, ), generator=gen)
        self.samples = [DataSample().set_gt_label(int(i)) for i in labels]
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.SGD(
            self.params, lr=1e-3, momentum=0.9, weight_decay=2e-5)

    def head_params(self) -> int:
        head = self.model.head if self.part == 'full' else self.model
        return sum(p.numel() for p in head.parameters() if p.requires_grad)

    def total_params(self) -> int:
        return sum(p.numel() for p in self.params)

    def step(self) -> float:
        start = time.perf_counter()
        if self.part == 'full':
            loss = self.model(self.inputs, self.samples, mode='loss')['loss']
        else:
            loss = self.model.loss(self.inputs, self.samples)['loss']
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return time.perf_counter() - start


def rss_mib() -> float:
    """Current resident set size of this process (Linux), in MiB."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def reset_peak_rss() -> None:
    """Restart the kernel's peak-RSS record (VmHWM) of this process."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


def peak_rss_mib() -> float:
    """Peak resident set size (VmHWM) since the last reset, in MiB."""
    with open('/proc/self/status') as f:
        line = next(x for x in f if x.startswith('VmHWM:'))
    return int(line.split()[1]) / 1024


def worker(args: argparse.Namespace) -> None:
    """Measure one (kind, part) model; print a JSON line."""
    import mmebv.cls  # noqa: F401  (baseline: libraries loaded, no model)
    from mmpretrain.models import ImageClassifier  # noqa: F401
    baseline = rss_mib()
    stepper = Stepper(args.kind, args.part, args.num_classes, args.dim,
                      args.batch_size, args.tmp)
    build_peak = peak_rss_mib()
    reset_peak_rss()
    for _ in range(args.warmup):
        stepper.step()
    times = [stepper.step() for _ in range(args.repeats)]
    print(json.dumps(dict(times=times, peak_mib=peak_rss_mib() - baseline,
                          build_peak_mib=build_peak - baseline,
                          head_params=stepper.head_params(),
                          total_params=stepper.total_params())))


def run_worker(kind: str, part: str, num_classes: int, dim: int, batch: int,
               args: argparse.Namespace, repeats: int) -> Dict:
    cmd = [sys.executable, os.path.abspath(__file__), '--worker', kind,
           '--part', part, '--num-classes', str(num_classes), '--dim',
           str(dim), '--batch-size', str(batch), '--tmp', args.tmp,
           '--warmup', str(args.warmup), '--repeats', str(repeats)]
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def in_process(num_classes: int, dim: int, part: str, batch: int,
               args: argparse.Namespace) -> Dict[str, Dict]:
    """Both models in this process, steps alternating EBV, FC, EBV..."""
    steppers = {kind: Stepper(kind, part, num_classes, dim, batch, args.tmp)
                for kind in ('ebv', 'fc')}
    times: Dict[str, List[float]] = {'ebv': [], 'fc': []}
    for i in range(args.warmup + args.repeats):
        for kind in ('ebv', 'fc') if i % 2 == 0 else ('fc', 'ebv'):
            elapsed = steppers[kind].step()
            if i >= args.warmup:
                times[kind].append(elapsed)
    return {kind: dict(times=times[kind], peak_mib=None, build_peak_mib=None,
                       head_params=s.head_params(),
                       total_params=s.total_params())
            for kind, s in steppers.items()}


def in_workers(num_classes: int, dim: int, part: str, batch: int,
               args: argparse.Namespace) -> Dict[str, Dict]:
    """Each model in its own worker process (for its peak memory)."""
    rounds = args.worker_rounds
    per_round = args.memory_steps
    results: Dict[str, Dict] = {}
    for i in range(rounds):
        for kind in ('ebv', 'fc') if i % 2 == 0 else ('fc', 'ebv'):
            got = run_worker(kind, part, num_classes, dim, batch, args,
                             per_round)
            if kind in results:
                results[kind]['times'] += got['times']
                for key in ('peak_mib', 'build_peak_mib'):
                    results[kind][key] = max(results[kind][key], got[key])
            else:
                results[kind] = got
    return results


def time_ratio(row: dict) -> str:
    """EBV/FC step time: the median of the ratios of adjacent steps."""
    ebv, fc = row['ebv']['times'], row['fc']['times']
    return f"{statistics.median(e / f for e, f in zip(ebv, fc)):.3f}"


def fmt_params(count: int) -> str:
    return f'{count / 1e6:.2f}M'


def fmt_ms(times: List[float]) -> str:
    return f'{1000 * statistics.median(times):.1f}'


def report(rows: List[dict], args: argparse.Namespace, seconds: float) -> str:
    lines = [
        '# EBV head vs FC head (LinearClsHead): parameters, step time, memory',
        '',
        'Written by `benchmarks/head_speed.py`; reproduce with:',
        '',
        '```',
        'python benchmarks/head_speed.py ' + ' '.join(args.argv),
        '```',
        '',
        f'Machine: {platform.processor() or platform.machine()}, '
        f'{torch.get_num_threads()} torch threads, CPU only; torch '
        f'{torch.__version__}, Python {platform.python_version()}; run took '
        f'{seconds:.0f} s on {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}.',
        '',
        f'Full step = ResNet-50 + global pooling + head, forward + backward + '
        f'SGD (momentum 0.9) step, batch {args.batch} x 3 x 224 x 224. Head '
        f'step = the head alone on {args.head_batch} pooled 2048-d features. '
        f'Times: median of {args.repeats} steps after {args.warmup} warm-up '
        f'steps; both models live in one process and their steps alternate, '
        f'so that machine noise hits both alike; EBV/FC time is the median '
        f'of the ratios of adjacent EBV and FC steps. Trainable parameters '
        f'exclude the EBVs (a fixed buffer).',
        '',
        '| N | d (EBV) | part | trainable params EBV | trainable params FC '
        '| EBV ms/step | FC ms/step | EBV/FC time | EBV peak MiB (train / '
        'build) | FC peak MiB (train / build) |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        ebv, fc = row['ebv'], row['fc']
        ratio = time_ratio(row)
        peaks = [f"{r['peak_mib']:.0f} / {r['build_peak_mib']:.0f}"
                 if r['peak_mib'] is not None else 'n/a' for r in (ebv, fc)]
        lines.append(
            f"| {row['n']:,} | {row['d']} | {row['part']} | "
            f"{fmt_params(ebv['head_params'])} head / "
            f"{fmt_params(ebv['total_params'])} total | "
            f"{fmt_params(fc['head_params'])} head / "
            f"{fmt_params(fc['total_params'])} total | {fmt_ms(ebv['times'])}"
            f" | {fmt_ms(fc['times'])} | {ratio} | {peaks[0]} | "
            f"{peaks[1]} |")
    lines += ['', 'Targets: EBV/FC full-step time <= 1.05 at N = 1000; EBV '
              'trainable classifier parameters <= 1/20 of FC at N = 100,000.',
              '']
    for row in rows:
        ebv, fc = row['ebv'], row['fc']
        if row['part'] == 'full' and row['n'] == 1000:
            ratio = time_ratio(row)
            lines.append(
                f'- N = 1000 full-step time ratio EBV/FC: {ratio} (median of '
                f'the ratios of adjacent EBV and FC steps; '
                f"{'met' if float(ratio) <= 1.05 else 'NOT met'}).")
        if row['part'] == 'head' and row['n'] == 100000:
            share = ebv['head_params'] / fc['head_params']
            lines.append(f'- N = 100,000 classifier parameters: EBV/FC = '
                         f'{share:.4f} = 1/{1 / share:.1f} '
                         f"({'met' if share <= 1 / 20 else 'NOT met'}).")
    lines.append('- Work per step: the EBV head adds a normalisation and an N x '
                 'd product against the fixed EBVs (forward and backward to '
                 'the embedding); the FC head trains N x 2048 weights and '
                 'updates them and their momentum every step. Head-only '
                 'times isolate that difference; the full step shows its '
                 'share of a ResNet-50 train step.')
    lines.append('- Peak memory at N = 100,000: a worker process runs only '
                 'that model; "train" is its peak RSS during the timed train '
                 'steps (model resident, activations, gradients, momentum), '
                 '"build" its peak while building the model (for EBV this '
                 'includes reading and checking the EBV file); both minus its '
                 'RSS after importing the libraries. The EBV figures include the '
                 '100,000 x 5,000 float32 EBV buffer (1.9 GiB).')
    return '\n'.join(lines) + '\n'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='docs/benchmarks/head_speed.md')
    parser.add_argument('--batch', type=int, default=8,
                        help='images per full train step')
    parser.add_argument('--head-batch', type=int, default=256,
                        help='features per head-only step')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--worker-rounds', type=int, default=1,
                        help='memory worker processes per model at N = 100,000')
    parser.add_argument('--memory-steps', type=int, default=2,
                        help='train steps of each memory worker')
    parser.add_argument('--skip-large', action='store_true',
                        help='only N = 1000 (quick check)')
    # Internal: one worker measurement.
    parser.add_argument('--worker', choices=['ebv', 'fc'], help=argparse.SUPPRESS)
    parser.add_argument('--part', choices=['full', 'head'], help=argparse.SUPPRESS)
    parser.add_argument('--num-classes', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--dim', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--batch-size', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--tmp', help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    return args


def main() -> None:
    args = parse_args()
    if args.worker:
        args.kind = args.worker
        worker(args)
        return
    start = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        args.tmp = tmp
        for part, batch in (('full', args.batch), ('head', args.head_batch)):
            print(f'N = 1000, {part} step...', flush=True)
            rows.append(dict(n=1000, d=1000, part=part,
                             **in_process(1000, 1000, part, batch, args)))
        if not args.skip_large:
            for part, batch in (('full', args.batch),
                                ('head', args.head_batch)):
                print(f'N = 100,000, {part} step...', flush=True)
                row = dict(n=100000, d=5000, part=part,
                           **in_process(100000, 5000, part, batch, args))
                print(f'N = 100,000, {part} step memory (workers)...',
                      flush=True)
                for kind, got in in_workers(100000, 5000, part, batch,
                                            args).items():
                    row[kind]['peak_mib'] = got['peak_mib']
                    row[kind]['build_peak_mib'] = got['build_peak_mib']
                rows.append(row)
    text = report(rows, args, time.time() - start)
    out = os.path.join(REPO, args.out) if not os.path.isabs(
        args.out) else args.out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    fd, tmp_out = tempfile.mkstemp(dir=os.path.dirname(out), suffix='.tmp')
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.replace(tmp_out, out)
    print(text)


if __name__ == '__main__':
    main()
