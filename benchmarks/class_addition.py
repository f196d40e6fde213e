"""Adding classes with the class-incremental recipe: EBV vs FC on real digits.

    python benchmarks/class_addition.py [--seeds 3] [--quick]
        [--work-dir work_dirs/class_addition]
        [--report docs/en/benchmarks/class_addition.md]

Class-incremental classification (no task id: argmax over every class seen)
of the 5,000 real MNIST digits of :mod:`digits_lab.digits` (350 training,
50 validation and 100 test digits per class), by an mmpretrain
``ImageClassifier`` with a two-layer MLP trunk (:mod:`digits_lab.incremental`)
and an EBV head (10 EBVs in R^10 from the first step, the future classes'
reserved: ``num_reserved``) or an FC head (grown by the surgery), both
trained with Adam. Two protocols: digits 0-4 then 5-9, and 5 tasks of 2
digits. Every training is an mmengine ``Runner`` over a config written in the
work dir (``tools/train.py CONFIG`` reruns it); between steps
``tools/add_classes.py``'s surgery adds the step's classes (EBV heads:
reserved vectors activated; FC heads: new rows). The arms, for both heads
with the same data, exemplars (20 per old class, chosen at random with the
seed), ratio (1 replayed : 1 new) and steps:

- ``new-only``: fine-tune on the new classes' data (the floor);
- ``replay``: fine-tune on it plus the exemplars (``ReplayDataset``);
- ``replay+herding``: ``replay`` with the exemplars herding chooses on the
  model's features (``HerdingExemplarsHook``, iCaRL) instead of random ones;
- ``frozen+replay``: the same data, trunk frozen (``FreezeTrunkHook``): EBV
  heads train their projection with the dot-regression loss, FC heads their
  layer with cross-entropy;
- ``replay+ace``: ``replay`` with the ER-ACE loss (``ERACELoss``);
- ``replay+lwf``: ``replay`` plus LwF's distillation of the old classes'
  scores from the grown model (``LwFClassifier``, weight 1, T = 2).

Each arm runs at every step lr of the schedule; the one with the best
validation accuracy (digits held out of the training ones) is reported.

Each cell (protocol, head, seed, arm) is saved under the work dir with its
schedule; a rerun reuses cells of the same schedule and refuses a work dir
made with another. The scores also go to ``class_addition.json`` next to the
report. ``--quick`` runs every cell at a tiny schedule (for the tests).
"""
import argparse
import json
import os
import sys
import time
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(REPO, 'projects', 'digits')
sys.path[:0] = [REPO, LAB]

from digits_lab.digits import split_digits  # noqa: E402
from digits_lab.incremental import (read_digit_arrays,  # noqa: E402
                                    write_digit_arrays)
from digits_lab.reporting import (machine, mean_and_std,  # noqa: E402
                                  mean_std, replace_task_records)
from mmebv.analysis.io import atomic_write_json, atomic_write_text  # noqa
from mmebv.engine.add_classes import add_classes  # noqa: E402

PROTOCOLS = {
    '0-4 then 5-9': ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9)),
    '5 tasks of 2': ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9)),
}
HEADS = ('ebv', 'fc')
ARMS = ('new-only', 'replay', 'replay+herding', 'frozen+replay',
        'replay+ace', 'replay+lwf')
#: Schedules: iterations of the first training and of each step, batch,
#: Adam's lr of the first training and the step lrs tried (the one with the
#: best validation accuracy over all classes is reported), exemplars per old
#: class, digits per class in each part.
SCHEDULES = {
    'full': dict(base_iters=400, step_iters=200, batch=64, lr=1e-3,
                 step_lrs=[3e-4, 1e-3, 3e-3], exemplars=20, train=350,
                 val=50, test=100),
    'quick': dict(base_iters=3, step_iters=2, batch=8, lr=1e-3,
                  step_lrs=[1e-3], exemplars=2, train=12, val=4,
                  test=6),
}
MLP_WIDTH = 256
#: The thresholds of the issue's targets, in points (%).
GATE_OLD = 50.0
WIN_MARGIN = 5.0
NEW_SLACK = 5.0
RETAINED = 0.9


