"""Pairwise-angle statistics of a set of vectors, tiled for any N."""
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class AngleHistogram:
    """Histogram of the N(N-1)/2 pairwise angles, in degrees.

    ``counts[i]`` counts angles in ``[edges[i], edges[i + 1])``.

    Args:
        counts (Tensor): int64 count of each bin.
        edges (Tensor): float64 bin edges over [0, 180], one more than the
            bins.
        min_deg (float): Smallest pairwise angle.
        max_deg (float): Largest pairwise angle.
        num_pairs (int): N(N-1)/2, the number of angles counted.
    """
    counts: Tensor
    edges: Tensor
    min_deg: float
    max_deg: float
    num_pairs: int

    def occupied_range(self) -> tuple:
        """(low, high) edges around the non-empty bins."""
        nonzero = torch.nonzero(self.counts).flatten()
        return (float(self.edges[nonzero[0]]),
                float(self.edges[nonzero[-1] + 1]))


def pairwise_angle_histogram(vectors: Tensor,
                             bin_width_deg: float = 0.05,
                             max_tile_elements: int = 1 << 24
                             ) -> AngleHistogram:
    """Histogram of the angles between all pairs of rows of ``vectors``.

    Rows are L2-normalised first. Cosines are computed a tile of rows at a
    time against all later rows, at most ``max_tile_elements`` cosines per
    tile, so memory stays bounded for any N.

    Args:
        vectors (Tensor): (N, d) tensor, N >= 2.
        bin_width_deg (float): Histogram bin width over [0, 180] degrees.
            Defaults to 0.05.
        max_tile_elements (int): Cosines computed at once. Defaults to
            2^24.

    Returns:
        AngleHistogram: The histogram, the smallest and largest angle.

    Raises:
        ValueError: If ``vectors`` is not 2-D with at least 2 rows, a row
            is zero, or ``bin_width_deg`` is not in (0, 180].
    """
    if vectors.dim() != 2 or vectors.shape[0] < 2:
        raise ValueError(f'Expected an (N, d) tensor with N >= 2, got '
                         f'{tuple(vectors.shape)}.')
    if not 0 < bin_width_deg <= 180:
        raise ValueError(f'bin_width_deg must be in (0, 180], got '
                         f'{bin_width_deg}.')
    x = vectors.detach().double()
    norms = x.norm(dim=1, keepdim=True)
    if (norms == 0).any():
        raise ValueError('Some vectors are zero; angles are undefined.')
    x = x / norms
    num_bins = int(round(180 / bin_width_deg))
    counts = torch.zeros(num_bins, dtype=torch.int64)
    low, high = 180.0, 0.0
    n = x.shape[0]
    tile_rows = max(1, max_tile_elements // n)
    for start in range(0, n - 1, tile_rows):
        stop = min(start + tile_rows, n)
        cos = (x[start:stop] @ x[start + 1:].t()).clamp_(-1, 1)
        # Keep column j (vector start + 1 + j) for row i only when j >= i.
        rows = torch.arange(stop - start).unsqueeze(1)
        cols = torch.arange(cos.shape[1]).unsqueeze(0)
        angles = torch.rad2deg(torch.arccos(cos[cols >= rows]))
        low = min(low, float(angles.min()))
        high = max(high, float(angles.max()))
        index = (angles / 180 * num_bins).long().clamp_(0, num_bins - 1)
        counts += torch.bincount(index, minlength=num_bins)
    edges = torch.linspace(0, 180, num_bins + 1, dtype=torch.float64)
    return AngleHistogram(counts, edges, low, high, n * (n - 1) // 2)
