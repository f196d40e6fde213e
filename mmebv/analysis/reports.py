"""Analysis outputs: CKA heatmaps/tables and EBV angle reports on disk."""
import os
from typing import Dict, List, Optional, Sequence

from torch import Tensor

from .angles import pairwise_angle_histogram
from .io import atomic_write_csv, atomic_write_json


def cka_blocks(labels: Sequence[str], layers: Sequence[List[str]],
               matrix: Tensor) -> Dict[tuple, Tensor]:
    """Split the full layerwise CKA matrix into ``{(i, j): block}`` for the
    model pairs i <= j (block rows: layers of model i)."""
    if len(labels) != len(layers):
        raise ValueError('Give one label per layer list.')
    starts = [0]
    for names in layers:
        starts.append(starts[-1] + len(names))
    if matrix.shape != (starts[-1], starts[-1]):
        raise ValueError(f'Matrix {tuple(matrix.shape)} does not match '
                         f'{starts[-1]} layers.')
    return {(i, j): matrix[starts[i]:starts[i + 1], starts[j]:starts[j + 1]]
            for i in range(len(labels)) for j in range(i, len(labels))}


def _block_name(labels: Sequence[str], i: int, j: int) -> str:
    return labels[i] if i == j else f'{labels[i]} vs {labels[j]}'


def write_cka_outputs(out_dir: str,
                      labels: Sequence[str],
                      layers: Sequence[List[str]],
                      matrix: Tensor,
                      info: Optional[dict] = None,
                      title: Optional[str] = None) -> Dict[str, str]:
    """Write ``cka.json``, ``cka.csv`` and ``cka.png`` under ``out_dir``.

    The figure has one panel per model (its layers against themselves) and,
    for two models, a third panel comparing them (the layout of the EBV
    paper's Figure 2). Returns the written paths by kind.
    """
    from .plots import CKAPanel, plot_cka_heatmaps

    blocks = cka_blocks(labels, layers, matrix)
    paths = {kind: os.path.join(out_dir, f'cka.{kind}')
             for kind in ('json', 'csv', 'png')}
    atomic_write_json(paths['json'], dict(
        info=info or {},
        models=[dict(label=lab, layers=names)
                for lab, names in zip(labels, layers)],
        cka={_block_name(labels, i, j): block.tolist()
             for (i, j), block in blocks.items()}))
    rows = []
    for (i, j), block in blocks.items():
        for a, name_a in enumerate(layers[i]):
            for b, name_b in enumerate(layers[j]):
                rows.append((labels[i], name_a, labels[j], name_b,
                             f'{float(block[a, b]):.6f}'))
    atomic_write_csv(paths['csv'],
                     ('model_a', 'layer_a', 'model_b', 'layer_b', 'cka'),
                     rows)
    panels = [
        CKAPanel(_block_name(labels, i, j), block, layers[i], layers[j],
                 labels[i], labels[j])
        for (i, j), block in sorted(blocks.items(),
                                    key=lambda kv: kv[0][0] != kv[0][1])
    ]
    plot_cka_heatmaps(panels, paths['png'], suptitle=title)
    return paths


def write_angle_report(ebv_sets: Sequence[tuple], out_png: str,
                       bin_width_deg: float = 0.05) -> List[dict]:
    """Angle histograms of EBV sets side by side, with the coherence bound.

    ``ebv_sets`` holds ``(label, ebvs)`` pairs. Returns one dict per set
    with its coherence report fields and observed angle range.
    """
    from mmebv.core import coherence_report

    from .plots import plot_angle_histograms

    panels, summaries = [], []
    for label, ebvs in ebv_sets:
        report = coherence_report(ebvs)
        hist = pairwise_angle_histogram(ebvs, bin_width_deg=bin_width_deg)
        panels.append((f'{label}\n{report.num_vectors} vectors x '
                       f'{report.dim} dims, max |cos| '
                       f'{report.max_abs_cos:.4g} (bound {report.bound:.4g})',
                       hist, report.bound))
        summary = dict(label=label, min_angle_deg=hist.min_deg,
                       max_angle_deg=hist.max_deg)
        summary.update({k: getattr(report, k) for k in (
            'num_vectors', 'dim', 'max_abs_cos', 'max_cos', 'mean_abs_cos',
            'p999_abs_cos', 'bound', 'ratio_to_bound')})
        summaries.append(summary)
    plot_angle_histograms(panels, out_png)
    return summaries
