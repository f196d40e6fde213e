"""The mmebv demo, end to end, on CPU and with no download.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--imbalance-ratio 10]
        [--epochs 30] [--ebv-dim 16] [--det-iters 20] [--seg-iters 20] [--full]

1. generates the EBVs (10 classes) and reports their coherence against the
   best known lower bound;
2. trains a half-width ResNet-18 twice on long-tailed handwritten digits
   (scikit-learn's copy, balanced test split): with the EBV head and with an
   FC head (``LinearClsHead``), both through ``tools/train.py`` (mmengine's
   Runner);
3. converts the EBV backbone (``tools/model_converters/ebv_to_backbone.py``)
   and fine-tunes it in a Mask R-CNN with EBV box/mask heads and in a
   UperNet with EBV decode heads on synthetic data, after checking that the
   backbone weights really loaded;
4. writes a results table (``results.md``, ``results.json``) and plots
   (training curves, EBV angle histogram, CKA FC vs EBV) to the work dir.

Every stage records its result under ``<work-dir>/stages/``; running again
with the same work dir reuses finished stages and resumes interrupted
training runs.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from typing import Callable, Dict, List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from mmebv.analysis.io import atomic_write_json, atomic_write_text  # noqa

DEMO_CONFIGS = os.path.join(REPO, 'configs', 'demo')
CLS_CONFIGS = {
    'FC': 'resnet18-w32_fc_1xb64_digits-lt.py',
    'EBV': 'resnet18-w32_ebv_1xb64_digits-lt.py',
}
DENSE_CONFIGS = {
    'det': 'mask-rcnn_r18-w32_ebv_synthetic.py',
    'seg': 'upernet_r18-w32_ebv_synthetic.py',
}
NUM_CLASSES = 10
#: The classes with the fewest training images (30 %) form the tail.
TAIL_FRACTION = 0.3


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='EBV vs FC on long-tailed digits, then transfer to '
        'detection and segmentation (CPU, no download).')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--imbalance-ratio', type=float, default=10,
                        help='largest / smallest training class (default 10)')
    parser.add_argument('--epochs', type=int, default=None,
                        help='classification epochs (default 30; 100 with '
                        '--full)')
    parser.add_argument('--ebv-dim', type=int, default=16,
                        help='EBV dimension d for the 10 classes (default 8)')
    parser.add_argument('--det-iters', type=int, default=None,
                        help='detection iterations (default 20; 300 with '
                        '--full)')
    parser.add_argument('--seg-iters', type=int, default=None,
                        help='segmentation iterations (default 20; 300 with '
                        '--full)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--full', action='store_true',
                        help='longer, more faithful runs (~30 min)')
    args = parser.parse_args(argv)
    defaults = dict(epochs=(100, 30), det_iters=(300, 20),
                    seg_iters=(300, 20))
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, full if args.full else quick)
    for name in ('epochs', 'det_iters', 'seg_iters', 'ebv_dim'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1.')
    if args.imbalance_ratio < 1:
        parser.error('--imbalance-ratio must be >= 1 (1 = balanced).')
    return args


class Demo:
    """The demo's stages; each result is saved as ``stages/<name>.json``."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work_dir = os.path.abspath(args.work_dir)
        self.analysis_dir = os.path.join(self.work_dir, 'analysis')
        self.results: Dict[str, dict] = {}
        self.settings = dict(
            imbalance_ratio=args.imbalance_ratio, epochs=args.epochs,
            ebv_dim=args.ebv_dim, det_iters=args.det_iters,
            seg_iters=args.seg_iters, seed=args.seed)

    def path(self, *parts: str) -> str:
        return os.path.join(self.work_dir, *parts)

    # ----------------------------------------------------------- machinery
    def check_settings(self) -> None:
        """Refuse to mix the results of different settings in one dir."""
        path = self.path('settings.json')
        if os.path.isfile(path):
            with open(path) as f:
                saved = json.load(f)
            if saved != self.settings:
                raise SystemExit(
                    f'{self.work_dir} holds a demo run with other settings '
                    f'({saved}); use another --work-dir or delete it.')
        else:
            atomic_write_json(path, self.settings)

    def stage(self, name: str, title: str, run: Callable[[], dict]) -> dict:
        """Run a stage once; a recorded result is reused."""
        path = self.path('stages', f'{name}.json')
        if os.path.isfile(path):
            with open(path) as f:
                result = json.load(f)
            print(f'\n== {title}: done before, reusing {path}', flush=True)
        else:
            print(f'\n== {title}', flush=True)
            start = time.perf_counter()
            result = run()
            result['seconds'] = round(time.perf_counter() - start, 1)
            atomic_write_json(path, result)
        self.results[name] = result
        return result

    def command(self, *argv: str) -> None:
        """Run a repository tool with this Python, echoing the command."""
        print('$ ' + ' '.join(argv), flush=True)
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            [REPO] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep)
                      if p])
        done = subprocess.run([sys.executable, *argv], cwd=REPO, env=env)
        if done.returncode != 0:
            raise SystemExit(
                f'{argv[0]} failed (exit status {done.returncode}); see its '
                f'output above. Fix the cause and run the demo again with '
                f'the same --work-dir: finished stages are reused and '
                f'training resumes.')

    def write_config(self, base: str, name: str, options: dict) -> str:
        """Dump ``configs/demo/<base>`` with ``options`` merged as
        ``<work-dir>/configs/<name>.py`` (the exact config trained)."""
        from mmengine.config import Config

        cfg = Config.fromfile(os.path.join(DEMO_CONFIGS, base))
        cfg.merge_from_dict(options)
        path = self.path('configs', f'{name}.py')
        atomic_write_text(path, cfg.pretty_text)
        return path

    def train(self, config: str, name: str) -> str:
        """Train (resuming when interrupted) and return the last checkpoint."""
        work_dir = self.path(name)
        self.command('tools/train.py', config, '--work-dir', work_dir,
                     '--resume')
        with open(os.path.join(work_dir, 'last_checkpoint')) as f:
            return f.read().strip()

    # -------------------------------------------------------------- stages
    def make_data(self) -> dict:
        from mmebv.synthetic.digits import write_digits

        root = self.path('data', 'digits-lt')
        meta = write_digits(root, self.args.imbalance_ratio,
                            seed=self.args.seed)
        counts = meta['train_counts']
        print(f'Training images per class (head -> tail): {counts}; '
              f'test: {meta["test_counts"][0]} per class.')
        num_tail = max(1, round(TAIL_FRACTION * len(counts)))
        tail = sorted(range(len(counts)), key=lambda c: counts[c])[:num_tail]
        return dict(root=root, train_counts=counts,
                    test_counts=meta['test_counts'], tail_classes=sorted(tail))

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
        data = self.results['data']
        options = {
            f'{split}_dataloader.dataset.data_root': data['root']
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
        config = self.write_config(CLS_CONFIGS[head], name, options)
        checkpoint = self.train(config, name)
        return dict(config=config, checkpoint=checkpoint,
                    work_dir=self.path(name))

    def evaluate_classifiers(self) -> dict:
        """Top-1 overall / head / tail of both models, and their CKA."""
        from mmebv.analysis import layerwise_cka, select_layers
        from mmebv.analysis.models import (build_loader, build_model,
                                           load_config, predict_labels,
                                           tensor_forward)
        from mmebv.analysis.reports import write_cka_outputs

        tail = set(self.results['data']['tail_classes'])
        scores, models = {}, []
        for head in CLS_CONFIGS:
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
            self.analysis_dir, list(CLS_CONFIGS),
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
        self.command('tools/model_converters/ebv_to_backbone.py',
                     self.results['cls_ebv']['checkpoint'], out)
        return dict(checkpoint=out)

    def transfer(self, task: str) -> dict:
        """Fine-tune the converted EBV backbone on a synthetic dense task,
        after checking that the backbone really holds its weights."""
        from mmebv.analysis.logs import read_scalars
        from mmebv.analysis.models import build_model, load_config

        iters = self.args.det_iters if task == 'det' else self.args.seg_iters
        options = {
            'model.backbone.init_cfg.checkpoint':
            self.results['backbone']['checkpoint'],
            'train_cfg.max_iters': iters,
            'train_cfg.val_interval': iters,
            'default_hooks.checkpoint.interval': iters,
            'default_hooks.logger.interval': min(10, max(1, iters // 10)),
            'randomness.seed': self.args.seed,
        }
        options.update(self.write_dense_data(task))
        if task == 'seg':
            options['param_scheduler.0.end'] = iters
        name = f'{task}_ebv'
        config = self.write_config(DENSE_CONFIGS[task], name, options)
        loaded = check_backbone_loaded(
            build_model(load_config(config)),
            self.results['backbone']['checkpoint'])
        print(f'Backbone check: {loaded["matched"]}/{loaded["total"]} '
              f'tensors equal to the converted EBV checkpoint.')
        checkpoint = self.train(config, name)
        records = read_scalars(self.path(name))
        losses = [r['loss'] for r in records if 'loss' in r]
        evaluations = [{k: v for k, v in r.items()
                        if k.startswith(('coco/', 'mIoU', 'aAcc', 'mAcc'))}
                       for r in records]
        metrics = ([e for e in evaluations if e] or [{}])[-1]
        return dict(config=config, checkpoint=checkpoint,
                    work_dir=self.path(name), backbone_check=loaded,
                    first_loss=losses[0] if losses else None,
                    last_loss=losses[-1] if losses else None,
                    metrics=metrics)

    def write_dense_data(self, task: str) -> dict:
        """Write the synthetic detection/segmentation data (once); return
        the config overrides pointing the demo config at it."""
        root = self.path('data', f'synthetic-{task}')
        if not os.path.isdir(root):  # written atomically: present = whole
            if task == 'det':
                from mmebv.synthetic.detection import make_coco_shapes
                make_coco_shapes(root, num_train=32, num_val=8,
                                 seed=self.args.seed)
            else:
                from mmebv.synthetic.segmentation import make_ade20k_shapes
                make_ade20k_shapes(root, num_train=32, num_val=8,
                                   seed=self.args.seed)
        options = {f'{split}_dataloader.dataset.data_root': root + os.sep
                   for split in ('train', 'val', 'test')}
        if task == 'det':
            ann_file = os.path.join(root, 'annotations',
                                    'instances_val2017.json')
            options.update({'val_evaluator.ann_file': ann_file,
                            'test_evaluator.ann_file': ann_file})
        return options

    def plot_curves(self) -> dict:
        from mmebv.analysis.logs import (read_scalars, scalar_curve,
                                         training_loss_by_epoch)
        from mmebv.analysis.plots import plot_training_curves

        curves = {'training loss': {}, 'test top-1 (%)': {}}
        for head in CLS_CONFIGS:
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
            title='Transfer of the EBV backbone (synthetic shapes)')
        return dict(training_curves=path, transfer_curves=dense_path)

    def summarise(self) -> None:
        table = results_markdown(self.results, self.settings)
        atomic_write_text(self.path('results.md'), table)
        atomic_write_json(self.path('results.json'), dict(
            settings=self.settings, stages=self.results))
        print('\n' + table)
        print(f'Results: {self.path("results.md")}, '
              f'{self.path("results.json")}; plots in {self.analysis_dir}')

    def run(self) -> None:
        self.check_settings()
        self.stage('data', 'Long-tailed digits', self.make_data)
        self.stage('ebvs', 'EBV generation', self.make_ebvs)
        for head in CLS_CONFIGS:
            self.stage(f'cls_{head.lower()}', f'Classification, {head} head',
                       lambda head=head: self.train_classifier(head))
        self.stage('evaluation', 'Evaluation and CKA',
                   self.evaluate_classifiers)
        self.stage('backbone', 'EBV backbone conversion',
                   self.convert_backbone)
        self.stage('det', 'Transfer: Mask R-CNN with EBV heads',
                   lambda: self.transfer('det'))
        self.stage('seg', 'Transfer: UperNet with EBV heads',
                   lambda: self.transfer('seg'))
        self.stage('plots', 'Plots', self.plot_curves)
        self.summarise()


def _mean(values: List[float]) -> float:
    return sum(values) / len(values)


def check_backbone_loaded(model, checkpoint: str) -> dict:
    """Compare the initialised backbone with the converted checkpoint;
    raise unless every backbone tensor equals the checkpoint's."""
    import torch

    saved = torch.load(checkpoint, map_location='cpu',
                       weights_only=True)['state_dict']
    saved = {k[len('backbone.'):]: v for k, v in saved.items()}
    state = model.backbone.state_dict()
    differing = sorted(
        k for k in set(state) | set(saved)
        if k not in state or k not in saved
        or not torch.equal(state[k], saved[k]))
    if differing:
        raise RuntimeError(
            f'{len(differing)} backbone tensors are missing or differ from '
            f'{checkpoint} (e.g. {differing[:3]}): the weights did not load. '
            f"Check the backbone's init_cfg (type='Pretrained', "
            f"prefix='backbone.') and that its architecture matches the "
            f'classifier.')
    return dict(matched=len(state), total=len(state))


def results_markdown(results: Dict[str, dict], settings: dict) -> str:
    """The demo's results as a markdown report."""
    scores = results['evaluation']['scores']
    data, ebvs = results['data'], results['ebvs']
    lines = [
        '# mmebv demo results', '',
        f'Long-tailed digits: imbalance ratio {settings["imbalance_ratio"]:g}'
        f', {sum(data["train_counts"])} training images '
        f'({data["train_counts"][0]} -> {data["train_counts"][-1]} per '
        f'class), {sum(data["test_counts"])} balanced test images; tail = '
        f'classes {data["tail_classes"]}. Half-width ResNet-18, '
        f'{settings["epochs"]} epochs, seed {settings["seed"]}.', '',
        f'EBVs: {ebvs["num_vectors"]} x {ebvs["dim"]}, max |cos| '
        f'{ebvs["max_abs_cos"]:.4g} (lower bound {ebvs["bound"]:.4g}), '
        f'pairwise angles {ebvs["min_angle_deg"]:.2f}..'
        f'{ebvs["max_angle_deg"]:.2f} deg.', '',
        '| head | top-1 (%) | head classes top-1 (%) | tail top-1 (%) | '
        'train time (s) |', '|---|---|---|---|---|'
    ]
    for head, score in scores.items():
        seconds = results[f'cls_{head.lower()}']['seconds']
        lines.append(f'| {head} | {score["top1"]:.2f} | '
                     f'{score["head_top1"]:.2f} | {score["tail_top1"]:.2f} '
                     f'| {seconds:.0f} |')
    lines += ['', '| transfer (EBV backbone) | iterations | backbone tensors '
              'loaded | loss first -> last | metrics | time (s) |',
              '|---|---|---|---|---|---|']
    for task, label, iters in (('det', 'Mask R-CNN, EBV box/mask heads',
                                settings['det_iters']),
                               ('seg', 'UperNet, EBV decode heads',
                                settings['seg_iters'])):
        run = results[task]
        check = run['backbone_check']
        metrics = ', '.join(f'{k} {v:.4g}' if isinstance(v, float) else
                            f'{k} {v}' for k, v in run['metrics'].items())
        loss = (f'{run["first_loss"]:.3f} -> {run["last_loss"]:.3f}'
                if run['first_loss'] is not None else 'n/a')
        lines.append(f'| {label} | {iters} | {check["matched"]}/'
                     f'{check["total"]} | {loss} | '
                     f'{metrics or "none (nothing detected yet)"} | '
                     f'{run["seconds"]:.0f} |')
    diagonal = results['evaluation']['cka_fc_vs_ebv_diagonal']
    total = sum(stage.get('seconds', 0) for stage in results.values())
    lines += ['', 'CKA FC vs EBV, same block: '
              + ', '.join(f'{v:.2f}' for v in diagonal), '',
              f'Time of all stages: {total / 60:.1f} min.', '',
              'Plots: analysis/training_curves.png, '
              'analysis/transfer_curves.png, analysis/ebv_angles.png, '
              'analysis/cka.png', '']
    return '\n'.join(lines)


def main(argv=None) -> None:
    Demo(parse_args(argv)).run()


if __name__ == '__main__':
    main()
