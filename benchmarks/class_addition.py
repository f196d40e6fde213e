"""Adding classes to a trained model: does EBV forget less than FC?

    python benchmarks/class_addition.py [--seeds 3] [--tasks cls seg]
        [--work-dir work_dirs/class_addition] [--quick]
        [--report docs/en/benchmarks/class_addition.md]

Class-incremental learning in miniature on real handwritten digits (the
5,000 MNIST digits of :mod:`digits_lab.digits`), for classification
(mmpretrain ``ImageClassifier``, 1/8-width CIFAR ResNet-18) and semantic
segmentation (mmseg ``EncoderDecoder``, quarter-width dilated ResNet-18 + FCN
head, on
scenes of digits from :mod:`digits_lab.digit_scenes`):

1. train on digits 0-4 only (segmentation: background + 0-4);
2. add digits 5-9 with ``tools/add_classes.py``'s surgery
   (:func:`mmebv.engine.add_classes.add_classes`; EBV heads: 5 new EBVs,
   FC heads: 5 new rows initialised as upstream) and check that the grown
   model's old logits are the old model's;
3. fine-tune on the new classes' data only, and separately on it plus a
   replay set of old-class examples (``--replay``, default 5% of the old
   training set);
4. evaluate on held-out digits of all ten classes: old-class and new-class
   accuracy (segmentation: mean IoU over the digit classes of each group).

EBV heads use d = 16 (N = 5 -> 10 classes, 6 -> 11 segmentation classes: the
new EBVs are orthogonal to the old ones). Both heads get the same backbone,
data, optimiser (classification: SGD with momentum 0.9; segmentation: AdamW,
with which the FCN learns the digit strokes from scratch in a few hundred
steps; cosine lr, gradient clipping) and steps. Each cell's result is saved
under the work dir with its schedule; a rerun reuses cells of the same
schedule and refuses a work dir made with another.
``--quick`` runs every cell at a tiny schedule (for the tests).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, 'projects', 'digits')]

import mmebv  # noqa: E402,F401
from digits_lab.reporting import machine, mean_and_std, mean_std  # noqa
from mmebv.analysis.io import atomic_write_json, atomic_write_text  # noqa
from mmebv.engine.add_classes import (add_classes, build_model,  # noqa
                                      load_state)

HEADS = ('ebv', 'fc')
MODES = ('new-only', 'replay')
OLD, NEW = tuple(range(5)), tuple(range(5, 10))
EBV_DIM = 16
#: Schedules: steps of the first training and of each fine-tuning, batch
#: size, images per class, optimiser and learning rate.
SCHEDULES = {
    'cls': dict(full=dict(steps=80, finetune=30, batch=32, per_class=150,
                          test_per_class=50, optimizer='SGD', lr=0.02),
                quick=dict(steps=3, finetune=2, batch=8, per_class=8,
                           test_per_class=4, optimizer='SGD', lr=0.02)),
    'seg': dict(full=dict(steps=1500, finetune=300, batch=8, per_class=100,
                          test_per_class=15, optimizer='AdamW', lr=4e-3),
                quick=dict(steps=2, finetune=2, batch=2, per_class=4,
                           test_per_class=2, optimizer='AdamW', lr=4e-3)),
}
SCENE = dict(image_size=64, num_digits=(1, 2), digit_size=(28, 44))

CLS_CONFIG = """
default_scope = 'mmpretrain'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=5,
                           mean=[33.3] * 3, std=[78.6] * 3),
    backbone=dict(type='ResNet_CIFAR', depth=18, base_channels=8,
                  stem_channels=8),
    neck=dict(type='GlobalAveragePooling'),
    head=dict({head}, num_classes=5, in_channels=64))
"""
SEG_CONFIG = """
default_scope = 'mmseg'
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[60.] * 3,
                           std=[60.] * 3, size=(64, 64), pad_val=0,
                           seg_pad_val=255),
    backbone=dict(type='ResNetV1c', depth=18, base_channels=16,
                  stem_channels=16, out_indices=(3, ), dilations=(1, 1, 2, 4),
                  strides=(1, 1, 1, 1), norm_cfg=norm_cfg,
                  contract_dilation=True),
    decode_head=dict({head}, in_channels=128, in_index=0, channels=64,
                     num_convs=1, concat_input=False, dropout_ratio=0.1,
                     num_classes=6, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss',
                                      use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(), test_cfg=dict(mode='whole'))