# Data ---------------------------------------------------------------------


def write_data(path: str, schedule: dict, seed: int) -> None:
    """Train / val / test digits of every class, disjoint, as one ``.npz``."""
    split = split_digits(imbalance_ratio=1, test_per_class=schedule['test'],
                         seed=seed)
    parts: Dict[str, Tuple[list, list]] = {
        'train': ([], []), 'val': ([], []), 'test': ([], [])}
    for label in range(10):
        train = split['train'][label]
        for part, images in (
                ('val', train[:schedule['val']]),
                ('train', train[schedule['val']:schedule['val'] +
                                schedule['train']]),
                ('test', split['test'][label])):
            parts[part][0].append(images)
            parts[part][1].append(np.full(len(images), label))
    write_digit_arrays(path, {
        part: (np.concatenate(images), np.concatenate(labels))
        for part, (images, labels) in parts.items()})


# Configs ------------------------------------------------------------------


def digits(data: str, classes: Sequence[int]) -> dict:
    return dict(type='DigitArrays', ann_file=data, part='train',
                classes_kept=list(classes))


def base_config(head: str, classes: Sequence[int], data: str,
                schedule: dict, seed: int, work_dir: str) -> dict:
    """The first training: the first task's classes (EBV heads reserve
    vectors for the other digits)."""
    if head == 'ebv':
        head_cfg = dict(type='EBVClsHead', num_reserved=10 - len(classes))
    else:
        head_cfg = dict(type='LinearClsHead')
    head_cfg.update(num_classes=len(classes), in_channels=MLP_WIDTH,
                    loss=dict(type='CrossEntropyLoss', loss_weight=1.0))
    iters = schedule['base_iters']
    return dict(
        default_scope='mmpretrain',
        custom_imports=dict(imports=['mmebv', 'digits_lab.incremental'],
                            allow_failed_imports=False),
        model=dict(type='ImageClassifier',
                   data_preprocessor=dict(type='ClsDataPreprocessor',
                                          mean=[33.3], std=[78.6]),
                   backbone=dict(type='DigitMLP', width=MLP_WIDTH),
                   head=head_cfg),
        train_dataloader=dict(
            batch_size=schedule['batch'], num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=digits(data, classes)),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=schedule['lr'])),
        default_hooks=dict(
            checkpoint=dict(type='SafeCheckpointHook', by_epoch=False,
                            interval=iters),
            logger=dict(type='LoggerHook', interval=50)),
        custom_hooks=[],
        log_processor=dict(by_epoch=False),
        log_level='WARNING',
        randomness=dict(seed=seed),
        work_dir=work_dir)


def step_config(cfg, head: str, arm: str, old: Sequence[int],
                new: Sequence[int], data: str, schedule: dict, lr: float,
                seed: int, work_dir: str) -> None:
    """Turn the grown config ``cfg`` into the arm's step (in place)."""
    new_data = digits(data, new)
    if arm == 'new-only':
        dataset = new_data
    else:
        dataset = dict(type='ReplayDataset', dataset=new_data,
                       memory=digits(data, old),
                       exemplars_per_class=schedule['exemplars'],
                       ratio=1.0, seed=seed)
    loss = dict(type='CrossEntropyLoss', loss_weight=1.0)
    if arm == 'replay+ace':
        loss = dict(type='ERACELoss', num_old_classes=len(old))
    elif arm == 'frozen+replay' and head == 'ebv':
        loss = dict(type='DotRegressionLoss')
    iters = schedule['step_iters']
    cfg.model.head.loss = loss
    cfg.model.type = 'ImageClassifier'
    for key in ('num_old_classes', 'teacher_checkpoint'):
        cfg.model.pop(key, None)
    if arm == 'replay+lwf':
        cfg.model.update(type='LwFClassifier', num_old_classes=len(old),
                         teacher_checkpoint=cfg.load_from)
    cfg.train_dataloader.dataset = dataset
    cfg.train_cfg = dict(by_epoch=False, max_iters=iters)
    cfg.optim_wrapper.optimizer.lr = lr
    cfg.default_hooks.checkpoint.interval = iters
    cfg.custom_hooks = {
        'frozen+replay': [dict(type='FreezeTrunkHook', trainable='head')],
        'replay+herding': [dict(type='HerdingExemplarsHook')],
    }.get(arm, [])
    cfg.work_dir = work_dir


