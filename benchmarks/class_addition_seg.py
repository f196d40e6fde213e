"""Adding classes to a segmentor: EBV vs FC heads on scenes of real digits.

    python benchmarks/class_addition_seg.py [--seeds 3] [--quick]
        [--arms frozen+unbiased unbiased new-only]
        [--work-dir work_dirs/class_addition_seg]
        [--report docs/en/benchmarks/class_addition_seg.md]

Class-incremental semantic segmentation (exploratory), protocol "0-4 then
5-9", in MiB's setting (Cermelli et al., CVPR 2020): scenes of real MNIST
digits (``digits_lab.digit_scenes.compose_scene``: 96 px, 2-4 digits on a
cluttered background), label maps background 0 and digit k -> k + 1.

- Base step: scenes composed from digits 0-4 only, every digit labelled.
- Incremental step: scenes composed from all ten digits, each holding at
  least one of 5-9; only the new digits are labelled, old digits (0-4)
  are painted background in the label maps (MiB's "overlapped" setting).
- Evaluation: held-out val scenes of all ten digits (digits disjoint from
  the training scenes'), every digit labelled; IoU per class from one
  confusion matrix over the val pixels, argmax over every class the model
  has. Scores: mean IoU over digits 0-4 ("old"), 5-9 ("new"), 0-9
  ("all"), in %, plus the background IoU and where old-digit pixels went.

Model: a small UperNet (mmseg ``ResNet`` depth 18 at width ``width``,
``UPerHead`` of ``channels`` channels, no auxiliary head) trained from
scratch with AdamW; the head is an ``EBVUPerHead`` (11 EBVs, background +
10 digits, the five future digits' reserved with ``num_reserved=5`` from
the base step) or the upstream ``UPerHead`` (FC ``conv_seg``). Between the
steps ``tools/add_classes.py``'s surgery (:func:`add_classes`) activates the
reserved EBVs or gives the FC layer new rows. The arms, for both heads with
the same scenes, iterations and lr:

- ``frozen+unbiased``: trunk frozen (``FreezeTrunkHook``: everything but
  the per-pixel classifier ``decode_head.conv_seg`` - the EBV projection or
  the FC layer - is frozen, BatchNorm statistics included) and MiB's
  unbiased cross-entropy (``UnbiasedCrossEntropyLoss``);
- ``unbiased``: full fine-tuning with the unbiased cross-entropy;
- ``new-only``: full fine-tuning with plain cross-entropy (the floor: old
  digits in the new scenes are taught as background).

Every training is an mmengine ``Runner`` over a config written in the work
dir (``tools/train.py CONFIG`` reruns it). Each cell (head, seed, arm) is
saved under the work dir with its schedule; a rerun reuses the cells of the
same schedule and refuses a work dir made with another. The records (task
"seg") go to ``class_addition.json`` next to the report, whose other
records (the classification benchmark's) are kept. ``--quick`` runs every
cell at a tiny schedule (for the tests).
"""
import argparse
import json
import os
import sys
import time
from typing import Dict, List, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(REPO, 'projects', 'digits')
sys.path[:0] = [REPO, LAB, os.path.dirname(os.path.abspath(__file__))]

from class_addition import load_or_run, train  # noqa: E402
from digits_lab.digit_scenes import (SEG_CLASSES, SEG_PALETTE,  # noqa: E402
                                     split_pool, compose_scene)
from digits_lab.digits import split_digits  # noqa: E402
from digits_lab.reporting import (machine, mean_and_std,  # noqa: E402
                                  mean_std, replace_task_records)
from mmebv.analysis.io import atomic_write_json, atomic_write_text  # noqa
from mmebv.engine.add_classes import add_classes  # noqa: E402
from mmebv.fileio import staged_directory  # noqa: E402

