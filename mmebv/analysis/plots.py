"""Figures of the analysis tools (matplotlib, Agg), saved atomically."""
import io
import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch import Tensor  # noqa: E402

from .angles import AngleHistogram  # noqa: E402
from .io import atomic_write_bytes  # noqa: E402


#: Bars shown per angle histogram (fine bins are merged down to about this).
DISPLAY_BINS = 80
#: Heatmaps with at most this many layers a side print their values.
MAX_ANNOTATED_LAYERS = 12


def save_figure(fig, path: str, dpi: int = 120) -> None:
    """Save ``fig`` as PNG to ``path`` atomically and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png', dpi=dpi, bbox_inches='tight')
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def _short(name: str) -> str:
    return name[len('backbone.'):] if name.startswith('backbone.') else name


@dataclass
class CKAPanel:
    """One CKA heatmap: ``matrix[i, j]`` compares ``rows[i]`` (layers of
    the model named ``row_model``) with ``cols[j]`` (of ``col_model``)."""
    title: str
    matrix: Tensor
    rows: List[str]
    cols: List[str]
    row_model: str
    col_model: str


def _set_layer_ticks(ax, names: List[str], axis: str) -> None:
    step = max(1, math.ceil(len(names) / 16))
    ticks = list(range(0, len(names), step))
    labels = [_short(names[i]) for i in ticks]
    if axis == 'x':
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, rotation=60, ha='right', fontsize=7)
    else:
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels, fontsize=7)


def plot_cka_heatmaps(panels: Sequence[CKAPanel],
                      path: str,
                      suptitle: Optional[str] = None) -> None:
    """CKA heatmaps side by side, colour scale fixed to [0, 1]; the first
    layer sits at the bottom left, as in Kornblith et al. (2019)."""
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.2 * len(panels) + 1.0, 4.8),
        squeeze=False, layout='constrained')
    image = None
    for ax, panel in zip(axes[0], panels):
        values = panel.matrix.numpy()
        image = ax.imshow(values, origin='lower', vmin=0, vmax=1,
                          cmap='magma', aspect='auto')
        if max(values.shape) <= MAX_ANNOTATED_LAYERS:
            for (row, col), value in np.ndenumerate(values):
                ax.text(col, row, f'{value:.2f}', ha='center', va='center',
                        fontsize=6,
                        color='black' if value > 0.6 else 'white')
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(f'{panel.col_model} layer')
        ax.set_ylabel(f'{panel.row_model} layer')
        _set_layer_ticks(ax, panel.cols, 'x')
        _set_layer_ticks(ax, panel.rows, 'y')
    fig.colorbar(image, ax=axes[0].tolist(), label='linear CKA')
    if suptitle:
        fig.suptitle(suptitle)
    save_figure(fig, path)


def plot_angle_histograms(histograms: Sequence[Tuple[str, AngleHistogram,
                                                     Optional[float]]],
                          path: str) -> None:
    """Side-by-side pairwise-angle histograms, one per ``(label, hist,
    bound)``; ``bound`` (a lower bound on max |cos|) is drawn as the band
    of angles [arccos(bound), 180 - arccos(bound)] no set can beat."""
    fig, axes = plt.subplots(1, len(histograms),
                             figsize=(5.5 * len(histograms), 4.8),
                             squeeze=False, layout='constrained')
    for ax, (label, hist, bound) in zip(axes[0], histograms):
        low, high = hist.occupied_range()
        if bound is not None:
            best_low = math.degrees(math.acos(min(1.0, bound)))
            low = min(low, best_low, 180 - best_low)
            high = max(high, best_low, 180 - best_low)
        margin = max(0.5, 0.05 * (high - low))
        low, high = max(0.0, low - margin), min(180.0, high + margin)
        edges = hist.edges.numpy()
        keep = (edges[:-1] >= low) & (edges[1:] <= high)
        counts = hist.counts.numpy()[keep].astype(np.float64)
        group = max(1, len(counts) // DISPLAY_BINS)
        counts = np.pad(counts, (0, -len(counts) % group))
        grouped = counts.reshape(-1, group).sum(1)
        width = (edges[1] - edges[0]) * group
        left = edges[:-1][keep][0] + width * np.arange(len(grouped))
        ax.bar(left, grouped / hist.num_pairs * 100, width=width,
               align='edge', color='tab:blue', label='pairs of vectors')
        ax.axvline(90, color='grey', linestyle=':', label='90 deg')
        if bound is not None:
            ax.axvspan(best_low, 180 - best_low, color='tab:green',
                       alpha=0.2, zorder=0,
                       label=f'narrowest range the bound allows: '
                       f'{best_low:.2f}..{180 - best_low:.2f} deg')
        ax.axvline(hist.min_deg, color='tab:red', linestyle='--',
                   label=f'observed {hist.min_deg:.2f}..'
                   f'{hist.max_deg:.2f} deg')
        ax.axvline(hist.max_deg, color='tab:red', linestyle='--')
        ax.set_xlim(low, high)
        ax.set_xlabel('angle between two vectors (degrees)')
        ax.set_ylabel('% of pairs')
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7, loc='upper center',
                  bbox_to_anchor=(0.5, -0.15), ncol=1)
    save_figure(fig, path)