def train(cfg_dict, path: str, name: str) -> Tuple[torch.nn.Module, str]:
    """Write the config to ``path``, train it; the model and checkpoint."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = cfg_dict if isinstance(cfg_dict, Config) else Config(cfg_dict)
    cfg.dump(path)
    cfg = Config.fromfile(path)
    cfg.experiment_name = name  # one logger per run in this process
    runner = Runner.from_cfg(cfg)
    runner.train()
    checkpoint = os.path.join(cfg.work_dir,
                              f'iter_{cfg.train_cfg.max_iters}.pth')
    return runner.model, checkpoint


# Evaluation ---------------------------------------------------------------


@torch.no_grad()
def evaluate(model, data: str, part: str, old: Sequence[int],
             new: Sequence[int]) -> dict:
    """Accuracy (%) on ``part``'s digits of ``old``, ``new`` and both
    (argmax over every class the head has), the share (%) of old-class
    digits predicted as a new class and, for an FC head, the mean weight
    row norm of old and new classes."""
    images, labels = read_digit_arrays(data, part)
    seen = np.isin(labels, list(old) + list(new))
    images, labels = torch.from_numpy(images[seen]), torch.from_numpy(
        labels[seen])
    model.eval()
    predicted = []
    for chunk in images.split(500):
        inputs = model.data_preprocessor(
            dict(inputs=chunk[:, None], data_samples=None))['inputs']
        predicted.append(model(inputs, mode='tensor').argmax(1))
    predicted = torch.cat(predicted)

    def share(classes, hit) -> float:
        mask = torch.isin(labels, torch.tensor(list(classes)))
        return 100 * float(hit[mask].float().mean()) if mask.any() else 0.0

    correct = predicted == labels
    scores = dict(old=share(old, correct), new=share(new, correct),
                  all=share(list(old) + list(new), correct),
                  old_as_new=share(old, torch.isin(predicted, torch.tensor(
                      list(new)))))
    fc = getattr(model.head, 'fc', None)
    if isinstance(fc, torch.nn.Linear):
        norms = fc.weight.norm(dim=1)
        scores.update(fc_norm_old=float(norms[list(old)].mean()),
                      fc_norm_new=float(norms[list(new)].mean()))
    return scores


# Cells --------------------------------------------------------------------


def run_base(protocol: str, head: str, seed: int, data: str, schedule: dict,
             folder: str) -> dict:
    """Train on the first task, once per (protocol, head, seed)."""
    first = PROTOCOLS[protocol][0]
    start = time.perf_counter()
    cfg = base_config(head, first, data, schedule, seed, folder)
    os.makedirs(folder, exist_ok=True)
    model, checkpoint = train(cfg, os.path.join(folder, 'config.py'),
                              f'{folder}_base')
    return dict(config=os.path.join(folder, 'config.py'),
                checkpoint=checkpoint,
                test=evaluate(model, data, 'test', (), first),
                seconds=time.perf_counter() - start)


def run_arm(protocol: str, head: str, arm: str, seed: int, data: str,
            schedule: dict, lr: float, base: dict, folder: str) -> dict:
    """Every step of ``protocol`` after the first, with ``arm``'s recipe
    at step lr ``lr``."""
    from mmengine.config import Config
    tasks = PROTOCOLS[protocol]
    config, checkpoint = base['config'], base['checkpoint']
    before = base['test']['new']  # the first task's classes, just learnt
    steps = []
    start = time.perf_counter()
    for index, new in enumerate(tasks[1:], start=1):
        old = sum(tasks[:index], ())
        step_dir = os.path.join(folder, f'step{index}')
        grown = add_classes(config, checkpoint, len(new),
                            os.path.join(step_dir, 'grown'), seed=seed,
                            overwrite=True)
        cfg = Config.fromfile(grown['config'])
        step_config(cfg, head, arm, old, new, data, schedule, lr, seed,
                    step_dir)
        config = os.path.join(step_dir, 'config.py')
        model, checkpoint = train(cfg, config, f'{step_dir}')
        steps.append(dict(
            before_old=before,
            test=evaluate(model, data, 'test', old, new),
            val=evaluate(model, data, 'val', old, new)))
        before = steps[-1]['test']['all']  # every class seen so far
    return dict(steps=steps, lr=lr, seconds=time.perf_counter() - start)


def record(protocol: str, head: str, arm: str, seed: int,
           cell: dict) -> dict:
    """The JSON record of a cell: its last step's scores."""
    last = cell['steps'][-1]
    return dict(task='cls', protocol=protocol, arm=arm, head=head,
                seed=seed, lr=cell['lr'], **{k: round(last['test'][k], 2)
                              for k in ('old', 'new', 'all')},
                old_as_new=round(last['test']['old_as_new'], 2),
                before_old=round(last['before_old'], 2),
                val={k: round(last['val'][k], 2)
                     for k in ('old', 'new', 'all')},
                **{k: round(last['test'][k], 4)
                   for k in ('fc_norm_old', 'fc_norm_new')
                   if k in last['test']})