PROTOCOL = '0-4 then 5-9'
OLD, NEW = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
#: Channels of the base model (background + old digits) and of the grown.
NUM_BASE, NUM_ALL = 1 + len(OLD), len(SEG_CLASSES)
HEADS = ('ebv', 'fc')
ARMS = ('frozen+unbiased', 'unbiased', 'new-only')
#: Schedules: scene digits per class (30 % of them for val scenes), scene
#: counts and size, model width, batch, iterations, AdamW lrs (base, full
#: fine-tuning step, frozen step) and warmup iterations.
SCHEDULES = {
    'full': dict(scene_per_class=150, base_scenes=400, step_scenes=400,
                 val_scenes=100, image_size=96, digit_size=[32, 60],
                 width=16, channels=32, batch=8, base_iters=1000,
                 step_iters=300, lr=4e-3, step_lr=1e-3, frozen_lr=1e-2,
                 warmup=50),
    'quick': dict(scene_per_class=10, base_scenes=6, step_scenes=6,
                  val_scenes=4, image_size=64, digit_size=[24, 40],
                  width=8, channels=16, batch=2, base_iters=2,
                  step_iters=2, lr=4e-3, step_lr=1e-3, frozen_lr=1e-2,
                  warmup=1),
}
#: The work dir's record of the last invocation that trained cells.
LAST_RUN = 'last_run.json'
#: Old-digit mIoU (%) of the base models under which the report calls
#: them weak.
WEAK_BASE = 70.0
#: (split, digits composed, digits labelled) of the scene sets.
SCENE_SETS = (('base', OLD, OLD), ('step', OLD + NEW, NEW),
              ('val', OLD + NEW, OLD + NEW))
PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs'),
]


# Data ---------------------------------------------------------------------


def write_scenes(root: str, schedule: dict, seed: int) -> dict:
    """The base, step and val scenes of one seed under ``root`` (see the
    module docstring), written atomically; returns and saves their
    metadata (instances of each digit per set, and how many were labelled
    background)."""
    pool = split_digits(imbalance_ratio=1,
                        scene_per_class=schedule['scene_per_class'],
                        seed=seed)['scenes']
    parts = split_pool(pool, val_fraction=0.3)
    rng = np.random.default_rng(seed)
    size = schedule['image_size']
    meta = dict(schedule=schedule, seed=seed, instances={},
                labelled_background={})
    with staged_directory(root) as staging:
        for split, drawn, labelled in SCENE_SETS:
            source = parts['val' if split == 'val' else 'train']
            digits = {index: source[digit] for index, digit in
                      enumerate(drawn)}  # compose_scene draws keys 0..n-1
            folders = [os.path.join(staging, kind, split)
                       for kind in ('images', 'semantic')]
            for folder in folders:
                os.makedirs(folder)
            counts, hidden = [0] * 10, [0] * 10
            for number in range(schedule[f'{split}_scenes']):
                while True:
                    scene, labels, masks = compose_scene(
                        digits, rng, size, digit_size=tuple(
                            schedule['digit_size']))
                    labels = [drawn[label] for label in labels]
                    if any(label in labelled for label in labels):
                        break  # a scene with something to learn
                semantic = np.zeros((size, size), np.uint8)
                for label, mask in zip(labels, masks):
                    counts[label] += 1
                    if label in labelled:
                        semantic[mask] = label + 1
                    else:
                        hidden[label] += 1  # old digit: background
                name = f'{number:05d}.png'
                Image.fromarray(scene).save(os.path.join(folders[0], name))
                Image.fromarray(semantic).save(os.path.join(folders[1],
                                                            name))
            meta['instances'][split] = counts
            meta['labelled_background'][split] = hidden
        with open(os.path.join(staging, 'meta.json'), 'w') as f:
            json.dump(meta, f, indent=2)
    return meta


