"""Figures of the demo and the benchmarks: training curves, metric bars,
predicted boxes / masks on digit scenes (matplotlib, Agg; saved
atomically by :func:`mmebv.analysis.plots.save_figure`)."""
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from mmebv.analysis.plots import plt, save_figure

from .digit_scenes import SEG_PALETTE
from .reporting import mean_and_std


def plot_training_curves(curves: Dict[str, Dict[str, Sequence[Tuple[float,
                                                                   float]]]],
                         path: str,
                         xlabel: str = 'epoch',
                         title: Optional[str] = None) -> None:
    """One panel per metric, one line per run.

    Args:
        curves: ``curves[metric][run] = [(x, y), ...]``.
        path: The PNG to write.
        xlabel: Label of the x axis.
        title: Title over all panels.
    """
    metrics = [m for m in curves if any(curves[m].values())]
    if not metrics:
        raise ValueError('No curve has any point to plot.')
    fig, axes = plt.subplots(1, len(metrics),
                             figsize=(4.8 * len(metrics), 4.0),
                             squeeze=False, layout='constrained')
    for ax, metric in zip(axes[0], metrics):
        for run, points in curves[metric].items():
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker='o' if len(xs) < 30 else None,
                        markersize=3, label=run)
        ax.set_title(metric)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    save_figure(fig, path)


def plot_metric_bars(table: Dict[str, Dict[str, List[float]]],
                     path: str) -> None:
    """One panel per metric: a bar per cell at the mean over seeds, error
    bar ± one standard deviation, a dot per seed.
    ``table[metric][cell] = [value per seed]``."""
    fig, axes = plt.subplots(1, len(table), figsize=(4.2 * len(table), 3.8),
                             squeeze=False, layout='constrained')
    for ax, (metric, cells) in zip(axes[0], table.items()):
        names = list(cells)
        means, stds = zip(*(mean_and_std(cells[n]) for n in names))
        colours = ['#7f7f7f' if n.endswith('/FC') else '#1f77b4'
                   for n in names]
        ax.bar(range(len(names)), means, yerr=stds, capsize=5,
               color=colours, alpha=0.8)
        for i, name in enumerate(names):
            values = cells[name]
            ax.scatter([i] * len(values), values, color='k', s=10, zorder=3)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names)
        ax.set_xlabel('backbone / heads')
        ax.set_title(metric)
        ax.set_ylim(0, max(100.0, max(max(v) for v in cells.values())))
        ax.grid(axis='y', alpha=0.3)
    fig.suptitle('Held-out scenes: mean ± std over seeds (dots: seeds)')
    save_figure(fig, path)


def _val_images(scenes: str, count: int) -> Tuple[List[str], dict]:
    with open(os.path.join(scenes, 'annotations',
                           'instances_val.json')) as f:
        coco = json.load(f)
    names = [image['file_name'] for image in coco['images'][:count]]
    return [os.path.join(scenes, 'images', 'val', n) for n in names], coco


def _colour(label: int) -> np.ndarray:
    return np.asarray(SEG_PALETTE[label + 1], dtype=np.float32)


def _draw_instances(ax, image: np.ndarray, boxes: Sequence, labels: Sequence,
                    masks: Sequence[np.ndarray]) -> None:
    shown = image.astype(np.float32)
    for label, mask in zip(labels, masks):
        shown[mask] = 0.45 * shown[mask] + 0.55 * _colour(label)
    ax.imshow(shown.clip(0, 255).astype(np.uint8))
    for (x0, y0, x1, y1), label in zip(boxes, labels):
        colour = _colour(label) / 255
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False,
                                   edgecolor=colour, linewidth=1.5))
        ax.text(x0, y0 - 1, str(label), color='white', fontsize=7,
                bbox=dict(facecolor=colour, pad=0.5, linewidth=0))


def _draw_semantic(ax, image: np.ndarray, label_map: np.ndarray) -> None:
    palette = np.asarray(SEG_PALETTE, dtype=np.float32)
    shown = image.astype(np.float32)
    ink = label_map > 0
    shown[ink] = 0.3 * shown[ink] + 0.7 * palette[label_map[ink]]
    ax.imshow(shown.clip(0, 255).astype(np.uint8))


def plot_predictions(runs: Dict[str, Tuple[dict, dict]], scenes: str,
                     path: str, count: int = 4,
                     score_thr: float = 0.5) -> None:
    """Ground truth and, per run, the Mask R-CNN's boxes and masks (score
    >= ``score_thr``) and the UperNet's label map on ``count`` val scenes.

    ``runs[name] = (det_result, seg_result)``, each a stage result with
    ``config`` and ``checkpoint``.
    """
    import mmebv  # noqa: F401  (registers the EBV heads)
    from mmdet.apis import inference_detector, init_detector
    from mmengine.registry import DefaultScope
    from mmseg.apis import inference_model, init_model
    from pycocotools import mask as mask_utils

    files, coco = _val_images(scenes, count)
    images = [np.asarray(Image.open(f).convert('RGB')) for f in files]
    rows = 1 + 2 * len(runs)
    fig, axes = plt.subplots(rows, count, figsize=(2.3 * count, 2.4 * rows),
                             squeeze=False, layout='constrained')
    for col, image in enumerate(images):
        image_id = coco['images'][col]['id']
        anns = [a for a in coco['annotations'] if a['image_id'] == image_id]
        _draw_instances(
            axes[0, col], image,
            [(x, y, x + w, y + h) for x, y, w, h in (a['bbox'] for a in anns)],
            [a['category_id'] - 1 for a in anns],
            [mask_utils.decode(a['segmentation']).astype(bool) for a in anns])
    axes[0, 0].set_ylabel('ground truth', fontsize=9)
    for index, (name, (det, seg)) in enumerate(runs.items()):
        with DefaultScope.overwrite_default_scope('mmdet'):
            detector = init_detector(det['config'], det['checkpoint'],
                                     device='cpu')
            found = [inference_detector(detector, f).pred_instances
                     for f in files]
        with DefaultScope.overwrite_default_scope('mmseg'):
            segmentor = init_model(seg['config'], seg['checkpoint'],
                                   device='cpu')
            label_maps = [inference_model(segmentor, f).pred_sem_seg.data[0]
                          for f in files]
        for col, (instances, label_map) in enumerate(zip(found, label_maps)):
            keep = instances.scores >= score_thr
            _draw_instances(axes[1 + 2 * index, col], images[col],
                            instances.bboxes[keep].tolist(),
                            instances.labels[keep].tolist(),
                            list(instances.masks[keep].numpy().astype(bool)))
            _draw_semantic(axes[2 + 2 * index, col], images[col],
                           label_map.numpy().astype(np.int64))
        axes[1 + 2 * index, 0].set_ylabel(f'{name}\nMask R-CNN', fontsize=8)
        axes[2 + 2 * index, 0].set_ylabel(f'{name}\nUperNet', fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f'Held-out val scenes (boxes / masks with score >= '
                 f'{score_thr:g})')
    save_figure(fig, path)
