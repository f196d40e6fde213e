"""FC head vs dense EBV head vs structured (Kerdock) EBV head on CPU.

    python benchmarks/head_speed.py [--out docs/en/benchmarks/head_speed.md]

Variants: ``LinearClsHead`` (FC), ``EBVClsHead`` with dense EBVs (an N x d
buffer; ``method='auto'``, which at these sizes returns the zero-padded
Kerdock set) and ``EBVClsHead(method='kerdock')`` (sign patterns, fast
Walsh-Hadamard logits). Two parts:

* full step (``--full``): ResNet-50 + global pooling + head, forward +
  backward + SGD (momentum 0.9) step on ``--batch`` 224x224 images, at
  N = 1000 and 100,000;
* head step: the head alone on ``--head-batch`` 2048-d pooled features, at
  N = 1000, 10,000, 100,000 and 1,000,000 (only the structured head fits in
  memory at 1,000,000: FC needs 3 x 7.6 GiB, dense d = 4096 EBVs 15.3 GiB).

All variants of a row live in one process and their steps alternate (the
order rotates every round), so machine noise hits all alike; ratios to FC
are medians of the ratios of same-round steps. Peak memory comes from a
separate worker process per variant (Linux peak RSS while training and while
building). At N = 100,000 the structured logits and input gradients are
compared with the dense d = 4096 head holding the same vectors.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, 'projects', 'digits')]

from digits_lab.reporting import machine, utc  # noqa: E402

FEAT_DIM = 2048
#: (label, kind, d) of each variant; kind is fc, ebv (dense) or kerdock.
Variant = Tuple[str, str, int]
FC: Variant = ('FC', 'fc', 0)


def dense(dim: int) -> Variant:
    return (f'EBV dense d={dim}', 'ebv', dim)


def kerdock(dim: int) -> Variant:
    return (f'EBV Kerdock d={dim}', 'kerdock', dim)


#: (part, N, variants) of each row of the report.
ROWS: List[Tuple[str, int, List[Variant]]] = [
    ('full', 1000, [FC, dense(1000)]),
    ('full', 100_000, [FC, dense(5000), kerdock(4096)]),
    ('head', 1000, [FC, dense(1000)]),
    ('head', 10_000, [FC, dense(5000), dense(4096), kerdock(4096)]),
    ('head', 100_000, [FC, dense(5000), dense(4096), kerdock(4096)]),
    ('head', 1_000_000, [kerdock(4096)]),
]


def head_cfg(kind: str, num_classes: int, dim: int) -> dict:
    if kind == 'fc':
        return dict(type='mmpretrain.LinearClsHead', num_classes=num_classes,
                    in_channels=FEAT_DIM)
    return dict(type='mmpretrain.EBVClsHead', num_classes=num_classes,
                in_channels=FEAT_DIM, ebv_dim=dim,
                method='kerdock' if kind == 'kerdock' else 'auto')


class Stepper:
    """One model (full classifier or head only) and its SGD train step."""

    def __init__(self, kind: str, part: str, num_classes: int, dim: int,
                 batch: int) -> None:
        import mmebv.cls  # noqa: F401
        from mmpretrain.registry import MODELS
        from mmpretrain.structures import DataSample
        head = head_cfg(kind, num_classes, dim)
        if part == 'full':
            self.model = MODELS.build(
                dict(type='mmpretrain.ImageClassifier',
                     backbone=dict(type='mmpretrain.ResNet', depth=50),
                     neck=dict(type='mmpretrain.GlobalAveragePooling'),
                     head=head))
            self.inputs = torch.randn(batch, 3, 224, 224)
            self.head = self.model.head
        else:
            self.model = self.head = MODELS.build(head)
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

    def sizes(self) -> Dict[str, float]:
        """Trainable head parameters, head state-dict and EBV-state MiB."""
        state = self.head.state_dict()
        mib = sum(t.numel() * t.element_size() for t in state.values()) / 2**20
        ebv = sum(t.numel() * t.element_size() for k, t in state.items()
                  if k.startswith('ebv.')) / 2**20
        return dict(head_params=sum(p.numel() for p in self.head.parameters()
                                    if p.requires_grad),
                    state_mib=mib, ebv_state_mib=ebv)

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
    """Peak memory of one variant alone; print a JSON line."""
    import mmebv.cls  # noqa: F401  (baseline: libraries loaded, no model)
    from mmpretrain.models import ImageClassifier  # noqa: F401
    baseline = rss_mib()
    stepper = Stepper(args.worker, args.part, args.num_classes, args.dim,
                      args.batch_size)
    build_peak = peak_rss_mib()
    reset_peak_rss()
    for _ in range(args.memory_steps):
        stepper.step()
    print(json.dumps(dict(peak_mib=peak_rss_mib() - baseline,
                          build_peak_mib=build_peak - baseline)))


def run_worker(variant: Variant, part: str, num_classes: int, batch: int,
               args: argparse.Namespace) -> Dict:
    _, kind, dim = variant
    cmd = [sys.executable, os.path.abspath(__file__), '--worker', kind,
           '--part', part, '--num-classes', str(num_classes), '--dim',
           str(dim), '--batch-size', str(batch), '--memory-steps',
           str(args.memory_steps)]
    env = dict(os.environ, PYTHONPATH=REPO)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def relative_error(got: torch.Tensor, want: torch.Tensor) -> float:
    return float((got.double() - want.double()).abs().max() /
                 want.double().abs().max())


def compare_with_dense(fast: Stepper, slow: Stepper,
                       batch: int) -> Dict[str, float]:
    """Logits and input gradients of the structured vs the dense head."""
    slow.head.projection.load_state_dict(fast.head.projection.state_dict())
    gen = torch.Generator().manual_seed(2)
    feats = torch.randn(batch, FEAT_DIM, generator=gen)
    outputs = []
    for stepper in (fast, slow):
        x = feats.clone().requires_grad_()
        logits = stepper.head((x, ))
        weights = torch.randn(logits.shape, generator=gen.manual_seed(3))
        (logits * weights).sum().backward()
        outputs.append((logits.detach(), x.grad))
    (fast_logits, fast_grad), (dense_logits, dense_grad) = outputs
    return dict(logits=relative_error(fast_logits, dense_logits),
                grad=relative_error(fast_grad, dense_grad))


def measure_row(part: str, num_classes: int, variants: List[Variant],
                batch: int, args: argparse.Namespace) -> Dict:
    """Time the variants side by side, then their peak memory alone."""
    steppers = {}
    for label, kind, dim in variants:
        print(f'  building {label}...', flush=True)
        steppers[label] = Stepper(kind, part, num_classes, dim, batch)
    labels = list(steppers)
    times: Dict[str, List[float]] = {label: [] for label in labels}
    for i in range(args.warmup + args.repeats):
        shift = i % len(labels)
        for label in labels[shift:] + labels[:shift]:
            elapsed = steppers[label].step()
            if i >= args.warmup:
                times[label].append(elapsed)
    row = dict(part=part, n=num_classes, batch=batch, variants={})
    for label in labels:
        row['variants'][label] = dict(times=times[label],
                                      **steppers[label].sizes())
    fast, slow = kerdock(4096)[0], dense(4096)[0]
    if part == 'head' and fast in steppers and slow in steppers:
        row['equality'] = compare_with_dense(steppers[fast], steppers[slow],
                                             batch)
    del steppers
    if not args.skip_memory:
        for variant in variants:
            print(f'  peak memory of {variant[0]} (worker)...', flush=True)
            row['variants'][variant[0]].update(
                run_worker(variant, part, num_classes, batch, args))
    return row


def fmt_ms(times: List[float]) -> str:
    return f'{1000 * statistics.median(times):.1f}'


def ratio_to_fc(row: Dict, label: str) -> Optional[float]:
    fc = row['variants'].get(FC[0])
    if fc is None:
        return None
    mine = row['variants'][label]['times']
    return statistics.median(m / f for m, f in zip(mine, fc['times']))


def fmt_mib(value: float) -> str:
    return f'{value:.3f}' if value < 1 else f'{value:.0f}'


def report(rows: List[Dict], args: argparse.Namespace, seconds: float,
           load: Tuple[float, float]) -> str:
    lines = [
        '# FC head vs dense EBV head vs structured (Kerdock) EBV head',
        '',
        'Written by `benchmarks/head_speed.py`; reproduce with:',
        '',
        '```',
        'python benchmarks/head_speed.py ' + ' '.join(args.argv),
        '```',
        '',
        f'Machine: {machine()}; {torch.get_num_threads()} torch threads, CPU '
        f'only; run took {seconds:.0f} s, finished '
        f'{utc(time.time())} UTC; 1-minute '
        f'load average {load[0]:.1f} at the start and {load[1]:.1f} at the '
        f'end (other jobs shared the machine).',
        '',
        (f'Full step = ResNet-50 + global pooling + head, forward + backward '
         f'+ SGD (momentum 0.9) step on {args.batch} x 3 x 224 x 224 images. '
         if args.full else '') +
        f'Head step = the head alone on {args.head_batch} pooled 2048-d '
        f'features, the same train step. Times: median of {args.repeats} '
        f'steps after {args.warmup} warm-up steps, all variants of a row in '
        f'one process, steps alternating (order rotating each round); '
        f'"/ FC" is the median of the ratios of same-round steps. Peak MiB: '
        f'a worker process per variant, peak RSS during '
        f'{args.memory_steps} train steps / while building the model, both '
        f'minus its RSS after importing the libraries. State MiB: the '
        f'head\'s state dict (what a checkpoint stores), of which the EBV '
        f'part (the dense buffer is not checkpointed above 2^25 elements: '
        f'only its fingerprint is; it is still resident). Dense EBVs come '
        f'from `method=\'auto\'`, which at these sizes is the zero-padded '
        f'Kerdock set (cost does not depend on the values).',
        '',
        '| part | N | head | trainable head params | ms/step | / FC | '
        'peak MiB train / build | state MiB (EBV part) |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for row in rows:
        for label, got in row['variants'].items():
            ratio = ratio_to_fc(row, label)
            peak = (f"{got['peak_mib']:.0f} / {got['build_peak_mib']:.0f}"
                    if 'peak_mib' in got else 'n/a')
            ebv_part = ('' if label == FC[0] else
                        f" ({fmt_mib(got['ebv_state_mib'])})")
            lines.append(
                f"| {row['part']} | {row['n']:,} | {label} | "
                f"{got['head_params'] / 1e6:.2f}M | {fmt_ms(got['times'])} | "
                f"{'-' if ratio is None else f'{ratio:.3f}'} | {peak} | "
                f"{fmt_mib(got['state_mib'])}{ebv_part} |")
    lines += ['', '## Targets', '']
    for row in rows:
        if row['part'] != 'head' or row['n'] != 100_000:
            continue
        label = kerdock(4096)[0]
        ratio = ratio_to_fc(row, label)
        ebv_bytes = row['variants'][label]['ebv_state_mib'] * 2**20
        lines.append(
            f'- N = 100,000 head step, structured / FC: {ratio:.3f} (target '
            f"<= 1/3: {'met' if ratio <= 1 / 3 else 'NOT met'}).")
        lines.append(
            f'- N = 100,000 structured EBV state: {ebv_bytes:,.0f} bytes '
            f"(target < 1 MB: {'met' if ebv_bytes < 1e6 else 'NOT met'}).")
        if 'equality' in row:
            eq = row['equality']
            ok = max(eq['logits'], eq['grad']) <= 1e-4
            lines.append(
                f"- Structured vs dense d = 4096 (same vectors), batch "
                f"{row['batch']}: max relative error {eq['logits']:.2e} on "
                f"the logits, {eq['grad']:.2e} on the input gradients "
                f"(relative to the largest entry; target 1e-4: "
                f"{'met' if ok else 'NOT met'}).")
    return '\n'.join(lines) + '\n'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='docs/en/benchmarks/head_speed.md')
    parser.add_argument('--batch', type=int, default=8,
                        help='images per full train step')
    parser.add_argument('--head-batch', type=int, default=256,
                        help='features per head-only step')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=6)
    parser.add_argument('--memory-steps', type=int, default=2,
                        help='train steps of each memory worker')
    parser.add_argument('--skip-memory', action='store_true',
                        help='no peak-memory workers')
    parser.add_argument('--max-classes', type=int, default=1_000_000,
                        help='skip rows with more classes (quick checks)')
    parser.add_argument('--full', action='store_true',
                        help='also the full ResNet-50 step rows')
    # Internal: one memory worker.
    parser.add_argument('--worker', choices=['fc', 'ebv', 'kerdock'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--part', choices=['full', 'head'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--num-classes', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--dim', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--batch-size', type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    return args


def main() -> None:
    from mmebv.fileio import atomic_file
    args = parse_args()
    if args.worker:
        worker(args)
        return
    start, load_start = time.time(), os.getloadavg()[0]
    rows = []
    for part, num_classes, variants in ROWS:
        if num_classes > args.max_classes or (part == 'full'
                                               and not args.full):
            continue
        batch = args.batch if part == 'full' else args.head_batch
        print(f'{part} step, N = {num_classes:,}...', flush=True)
        rows.append(measure_row(part, num_classes, variants, batch, args))
    text = report(rows, args, time.time() - start,
                  (load_start, os.getloadavg()[0]))
    out = args.out if os.path.isabs(args.out) else os.path.join(REPO,
                                                                args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with atomic_file(out) as tmp, open(tmp, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