def scenes(root: str, split: str) -> dict:
    """mmseg's ``BaseSegDataset`` over one scene set."""
    return dict(type='BaseSegDataset', data_root=root,
                metainfo=dict(classes=SEG_CLASSES,
                              palette=[list(c) for c in SEG_PALETTE]),
                data_prefix=dict(img_path=f'images/{split}',
                                 seg_map_path=f'semantic/{split}'),
                img_suffix='.png', seg_map_suffix='.png',
                reduce_zero_label=False, pipeline=PIPELINE)


# Configs ------------------------------------------------------------------


def optimisation(lr: float, iters: int, warmup: int) -> dict:
    """AdamW at ``lr``, linear warmup then poly decay over ``iters``."""
    return dict(
        optim_wrapper=dict(type='OptimWrapper', optimizer=dict(
            type='AdamW', lr=lr, betas=(0.9, 0.999), weight_decay=0.01),
            clip_grad=dict(max_norm=10, norm_type=2)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.01, by_epoch=False,
                 begin=0, end=warmup),
            dict(type='PolyLR', eta_min=lr / 40, power=0.9, begin=0,
                 end=iters, by_epoch=False)],
        train_cfg=dict(by_epoch=False, max_iters=iters),
        default_hooks=dict(
            checkpoint=dict(type='SafeCheckpointHook', by_epoch=False,
                            interval=iters),
            logger=dict(type='LoggerHook', interval=50)))


def base_config(head: str, root: str, schedule: dict, seed: int,
                work_dir: str) -> dict:
    """The base training: background + digits 0-4 (EBV heads reserve the
    vectors of digits 5-9)."""
    norm = dict(type='BN', requires_grad=True)
    width = schedule['width']
    decode = dict(
        type='UPerHead', in_channels=[width * 2**i for i in range(4)],
        in_index=[0, 1, 2, 3], pool_scales=(1, 2, 3, 6),
        channels=schedule['channels'], dropout_ratio=0.1,
        num_classes=NUM_BASE, norm_cfg=norm, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False,
                         loss_weight=1.0))
    if head == 'ebv':
        decode.update(type='EBVUPerHead', ebv_dim=NUM_ALL,
                      num_reserved=NUM_ALL - NUM_BASE)
    size = (schedule['image_size'], ) * 2
    return dict(
        default_scope='mmseg',
        custom_imports=dict(imports=['mmebv'], allow_failed_imports=False),
        model=dict(
            type='EncoderDecoder',
            data_preprocessor=dict(
                type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0,
                seg_pad_val=255, size=size),
            backbone=dict(type='ResNet', depth=18, stem_channels=width,
                          base_channels=width, out_indices=(0, 1, 2, 3),
                          norm_cfg=norm),
            decode_head=decode,
            train_cfg=dict(), test_cfg=dict(mode='whole')),
        train_dataloader=dict(
            batch_size=schedule['batch'], num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=scenes(root, 'base')),
        **optimisation(schedule['lr'], schedule['base_iters'],
                       schedule['warmup']),
        custom_hooks=[],
        log_processor=dict(by_epoch=False),
        log_level='WARNING',
        randomness=dict(seed=seed),
        work_dir=work_dir)


def step_config(cfg, arm: str, root: str, schedule: dict, seed: int,
                work_dir: str) -> None:
    """Turn the grown config ``cfg`` into the arm's step (in place)."""
    frozen = arm.startswith('frozen')
    if arm == 'new-only':
        loss = dict(type='CrossEntropyLoss', use_sigmoid=False,
                    loss_weight=1.0)
    else:
        loss = dict(type='UnbiasedCrossEntropyLoss',
                    num_old_classes=NUM_BASE)
    cfg.model.decode_head.loss_decode = loss
    cfg.train_dataloader.dataset = scenes(root, 'step')
    cfg.merge_from_dict(optimisation(
        schedule['frozen_lr' if frozen else 'step_lr'],
        schedule['step_iters'], schedule['warmup']))
    cfg.custom_hooks = ([dict(type='FreezeTrunkHook',
                              trainable='decode_head.conv_seg')]
                        if frozen else [])
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = work_dir


