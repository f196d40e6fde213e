"""Lower bounds on coherence and a tiled coherence report for EBV sets."""
import math
from dataclasses import dataclass
from typing import Optional, Union

import torch
from torch import Tensor

#: Histogram bins over |cos| in [0, 1] used for the 99.9th percentile
#: (bin width 1e-5, so the percentile is exact to within 1e-5).
PERCENTILE_BINS = 100_000


def lower_bound(num_vectors: int, dim: int) -> float:
    """Largest known lower bound on max |cos| of ``num_vectors`` lines.

    For N lines in R^d: the maximum of the Welch bound and, once
    N > d(d+1)/2, the orthoplex and (real) Levenshtein bounds. Zero when
    N <= d (orthonormal rows exist).

    Args:
        num_vectors (int): N, the number of lines (EBVs).
        dim (int): d, the dimension of the space.

    Returns:
        float: The bound, in [0, 1]; no set of N unit vectors in R^d has a
        smaller max |cos| over pairs.

    Raises:
        ValueError: If ``num_vectors`` or ``dim`` is below 1.
    """
    if num_vectors < 1 or dim < 1:
        raise ValueError(f'num_vectors and dim must be positive, got '
                         f'{num_vectors} and {dim}.')
    n, d = num_vectors, dim
    if n <= d:
        return 0.0
    bound = math.sqrt((n - d) / (d * (n - 1)))
    if n > d * (d + 1) // 2:
        bound = max(bound, 1 / math.sqrt(d))
        levenshtein = (3 * n - d * d - 2 * d) / ((d + 2) * (n - d))
        if levenshtein > 0:
            bound = max(bound, math.sqrt(levenshtein))
    return min(bound, 1.0)


@dataclass
class CoherenceReport:
    """Pairwise-cosine statistics of an EBV set (over pairs i < j).

    Built by :func:`coherence_report`; ``str()`` gives a readable table.

    Args:
        num_vectors (int): N, the number of rows.
        dim (int): d, the dimension of the rows.
        max_abs_cos (float): Max |cos| over pairs (the coherence).
        max_cos (float): Max signed cos over pairs.
        mean_abs_cos (float): Mean |cos| over pairs.
        p999_abs_cos (float): 99.9th percentile of |cos| (nearest rank),
            exact to within 1e-5.
        min_angle_deg (float): Smallest angle between two of the lines, in
            degrees (the arccos of ``max_abs_cos``).
        bound (float): :func:`lower_bound` of N and d.
        ratio_to_bound (float): ``max_abs_cos / bound``; inf when the bound
            is 0 and ``max_abs_cos`` is not, 1 when both are 0.
    """
    num_vectors: int
    dim: int
    max_abs_cos: float
    max_cos: float
    mean_abs_cos: float
    p999_abs_cos: float
    min_angle_deg: float
    bound: float
    ratio_to_bound: float

    def __str__(self) -> str:
        ratio = ('inf (bound is 0)' if math.isinf(self.ratio_to_bound) else
                 f'{self.ratio_to_bound:.4f}')
        rows = [
            ('vectors x dim', f'{self.num_vectors} x {self.dim}'),
            ('max |cos|', f'{self.max_abs_cos:.6g}'),
            ('max cos', f'{self.max_cos:.6g}'),
            ('mean |cos|', f'{self.mean_abs_cos:.6g}'),
            ('99.9th pct |cos|', f'{self.p999_abs_cos:.6g}'),
            ('min angle (deg)', f'{self.min_angle_deg:.4f}'),
            ('lower bound', f'{self.bound:.6g}'),
            ('ratio to bound', ratio),
        ]
        width = max(len(name) for name, _ in rows)
        return '\n'.join(f'{name:<{width}}  {value}' for name, value in rows)