# Report -------------------------------------------------------------------


def cells_of(records: List[dict], protocol: str, arm: str,
             head: str) -> List[dict]:
    return sorted((r for r in records if (r['protocol'], r['arm'],
                                          r['head']) == (protocol, arm, head)),
                  key=lambda r: r['seed'])


def scores_table(records: List[dict], protocol: str) -> List[str]:
    lines = ['| arm | head | old | new | all | old digits predicted new | '
             'old kept (old / before) | FC row norm new / old | step lr '
             'per seed |', '|---|---|---|---|---|---|---|---|---|']
    for arm in ARMS:
        for head in HEADS:
            cells = cells_of(records, protocol, arm, head)
            if not cells:
                continue
            kept = [r['old'] / r['before_old'] if r['before_old'] else 0.0
                    for r in cells]
            norm = ([r['fc_norm_new'] / r['fc_norm_old'] for r in cells]
                    if head == 'fc' else None)
            lines.append(
                f'| {arm} | {head.upper()} | '
                + ' | '.join(mean_std([r[k] for r in cells])
                             for k in ('old', 'new', 'all', 'old_as_new'))
                + f' | {mean_std([100 * k for k in kept])} % | '
                + (mean_std(norm, 2) if norm else '-') + ' | '
                + ', '.join(f'{r["lr"]:g}' for r in cells) + ' |')
    return lines


def verdict(ebv: List[dict], fc: List[dict]) -> Tuple[str, bool]:
    """Per-seed EBV - FC differences and whether the win criterion holds."""
    diff = {k: [e[k] - f[k] for e, f in zip(ebv, fc)]
            for k in ('old', 'new', 'all')}
    mean_old = mean_and_std(diff['old'])[0]
    wins = (mean_old >= WIN_MARGIN and all(d > 0 for d in diff['old'])
            and mean_and_std(diff['new'])[0] >= -NEW_SLACK
            and mean_and_std(diff['all'])[0] >= 0)
    text = ' | '.join(
        f'{mean_std(diff[k])} ({", ".join(f"{d:+.1f}" for d in diff[k])})'
        for k in ('old', 'new', 'all'))
    return text, wins