# Evaluation ---------------------------------------------------------------


@torch.no_grad()
def evaluate(model, root: str, num_seen: int, batch: int = 20) -> dict:
    """IoU (%) on the val scenes: mean over the old digits, the new digits
    and all ten, the background's, and the shares (%) of old-digit pixels
    predicted background or a new digit; argmax over the model's
    ``num_seen`` classes."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = DATASETS.build(scenes(root, 'val'))
    model.eval()
    confusion = torch.zeros(NUM_ALL, NUM_ALL, dtype=torch.long)
    for start in range(0, len(dataset), batch):
        data = model.data_preprocessor(pseudo_collate(
            [dataset[i] for i in range(start, min(start + batch,
                                                  len(dataset)))]), False)
        truth = torch.cat([s.gt_sem_seg.data for s in data['data_samples']])
        logits = model(data['inputs'], mode='tensor')[:, :num_seen]
        logits = F.interpolate(logits, size=truth.shape[-2:],
                               mode='bilinear', align_corners=False)
        predicted = logits.argmax(1)
        keep = truth != 255
        confusion += torch.bincount(
            truth[keep].long() * NUM_ALL + predicted[keep],
            minlength=NUM_ALL**2).view(NUM_ALL, NUM_ALL)
    return scores(confusion)


def scores(confusion: torch.Tensor) -> dict:
    """The scores of a (truth, prediction) pixel count matrix."""
    confusion = confusion.double()
    hits = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - hits
    iou = (100 * hits / union.clamp(min=1)).tolist()
    old = [k + 1 for k in OLD]
    new = [k + 1 for k in NEW]
    old_pixels = float(confusion[old].sum()) or 1.0
    return dict(
        old=float(np.mean([iou[k] for k in old])),
        new=float(np.mean([iou[k] for k in new])),
        all=float(np.mean([iou[k] for k in old + new])), bg=iou[0],
        old_as_bg=100 * float(confusion[old][:, 0].sum()) / old_pixels,
        old_as_new=100 * float(confusion[old][:, new].sum()) / old_pixels,
        iou=[round(v, 2) for v in iou])


# Cells --------------------------------------------------------------------


def run_base(head: str, seed: int, root: str, schedule: dict,
             folder: str) -> dict:
    """Train on the base scenes, once per (head, seed)."""
    start = time.perf_counter()
    os.makedirs(folder, exist_ok=True)
    config = os.path.join(folder, 'config.py')
    model, checkpoint = train(base_config(head, root, schedule, seed, folder),
                              config, f'{folder}_base')
    return dict(config=config, checkpoint=checkpoint,
                val=evaluate(model, root, NUM_BASE),
                seconds=time.perf_counter() - start)


def run_arm(arm: str, seed: int, root: str, schedule: dict, base: dict,
            folder: str) -> dict:
    """The step adding digits 5-9 with ``arm``'s recipe."""
    from mmengine.config import Config
    start = time.perf_counter()
    grown = add_classes(base['config'], base['checkpoint'], len(NEW),
                        os.path.join(folder, 'grown'), seed=seed,
                        overwrite=True)
    cfg = Config.fromfile(grown['config'])
    step_config(cfg, arm, root, schedule, seed, folder)
    model, _ = train(cfg, os.path.join(folder, 'config.py'), folder)
    return dict(val=evaluate(model, root, NUM_ALL),
                seconds=time.perf_counter() - start)


def record(head: str, arm: str, seed: int, base: dict, cell: dict) -> dict:
    """The JSON record of a cell."""
    val = cell['val']
    return dict(task='seg', protocol=PROTOCOL, arm=arm, head=head, seed=seed,
                **{k: round(val[k], 2) for k in (
                    'old', 'new', 'all', 'bg', 'old_as_bg', 'old_as_new')},
                before_old=round(base['val']['old'], 2), iou=val['iou'])


