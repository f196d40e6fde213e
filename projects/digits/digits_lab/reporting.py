"""What the reports of the demo and the benchmarks share: the machine they
ran on, mean ± std over seeds, UTC times; and the demo's results page."""
import json
import os
import platform
import statistics
import time
from typing import Dict, List, Sequence, Tuple


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what
    :mod:`platform` knows, else ``'unknown CPU'``."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def machine() -> str:
    """One line for a report: CPU model, logical CPUs, OS, Python, torch."""
    import torch

    return (f'{cpu_model()}, {os.cpu_count()} logical CPUs, '
            f'{platform.system()} {platform.release()}, Python '
            f'{platform.python_version()}, torch {torch.__version__}')


def mean_and_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value).

    Args:
        values: One value or more, e.g. one per seed.

    Returns:
        ``(mean, std)``.
    """
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def mean_std(values: Sequence[float], digits: int = 1) -> str:
    """``'mean ± std'`` with ``digits`` decimals; the mean alone for a
    single value."""
    mean, std = mean_and_std(values)
    if len(values) < 2:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def replace_task_records(path: str, task: str, records: List[dict]) -> None:
    """Write ``records`` (all of ``task``) to the JSON list at ``path`` in
    place of that task's old ones, keeping every other task's, atomically:
    one file holds the scores of several benchmarks."""
    from mmebv.analysis.io import atomic_write_json

    kept = []
    if os.path.isfile(path):
        with open(path) as f:
            kept = [r for r in json.load(f) if r.get('task') != task]
    atomic_write_json(path, kept + records)


def utc(stamp: float) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM`` (UTC)."""
    return time.strftime('%Y-%m-%d %H:%M', time.gmtime(stamp))


def demo_results_markdown(results: Dict[str, dict], settings: dict) -> str:
    """The page ``tools/run_demo.py`` writes (``results.md``).

    Args:
        results: The demo's stage results by stage name.
        settings: The demo's settings (``settings.json``).

    Returns:
        The markdown text.
    """
    scores = results['evaluation']['scores']
    data, ebvs = results['data'], results['ebvs']
    lines = [
        '# mmebv demo results', '',
        f'Long-tailed real MNIST digits: imbalance ratio '
        f'{settings["imbalance_ratio"]:g}, {sum(data["train_counts"])} '
        f'training images ({data["train_counts"][0]} -> '
        f'{data["train_counts"][-1]} per class), '
        f'{sum(data["test_counts"])} balanced test images; tail = classes '
        f'{data["tail_classes"]}. Half-width ResNet-18, '
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
    det, seg = results['det'], results['seg']
    train_scenes, val_scenes = data['num_scenes']
    lines += ['', f'Transfer of the EBV backbone to {train_scenes} scenes of '
              f'held-out digits; tested on {val_scenes} val scenes made '
              f'of other digits:', '',
              '| model (EBV backbone) | iterations | backbone tensors loaded '
              '| loss first -> last | box AP | mask AP | mIoU (%) | '
              'time (s) |', '|---|---|---|---|---|---|---|---|']
    rows: List[tuple] = [
        (det, 'Mask R-CNN, EBV box/mask heads', settings['det_iters'],
         (f'{det["metrics"]["coco/bbox_mAP"] * 100:.1f}',
          f'{det["metrics"]["coco/segm_mAP"] * 100:.1f}', '-')),
        (seg, 'UperNet, EBV decode heads', settings['seg_iters'],
         ('-', '-', f'{seg["metrics"]["mIoU"]:.1f}'))]
    for run, label, iters, values in rows:
        check = run['backbone_check']
        loss = (f'{run["first_loss"]:.3f} -> {run["last_loss"]:.3f}'
                if run['first_loss'] is not None else 'n/a')
        lines.append(f'| {label} | {iters} | {check["matched"]}/'
                     f'{check["total"]} | {loss} | ' + ' | '.join(values) +
                     f' | {run["seconds"]:.0f} |')
    if det.get('nothing_detected'):
        lines += ['', 'The Mask R-CNN detected nothing yet (AP 0): train '
                  'longer (--det-iters).']
    diagonal = results['evaluation']['cka_fc_vs_ebv_diagonal']
    total = sum(stage.get('seconds', 0) for stage in results.values())
    lines += ['', 'Box / mask AP: COCO mAP (IoU 0.50:0.95) x 100; mIoU over '
              'background + 10 digits.', '',
              'CKA FC vs EBV, same block: '
              + ', '.join(f'{v:.2f}' for v in diagonal), '',
              f'Time of all stages: {total / 60:.1f} min.', '',
              'Plots: analysis/training_curves.png, '
              'analysis/transfer_curves.png, analysis/predictions.png, '
              'analysis/ebv_angles.png, analysis/cka.png', '']
    return '\n'.join(lines)