def report(records: List[dict], args, schedule: dict, wall: float,
           compute: float, loads: Tuple[float, float]) -> str:
    seeds = sorted({r['seed'] for r in records})
    parts = [
        '# Adding classes: EBV vs FC (class-incremental digits)', '',
        'Produced by `' + ' '.join(['python'] + sys.argv) + '` on '
        f'{machine()}: {compute / 60:.1f} min of training and evaluation in '
        f'all cells (this invocation: {wall / 60:.1f} min wall, load average '
        f'{loads[0]:.1f} at its start and {loads[1]:.1f} at its end; cells '
        'already in the work dir are reused). Every score is also in '
        '`class_addition.json` next to this page. Segmentation '
        '(exploratory): [adding classes to a segmentor]'
        '(class_addition_seg.md).', '',
        'Protocol (`benchmarks/class_addition.py`, its docstring has the '
        'details): real MNIST digits, a two-layer MLP trunk (256 units) and '
        'an EBV head (10 EBVs in R^10, the future classes\' reserved from '
        'the first step) or an FC head; every step adds classes with '
        '`tools/add_classes.py`\'s surgery and fine-tunes with the arm\'s '
        f'recipe; seeds {", ".join(map(str, seeds))}, paired (same digits, '
        'exemplars, order and steps for both heads). Scores: test accuracy '
        '(%) after the last step over the classes of the earlier steps '
        '("old"), of the last step ("new") and all ten ("all"), argmax over '
        'every class seen; mean ± std over seeds. "Old kept" divides "old" '
        'by the accuracy the model had on those classes just before the last '
        'step. Each cell\'s step lr (Adam) is the one of '
        f'{", ".join(f"{lr:g}" for lr in schedule["step_lrs"])} with the '
        'best accuracy over all classes on validation digits held out of the '
        'training digits, never on the test digits. Schedule: '
        f'{schedule}.', '']
    for protocol in PROTOCOLS:
        if not any(r['protocol'] == protocol for r in records):
            continue
        parts += [f'## {protocol}', ''] + scores_table(records, protocol)
        parts += ['', 'EBV minus FC, per seed in brackets (points): a win '
                  f'needs old >= +{WIN_MARGIN:g} on average and > 0 in every '
                  f'seed, new >= -{NEW_SLACK:g} and all >= 0.', '',
                  '| arm | old | new | all | EBV forgets less |',
                  '|---|---|---|---|---|']
        for arm in ARMS:
            ebv = cells_of(records, protocol, arm, 'ebv')
            fc = cells_of(records, protocol, arm, 'fc')
            if ebv and len(ebv) == len(fc):
                text, wins = verdict(ebv, fc)
                parts.append(f'| {arm} | {text} | '
                             f'{"yes" if wins else "no"} |')
        parts.append('')
    parts += checks(records)
    return '\n'.join(parts)


def checks(records: List[dict]) -> List[str]:
    """The calibration gate and the frozen-trunk retention target."""
    lines = ['## Targets', '']
    gate = cells_of(records, '0-4 then 5-9', 'replay', 'fc')
    if gate:
        old = mean_and_std([r['old'] for r in gate])[0]
        lines.append(
            f'- Calibration gate (FC + replay keeps >= {GATE_OLD:g}% '
            f'old-class accuracy on 0-4 then 5-9): {old:.1f}% - '
            + ('passed.' if old >= GATE_OLD else 'FAILED: the harness is '
               'too weak to compare heads.'))
    for protocol in PROTOCOLS:
        frozen = cells_of(records, protocol, 'frozen+replay', 'ebv')
        if frozen:
            kept = mean_and_std([r['old'] / r['before_old'] for r in frozen
                                 if r['before_old']])[0]
            lines.append(
                f'- Frozen trunk, EBV, {protocol}: keeps {100 * kept:.1f}% of '
                f'its own old-class accuracy before the last step (target '
                f'>= {100 * RETAINED:g}%): '
                + ('met.' if kept >= RETAINED else 'missed.'))
    return lines + ['']