# Report -------------------------------------------------------------------


def cells_of(records: List[dict], arm: str, head: str) -> List[dict]:
    return sorted((r for r in records if (r['arm'], r['head']) == (arm,
                                                                  head)),
                  key=lambda r: r['seed'])


def differences(records: List[dict], arm: str) -> Dict[str, List[float]]:
    """EBV - FC per seed of old, new and all (empty if unpaired)."""
    ebv, fc = cells_of(records, arm, 'ebv'), cells_of(records, arm, 'fc')
    if not ebv or [r['seed'] for r in ebv] != [r['seed'] for r in fc]:
        return {}
    return {k: [e[k] - f[k] for e, f in zip(ebv, fc)]
            for k in ('old', 'new', 'all')}


def tables(records: List[dict], arms: Sequence[str]) -> List[str]:
    lines = ['| arm | head | old digits (before the step) | old digits | '
             'new digits | all digits | background | old-digit pixels '
             'predicted background / new |',
             '|---|---|---|---|---|---|---|---|']
    for arm in arms:
        for head in HEADS:
            cells = cells_of(records, arm, head)
            if cells:
                lines.append(f'| {arm} | {head.upper()} | ' + ' | '.join(
                    mean_std([r[k] for r in cells]) for k in (
                        'before_old', 'old', 'new', 'all', 'bg')) + ' | '
                    + mean_std([r['old_as_bg'] for r in cells]) + ' / '
                    + mean_std([r['old_as_new'] for r in cells]) + ' |')
    lines += ['', 'EBV minus FC (points), mean ± std and per seed in '
              'brackets:', '', '| arm | old | new | all |', '|---|---|---|---|']
    for arm in arms:
        diff = differences(records, arm)
        if diff:
            lines.append(f'| {arm} | ' + ' | '.join(
                f'{mean_std(diff[k])} ('
                + ', '.join(f'{d:+.1f}' for d in diff[k]) + ')'
                for k in ('old', 'new', 'all')) + ' |')
    return lines


def what_happened(records: List[dict], arms: Sequence[str]) -> List[str]:
    """Sentences read off the numbers (no claim the numbers do not make)."""
    lines = []
    for arm in arms:
        parts = []
        for head in HEADS:
            cells = cells_of(records, arm, head)
            if not cells:
                continue
            old = mean_and_std([r['old'] for r in cells])[0]
            before = mean_and_std([r['before_old'] for r in cells])[0]
            new = mean_and_std([r['new'] for r in cells])[0]
            to_bg = mean_and_std([r['old_as_bg'] for r in cells])[0]
            parts.append(
                f'{head.upper()} has {old:.1f} old-digit mIoU after the '
                f'step ({before:.1f} before: '
                f'{100 * old / max(before, 1e-9):.0f} %), {new:.1f} on the '
                f'new digits, and predicts {to_bg:.1f} % of old-digit '
                'pixels background')
        diff = differences(records, arm)
        if diff:
            seeds = (f'in all {len(diff["old"])} seeds'
                     if len(diff['old']) > 1 else 'in the one seed')
            signs = {k: ('no difference (within 0.5 points in every seed)'
                         if all(abs(d) < 0.5 for d in v) else
                         f'EBV above FC {seeds}' if all(d > 0 for d in v)
                         else f'FC above EBV {seeds}' if all(
                             d < 0 for d in v) else
                         'the sign changes across seeds')
                     for k, v in diff.items()}
            parts.append(
                f'on old digits {signs["old"]}, on new digits '
                f'{signs["new"]}, on all digits {signs["all"]}')
        if parts:
            lines.append(f'- `{arm}`: ' + '; '.join(parts) + '.')
    return lines + caveats(records)