def default_block_rows(num_vectors: int,
                       budget_elements: int = 1 << 24) -> int:
    """Rows per tile so that one (rows x N) tile holds ~``budget_elements``."""
    return max(1, min(num_vectors, budget_elements // max(num_vectors, 1)))


def _drop_zero_columns(ebvs: Tensor) -> Tensor:
    """Remove all-zero columns (exact: they add nothing to any dot product)."""
    nonzero = ebvs.abs().amax(dim=0) > 0
    if bool(nonzero.all()) or not bool(nonzero.any()):
        return ebvs
    return ebvs[:, nonzero]


def lower_triangle_mask(size: int, device: torch.device) -> Tensor:
    """Boolean (size, size) mask of the diagonal and below."""
    return torch.ones(size, size, dtype=torch.bool, device=device).tril_()


@torch.no_grad()
def max_abs_cos(ebvs: Tensor, block_rows: Optional[int] = None) -> float:
    """Max |cos| over pairs of the unit rows of ``ebvs`` (tiled, i < j)."""
    num = ebvs.shape[0]
    rows = block_rows or default_block_rows(num)
    result = 0.0
    for start in range(0, num - 1, rows):
        stop = min(start + rows, num)
        gram = ebvs[start:stop] @ ebvs[start:].t()
        gram[:, :stop - start].masked_fill_(
            lower_triangle_mask(stop - start, ebvs.device), 0.0)
        result = max(result, float(gram.abs().max()))
    return result


class _PairStats:
    """Running max |cos|, max cos, sum |cos| and |cos| histogram."""

    def __init__(self, device: torch.device) -> None:
        self.max_abs = torch.zeros((), dtype=torch.float64, device=device)
        self.max_signed = torch.full((), -1.0, dtype=torch.float64,
                                     device=device)
        self.abs_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.hist = torch.zeros(PERCENTILE_BINS, dtype=torch.float64,
                                device=device)

    def add(self, values: Tensor) -> None:
        if values.numel() == 0:
            return
        abs_values = values.abs()
        self.max_abs = torch.maximum(self.max_abs, abs_values.max().double())
        self.max_signed = torch.maximum(self.max_signed,
                                        values.max().double())
        self.abs_sum += abs_values.sum(dtype=torch.float64)
        self.hist += torch.histc(abs_values.clamp_(max=1.0),
                                 bins=PERCENTILE_BINS, min=0.0,
                                 max=1.0).double()


@torch.no_grad()
def coherence_report(ebvs: Tensor,
                     device: Optional[Union[str, torch.device]] = None,
                     block_rows: Optional[int] = None) -> CoherenceReport:
    """Statistics of all pairwise cosines of the rows of ``ebvs``.

    Rows are normalised first. The work is tiled over blocks of rows against
    the rows after them (the upper triangle only), so memory stays at one
    ``block_rows x N`` tile: N = 100,000 works on CPU or CUDA (``device``).
    The 99.9th percentile of |cos| (nearest-rank definition) comes from a
    fixed histogram of :data:`PERCENTILE_BINS` bins over [0, 1]: it is the
    upper edge of the bin holding it, so it is exact to within 1e-5.

    Args:
        ebvs (Tensor): The (N, d) set, N >= 2; rows need not be unit.
        device (str or torch.device, optional): Where to compute. Defaults
            to None (the device of ``ebvs``).
        block_rows (int, optional): Rows per tile. Defaults to None (about
            2^24 cosines per tile, see :func:`default_block_rows`).

    Returns:
        CoherenceReport: The statistics, with :func:`lower_bound` of N and d
        and the ratio of max |cos| to it.

    Raises:
        ValueError: If ``ebvs`` is not 2-D or has fewer than 2 rows.
    """
    if ebvs.dim() != 2 or ebvs.shape[0] < 2:
        raise ValueError(f'Expected an (N, d) tensor with N >= 2, got shape '
                         f'{tuple(ebvs.shape)}.')
    num, dim = ebvs.shape
    device = torch.device(device) if device is not None else ebvs.device
    x = torch.nn.functional.normalize(ebvs.to(device, torch.float32), dim=1)
    x = _drop_zero_columns(x)
    rows = block_rows or default_block_rows(num)
    stats = _PairStats(device)
    for start in range(0, num - 1, rows):
        stop = min(start + rows, num)
        gram = x[start:stop] @ x[start:].t()
        square = stop - start
        stats.add(gram[:, :square][~lower_triangle_mask(square, device)])
        if stop < num:
            stats.add(gram[:, square:].reshape(-1))
    max_abs, max_signed, abs_sum, hist = (stats.max_abs, stats.max_signed,
                                          stats.abs_sum, stats.hist)
    pairs = num * (num - 1) / 2
    cumulative = hist.cumsum(0)
    p999_bin = int(torch.searchsorted(cumulative, 0.999 * pairs).item())
    p999 = min((p999_bin + 1) / PERCENTILE_BINS, float(max_abs))
    mu = float(max_abs)
    bound = lower_bound(num, dim)
    ratio = mu / bound if bound > 0 else (math.inf if mu > 0 else 1.0)
    return CoherenceReport(
        num_vectors=num,
        dim=dim,
        max_abs_cos=mu,
        max_cos=float(max_signed),
        mean_abs_cos=float(abs_sum) / pairs,
        p999_abs_cos=p999,
        min_angle_deg=math.degrees(math.acos(min(mu, 1.0))),
        bound=bound,
        ratio_to_bound=ratio)