"""
HEAD_TYPES = {
    ('cls', 'ebv'): f"type='EBVClsHead', ebv_dim={EBV_DIM}",
    ('cls', 'fc'): "type='LinearClsHead'",
    ('seg', 'ebv'): f"type='EBVFCNHead', ebv_dim={EBV_DIM}",
    ('seg', 'fc'): "type='FCNHead'",
}


# Data ---------------------------------------------------------------------


def digit_data(schedule: dict, seed: int) -> Dict[str, Dict[int, np.ndarray]]:
    """Balanced train / test digits per class (disjoint)."""
    from digits_lab.digits import split_digits
    split = split_digits(imbalance_ratio=1,
                         test_per_class=schedule['test_per_class'],
                         seed=seed)
    return dict(train={k: v[:schedule['per_class']]
                       for k, v in split['train'].items()},
                test=split['test'])


def classification_set(digits: Dict[int, np.ndarray], classes) -> Tuple:
    """(images (n, 3, 28, 28) float, labels (n,)) of ``classes``."""
    images = np.concatenate([digits[c] for c in classes])
    labels = np.concatenate([[c] * len(digits[c]) for c in classes])
    images = torch.from_numpy(images).float()[:, None].expand(-1, 3, -1, -1)
    return images.contiguous(), torch.from_numpy(labels).long()


def scene_set(digits: Dict[int, np.ndarray], classes, count: int,
              seed: int) -> Tuple:
    """``count`` scenes of digits of ``classes``: (images (n, 3, 64, 64),
    label maps (n, 64, 64) with background 0 and digit k as k + 1)."""
    from digits_lab.digit_scenes import compose_scene
    pool = {i: digits[c] for i, c in enumerate(classes)}
    rng = np.random.default_rng(seed)
    images, maps = [], []
    for _ in range(count):
        image, labels, masks = compose_scene(pool, rng, **SCENE)
        label_map = np.zeros(image.shape[:2], np.int64)
        for label, mask in zip(labels, masks):
            label_map[mask] = classes[label] + 1
        images.append(torch.from_numpy(image).permute(2, 0, 1).float())
        maps.append(torch.from_numpy(label_map))
    return torch.stack(images), torch.stack(maps)


def make_sets(task: str, schedule: dict, seed: int, replay: float) -> dict:
    digits = digit_data(schedule, seed)
    if task == 'cls':
        old = classification_set(digits['train'], OLD)
        new = classification_set(digits['train'], NEW)
        test = classification_set(digits['test'], OLD + NEW)
    else:
        per_class = schedule['per_class']
        old = scene_set(digits['train'], OLD, 5 * per_class, seed)
        new = scene_set(digits['train'], NEW, 5 * per_class, seed + 1)
        test = scene_set(digits['test'], OLD + NEW,
                         10 * schedule['test_per_class'], seed + 2)
    rng = np.random.default_rng(seed)
    kept = rng.choice(len(old[0]), max(1, round(replay * len(old[0]))),
                      replace=False)
    replayed = tuple(t[torch.from_numpy(kept)] for t in old)
    return dict(old=old, new=new, test=test,
                replay=tuple(torch.cat([n, r]) for n, r in zip(new,
                                                               replayed)))


# Training and evaluation ---------------------------------------------------


def batch(task: str, images, labels) -> dict:
    if task == 'cls':
        from mmpretrain.structures import DataSample
        samples = [DataSample().set_gt_label(int(y)) for y in labels]
        return dict(inputs=images, data_samples=samples)
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for y in labels:
        sample = SegDataSample(gt_sem_seg=PixelData(data=y[None]))
        sample.set_metainfo(dict(img_shape=tuple(y.shape),
                                 ori_shape=tuple(y.shape)))
        samples.append(sample)
    return dict(inputs=list(images), data_samples=samples)


def fit(task: str, model, data: Tuple, steps: int, batch_size: int,
        optimizer: str, lr: float, seed: int) -> List[float]:
    """``optimizer`` (SGD: momentum 0.9, wd 1e-4; AdamW: wd 0.01), cosine
    lr, clip 10, through the model's own ``train_step``; returns the
    losses."""
    from mmengine.optim import OptimWrapper
    if optimizer == 'SGD':
        optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                                    weight_decay=1e-4)
    else:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr,
                                      weight_decay=0.01)
    wrapper = OptimWrapper(optimizer, clip_grad=dict(max_norm=10))
    rng = np.random.default_rng(seed)
    model.train()
    losses = []
    for step in range(steps):
        for group in optimizer.param_groups:
            group['lr'] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        index = torch.from_numpy(rng.choice(len(data[0]), batch_size,
                                            replace=False))
        logs = model.train_step(batch(task, data[0][index], data[1][index]),
                                wrapper)
        losses.append(float(sum(v.detach() for k, v in logs.items()
                                if k.startswith('loss'))))
    model.eval()
    return losses


@torch.no_grad()
def logits(task: str, model, images) -> torch.Tensor:
    """Class scores: (n, N) for images, (n, N, H, W) per pixel."""
    model.eval()
    out = []
    for chunk in images.split(64):
        data = model.data_preprocessor(batch(task, chunk, torch.zeros(
            (len(chunk), ) + ((64, 64) if task == 'seg' else ()),
            dtype=torch.long)), False)
        scores = model(data['inputs'], mode='tensor')
        if task == 'seg':
            scores = F.interpolate(scores, size=chunk.shape[-2:],
                                   mode='bilinear', align_corners=False)
        out.append(scores)
    return torch.cat(out)


def evaluate(task: str, model, test: Tuple) -> dict:
    """Old- and new-class accuracy (cls) or mean IoU over the digit classes
    of each group (seg), in %."""
    predicted = logits(task, model, test[0]).argmax(1)
    truth = test[1]
    if task == 'cls':
        def accuracy(classes):
            mask = torch.isin(truth, torch.tensor(classes))
            return 100 * float((predicted[mask] == truth[mask]).float().mean())
        return dict(old=accuracy(OLD), new=accuracy(NEW))

    def mean_iou(classes):
        ious = []
        for c in classes:
            p, t = predicted == c + 1, truth == c + 1
            union = int((p | t).sum())
            if union:
                ious.append(int((p & t).sum()) / union)
        return 100 * statistics.mean(ious) if ious else 0.0
    return dict(old=mean_iou(OLD), new=mean_iou(NEW))


# One cell: task x head x seed ---------------------------------------------


def run_cell(task: str, head: str, seed: int, schedule: dict, replay: float,
             folder: str) -> dict:
    from mmengine.config import Config
    os.makedirs(folder, exist_ok=True)
    config = os.path.join(folder, 'base.py')
    template = CLS_CONFIG if task == 'cls' else SEG_CONFIG
    atomic_write_text(config, template.format(head=HEAD_TYPES[task, head]))
    sets = make_sets(task, schedule, seed, replay)
    torch.manual_seed(seed)
    model = build_model(Config.fromfile(config))
    start = time.perf_counter()
    base_losses = fit(task, model, sets['old'], schedule['steps'],
                      schedule['batch'], schedule['optimizer'],
                      schedule['lr'], seed)
    print(f'{task} {head} seed {seed}: trained on the old classes in '
          f'{time.perf_counter() - start:.0f} s', flush=True)
    checkpoint = os.path.join(folder, 'base.pth')
    torch.save(dict(meta=dict(seed=seed), state_dict=model.state_dict()),
               checkpoint)
    result = dict(task=task, head=head, seed=seed, schedule=schedule,
                  replay_fraction=replay, before=evaluate(
        task, model, sets['test']), base_losses=base_losses[::5] +
        base_losses[-1:], base_steps=len(base_losses), after={})
    reference = logits(task, model, sets['test'][0][:16])
    grown_dir = os.path.join(folder, 'grown')
    add_classes(config, checkpoint, len(NEW), grown_dir, seed=seed)
    for mode in MODES:
        grown_cfg = Config.fromfile(os.path.join(grown_dir, 'config.py'))
        torch.manual_seed(seed)
        grown = build_model(grown_cfg)
        grown.load_state_dict(load_state(grown_cfg.load_from)[0])
        old_logits = logits(task, grown, sets['test'][0][:16])
        drift = float((old_logits[:, :reference.shape[1]] -
                       reference).abs().max())
        data = sets['new'] if mode == 'new-only' else sets['replay']
        losses = fit(task, grown, data, schedule['finetune'],
                     schedule['batch'], schedule['optimizer'],
                     schedule['lr'], seed + 1)
        result['after'][mode] = dict(
            evaluate(task, grown, sets['test']), old_logit_drift=drift,
            train_size=len(data[0]), steps=len(losses),
            losses=losses[::5] + losses[-1:])
    result['seconds'] = time.perf_counter() - start
    return result


# Report -------------------------------------------------------------------


def table(results: List[dict], task: str) -> str:
    lines = [f'| head | fine-tuned on | seeds | old classes before | old '
             f'after | forgetting (old drop) | new after | forgetting per '
             f'seed |', '|---|---|---|---|---|---|---|---|']
    for head in HEADS:
        cells = [r for r in results if r['task'] == task and r['head'] == head]
        if not cells:
            continue
        for mode in MODES:
            before = [r['before']['old'] for r in cells]
            old = [r['after'][mode]['old'] for r in cells]
            new = [r['after'][mode]['new'] for r in cells]
            drop = [b - a for b, a in zip(before, old)]
            per_seed = ', '.join(f'{d:.1f}' for d in drop)
            seeds = ', '.join(str(r['seed']) for r in cells)
            lines.append(f'| {head.upper()} | {mode} | {seeds} | '
                         f'{mean_std(before)} | '
                         f'{mean_std(old)} | {mean_std(drop)} | '
                         f'{mean_std(new)} | {per_seed} |')
    return '\n'.join(lines)


def plot(results: List[dict], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    tasks = sorted({r['task'] for r in results})
    fig, axes = plt.subplots(1, len(tasks), figsize=(6 * len(tasks), 4),
                             squeeze=False)
    groups = [('old', 'before', None), ('old', 'new-only', 'new-only'),
              ('old', 'replay', 'replay'), ('new', 'new-only', 'new-only'),
              ('new', 'replay', 'replay')]
    for ax, task in zip(axes[0], tasks):
        for offset, head in ((-0.2, 'ebv'), (0.2, 'fc')):
            cells = [r for r in results
                     if r['task'] == task and r['head'] == head]
            if not cells:
                continue
            means, stds = [], []
            for which, _, mode in groups:
                mean, std = mean_and_std([
                    r['before'][which] if mode is None else
                    r['after'][mode][which] for r in cells])
                means.append(mean)
                stds.append(std)
            ax.bar(np.arange(len(groups)) + offset, means, 0.4, yerr=stds,
                   capsize=3, label=head.upper())
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([f'{w} classes\n{label}'
                            for w, label, _ in groups], fontsize=8)
        ax.set_ylabel('accuracy (%)' if task == 'cls' else 'mIoU (%)')
        ax.set_title({'cls': 'classification', 'seg': 'segmentation'}[task]
                     + ': digits 0-4, then 5-9 added')
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(results: List[dict], args, wall: float, loads: Tuple) -> str:
    drift = max(m['old_logit_drift'] for r in results
                for m in r['after'].values())
    compute = sum(r['seconds'] for r in results)
    metric_note = ('classification: accuracy on the held-out digits of each '
                   'group, %; segmentation: mean IoU over the digit classes '
                   'of each group, %')
    parts = [
        '# Adding classes: EBV vs FC (class-incremental digits)', '',
        'Produced by `' + ' '.join(['python'] + sys.argv) + '` '
        f'on {machine()}: {compute / 60:.1f} min of training and evaluation '
        f'in all cells (this invocation: {wall / 60:.1f} min wall, load '
        f'average {loads[0]:.1f} at its start and {loads[1]:.1f} at its '
        f'end; cells already in the work dir are reused).', '',
        'Protocol (`benchmarks/class_addition.py`): train on digits 0-4, add '
        'digits 5-9 with `tools/add_classes.py`\'s surgery, fine-tune on the '
        'new classes\' data only ("new-only") or on it plus a replay set of '
        f'{args.replay:.0%} of the old training set ("replay"); evaluate on '
        'held-out digits of all ten classes. "Before" is the model trained on '
        '0-4; "forgetting" is its old-class score minus the fine-tuned '
        'model\'s (mean ± std over the seeds of each row; ' + metric_note +
        '). Right after the surgery, '
        'before fine-tuning, the grown models\' old-class logits differed '
        f'from the trained models\' by at most {drift:.2g}.', '']
    for task in ('cls', 'seg'):
        if any(r['task'] == task for r in results):
            schedule = SCHEDULES[task]['quick' if args.quick else 'full']
            title = ('Classification (28 x 28 digits, CIFAR ResNet-18 at '
                     '1/8 width)' if task == 'cls' else
                     'Semantic segmentation (64 x 64 digit scenes, dilated '
                     'ResNet-18 at quarter width + FCN head)')
            parts += [f'## {title}', '', table(results, task), '',
                      f'Schedule: {schedule}.', '']
    parts += ['![old and new classes before and after adding classes]'
              '(class_addition.png)', '']
    return '\n'.join(parts)


def check_reusable(result: dict, schedule: dict, replay: float,
                   path: str) -> None:
    """Refuse a saved cell made with another schedule or replay set."""
    saved = (result.get('schedule'), result.get('replay_fraction'))
    if saved != (schedule, replay):
        raise SystemExit(
            f'{path} was made with schedule {saved[0]} and replay '
            f'{saved[1]}, not {schedule} and {replay}: use another '
            '--work-dir or delete it.')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=None,
                        help='seeds per head and task (default 3; 1 with '
                        '--quick)')
    parser.add_argument('--tasks', nargs='+', choices=['cls', 'seg'],
                        default=['cls', 'seg'])
    parser.add_argument('--start-seed', type=int, default=0,
                        help='skip seeds below this one (e.g. one seed per '
                        'process)')
    parser.add_argument('--heads', nargs='+', choices=HEADS, default=HEADS,
                        help='run only these heads (e.g. one per process)')
    parser.add_argument('--replay', type=float, default=0.05,
                        help='fraction of the old training set replayed')
    parser.add_argument('--work-dir', default='work_dirs/class_addition')
    parser.add_argument('--report', default=None,
                        help='write the markdown report (and its PNG next '
                        'to it) here; default: WORK_DIR/class_addition.md')
    parser.add_argument('--report-only', action='store_true',
                        help='report the cells already in the work dir, '
                        'run none')
    parser.add_argument('--quick', action='store_true',
                        help='tiny schedules, for the tests')
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 1 if args.quick else 3
    if args.seeds < 1 or not 0 < args.replay <= 1:
        parser.error('--seeds must be >= 1 and --replay in (0, 1]')
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    results = []
    for task in args.tasks:
        schedule = SCHEDULES[task]['quick' if args.quick else 'full']
        for head in args.heads:
            for seed in range(args.start_seed, args.seeds):
                folder = os.path.join(args.work_dir, task, head, f'seed{seed}')
                done = os.path.join(folder, 'result.json')
                if os.path.isfile(done):
                    with open(done) as f:
                        result = json.load(f)
                    check_reusable(result, schedule, args.replay, done)
                    results.append(result)
                    continue
                if args.report_only:
                    continue
                result = run_cell(task, head, seed, schedule, args.replay,
                                  folder)
                atomic_write_json(done, result)
                results.append(result)
                after = result['after']
                before = result['before']['old']
                print(f'{task} {head} seed {seed}: old {before:.1f} -> '
                      f'{after["new-only"]["old"]:.1f} (new-only) / '
                      f'{after["replay"]["old"]:.1f} (replay); new '
                      f'{after["new-only"]["new"]:.1f} / '
                      f'{after["replay"]["new"]:.1f} '
                      f'[{result["seconds"]:.0f} s]', flush=True)
    path = args.report or os.path.join(args.work_dir, 'class_addition.md')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    plot(results, os.path.join(os.path.dirname(os.path.abspath(path)),
                               'class_addition.png'))
    text = report(results, args, time.perf_counter() - start,
                  (load_start, os.getloadavg()[0]))
    atomic_write_text(path, text)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