def caveats(records: List[dict]) -> List[str]:
    """What the numbers above need to be read with."""
    lines = ['- No lr search: each arm trains both heads at one lr, so a '
             'head that needs another lr (new FC rows start from small '
             'random weights; EBV logits are cosines / tau) is '
             'disadvantaged, and a gap between heads may be an lr effect.']
    for head in HEADS:
        before = sorted({(r['seed'], r['before_old']) for r in records
                         if r['head'] == head})
        if before:
            values = [b for _, b in before]
            weak = mean_and_std(values)[0] < WEAK_BASE
            lines.append(
                f'- The {head.upper()} base models reach '
                f'{mean_std(values)} old-digit mIoU before the step (per '
                f'seed: {", ".join(f"{v:.1f}" for v in values)}; trunk '
                'trained from scratch on the base scenes)'
                + (f': below {WEAK_BASE:g}, so every score here is that of a '
                   'weak model.' if weak else '.'))
    rose = sorted({(r['arm'], r['head']) for r in records
                   if r['old'] > r['before_old']})
    if rose:
        lines.append(
            '- Old-digit mIoU rose during the step in '
            + ', '.join(f'{arm} / {head.upper()}' for arm, head in rose)
            + ' (at least one seed): the step scenes hold old digits '
            '(labelled background) and the base models are undertrained, so '
            'the step keeps improving what the old classes share with the '
            'new ones; a drop, not the level, measures forgetting here.')
    return lines


def report(records: List[dict], schedule: dict, meta: dict, arms,
           threads: int, last_run: dict, compute: float) -> str:
    seeds = sorted({r['seed'] for r in records})
    hidden = sum(meta['labelled_background']['step'])
    parts = [
        '# Adding classes to a segmentor: EBV vs FC heads (exploratory)', '',
        'Produced by `' + ' '.join(['python'] + sys.argv) + '` on '
        f'{machine()}, {threads} torch thread(s): {compute / 60:.1f} min '
        'of training and evaluation in all cells (the last invocation that '
        f'trained cells, `{last_run["command"]}`, trained '
        f'{last_run["trained"]} of them in {last_run["wall"] / 60:.1f} min '
        f'wall, load average {last_run["loads"][0]:.1f} at its start and '
        f'{last_run["loads"][1]:.1f} at its end; a rerun reuses the cells in '
        'the work dir). The records (task "seg") are also in '
        '`class_addition.json` next to this page.', '',
        'Protocol "0-4 then 5-9" in MiB\'s setting '
        '(`benchmarks/class_addition_seg.py`, whose docstring has the '
        'details): a small UperNet (ResNet-18 trunk at width '
        f'{schedule["width"]}, UperNet head of {schedule["channels"]} '
        'channels, no auxiliary head, trained from scratch) learns '
        f'background + digits 0-4 on {schedule["base_scenes"]} scenes of '
        f'those digits ({schedule["base_iters"]} iterations, AdamW lr '
        f'{schedule["lr"]:g}, batch {schedule["batch"]}); '
        '`tools/add_classes.py`\'s surgery then adds digits 5-9 (EBV head: '
        'the 5 reserved EBVs of the 11 in R^11 activated; FC head: 5 new '
        f'rows) and the step trains {schedule["step_iters"]} iterations on '
        f'{schedule["step_scenes"]} scenes of all ten digits, each with a '
        'new digit, whose label maps mark only digits 5-9: the old digits '
        f'in them ({hidden} digit instances in seed {meta["seed"]}\'s '
        'scenes) are labelled background. Step lr: '
        f'{schedule["step_lr"]:g} for full fine-tuning, '
        f'{schedule["frozen_lr"]:g} for the frozen trunk (one lr each, the '
        'same for both heads; no lr search). Scores: IoU (%) on '
        f'{schedule["val_scenes"]} held-out val scenes of all ten digits '
        'with every digit labelled, averaged over digits 0-4 ("old"), 5-9 '
        '("new") and 0-9 ("all"); "before the step" is the base model\'s '
        'old-digit mIoU. Seeds ' + ', '.join(map(str, seeds)) + ', paired '
        '(same scenes, order and steps for both heads); mean ± std over '
        f'seeds. Schedule: {schedule}.', '',
        '## 0-4 then 5-9', ''] + tables(records, arms)
    parts += ['', '## What happened', '',
              'Read off the table above (exploratory: one small model, one '
              'lr per arm, a few seeds; no published number to compare '
              'with):', ''] + what_happened(records, arms) + ['']
    return '\n'.join(parts)