# Driver -------------------------------------------------------------------


def load_or_run(path: str, schedule: dict, run) -> dict:
    """A saved result of the same schedule, or ``run()`` saved to ``path``;
    a result of another schedule is refused."""
    if os.path.isfile(path):
        with open(path) as f:
            result = json.load(f)
        if result.get('schedule') != schedule:
            raise SystemExit(
                f'{path} was made with schedule {result.get("schedule")}, '
                f'not {schedule}: use another --work-dir or delete it.')
        return result
    result = dict(run(), schedule=schedule)
    atomic_write_json(path, result)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=None,
                        help='seeds (default 3; 1 with --quick)')
    parser.add_argument('--protocols', nargs='+', choices=list(PROTOCOLS),
                        default=list(PROTOCOLS))
    parser.add_argument('--work-dir', default='work_dirs/class_addition')
    parser.add_argument('--report', default=None,
                        help='write the markdown report (and the JSON '
                        'records next to it) here; default: '
                        'WORK_DIR/class_addition.md')
    parser.add_argument('--quick', action='store_true',
                        help='tiny schedules, for the tests')
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = 1 if args.quick else 3
    if args.seeds < 1:
        parser.error('--seeds must be >= 1')
    schedule = SCHEDULES['quick' if args.quick else 'full']
    start, load_start = time.perf_counter(), os.getloadavg()[0]
    work_dir = os.path.abspath(args.work_dir)
    records, compute = [], 0.0
    for seed in range(args.seeds):
        data = os.path.join(work_dir, 'digits_seed{}_{train}-{val}-{test}'
                            '.npz'.format(seed, **schedule))
        if not os.path.isfile(data):
            os.makedirs(work_dir, exist_ok=True)
            write_data(data + '.part', schedule, seed)
            os.replace(data + '.part', data)
        for protocol in args.protocols:
            slug = protocol.replace(' ', '_')
            for head in HEADS:
                folder = os.path.join(work_dir, slug, head, f'seed{seed}')
                base = load_or_run(
                    os.path.join(folder, 'base', 'result.json'), schedule,
                    lambda: run_base(protocol, head, seed, data, schedule,
                                     os.path.join(folder, 'base')))
                compute += base['seconds']
                for arm in ARMS:
                    cells = []
                    for lr in schedule['step_lrs']:
                        arm_dir = os.path.join(
                            folder, arm.replace('+', '_'), f'lr{lr:g}')
                        cells.append(load_or_run(
                            os.path.join(arm_dir, 'result.json'), schedule,
                            lambda: run_arm(protocol, head, arm, seed, data,
                                            schedule, lr, base, arm_dir)))
                        compute += cells[-1]['seconds']
                    cell = max(cells, key=lambda c: c['steps'][-1]['val'][
                        'all'])  # the first of equals: the lowest lr
                    records.append(record(protocol, head, arm, seed, cell))
                    last = records[-1]
                    print(f'{protocol} {head} seed {seed} {arm}: old '
                          f'{last["old"]:.1f} new {last["new"]:.1f} all '
                          f'{last["all"]:.1f} (lr {cell["lr"]:g}, chosen '
                          'on val)', flush=True)
    path = os.path.abspath(args.report or os.path.join(
        work_dir, 'class_addition.md'))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    replace_task_records(
        os.path.join(os.path.dirname(path), 'class_addition.json'), 'cls',
        records)
    text = report(records, args, schedule, time.perf_counter() - start,
                  compute, (load_start, os.getloadavg()[0]))
    atomic_write_text(path, text)
    print(text)
    return 0


if __name__ == '__main__':
    sys.exit(main())