# Driver -------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=None,
                        help='seeds (default 3; 1 with --quick)')
    parser.add_argument('--arms', nargs='+', choices=ARMS,
                        default=list(ARMS))
    parser.add_argument('--work-dir', default='work_dirs/class_addition_seg')
    parser.add_argument('--report',
                        default='docs/en/benchmarks/class_addition_seg.md',
                        help='the markdown report; the JSON records go to '
                        'class_addition.json next to it')
    parser.add_argument('--quick', action='store_true',
                        help='tiny schedules, for the tests')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads (default 1: on a shared 2-core '
                        'machine two threads ran 3x slower than one)')
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 1 if args.quick else 3
    if args.seeds < 1 or args.threads < 1:
        parser.error('--seeds and --threads must be >= 1')
    torch.set_num_threads(args.threads)
    arms = [arm for arm in ARMS if arm in args.arms]
    schedule = SCHEDULES['quick' if args.quick else 'full']
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    work_dir = os.path.abspath(args.work_dir)
    records, compute, metas, trained = [], 0.0, [], 0
    for seed in range(args.seeds):
        root = os.path.join(work_dir, f'scenes_seed{seed}')
        if not os.path.isfile(os.path.join(root, 'meta.json')):
            write_scenes(root, schedule, seed)
        with open(os.path.join(root, 'meta.json')) as f:
            metas.append(json.load(f))
        if metas[-1]['schedule'] != schedule:
            raise SystemExit(f'{root} was made with another schedule: use '
                             'another --work-dir or delete it.')
        for head in HEADS:
            folder = os.path.join(work_dir, head, f'seed{seed}')
            trained += not os.path.isfile(os.path.join(folder, 'base',
                                                       'result.json'))
            base = load_or_run(
                os.path.join(folder, 'base', 'result.json'), schedule,
                lambda: run_base(head, seed, root, schedule,
                                 os.path.join(folder, 'base')))
            compute += base['seconds']
            print(f'{head} seed {seed} base: old {base["val"]["old"]:.1f} '
                  f'bg {base["val"]["bg"]:.1f} ({base["seconds"]:.0f} s)',
                  flush=True)
            for arm in arms:
                arm_dir = os.path.join(folder, arm.replace('+', '_'))
                trained += not os.path.isfile(os.path.join(arm_dir,
                                                           'result.json'))
                cell = load_or_run(
                    os.path.join(arm_dir, 'result.json'), schedule,
                    lambda: run_arm(arm, seed, root, schedule, base,
                                    arm_dir))
                compute += cell['seconds']
                records.append(record(head, arm, seed, base, cell))
                last = records[-1]
                print(f'{head} seed {seed} {arm}: old {last["old"]:.1f} new '
                      f'{last["new"]:.1f} all {last["all"]:.1f} '
                      f'({cell["seconds"]:.0f} s)', flush=True)
    path = os.path.abspath(args.report)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    replace_task_records(
        os.path.join(os.path.dirname(path), 'class_addition.json'), 'seg',
        records)
    run = os.path.join(work_dir, LAST_RUN)
    if trained:
        atomic_write_json(run, dict(
            command=' '.join(['python'] + sys.argv), trained=trained,
            wall=time.perf_counter() - start,
            loads=[load_start, os.getloadavg()[0]]))
    with open(run) as f:
        last_run = json.load(f)
    text = report(records, schedule, metas[0], arms, args.threads,
                  last_run, compute)
    atomic_write_text(path, text)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
