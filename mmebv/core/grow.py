"""Growing a trained classifier by new classes, old outputs untouched.

Two pieces, both pure PyTorch:

* :func:`grow_ebvs` adds EBVs for new classes, keeping the old rows
  bit-identical: a Kerdock set grows along its own construction (exact, at
  the old max |cos|) while its capacity lasts; any other set grows by
  :func:`~.generate.extend_ebvs` (new rows optimised against all rows).
* :func:`old_row_positions` and :func:`place_rows` put a trained layer's old
  output rows into a larger, freshly initialised one, whatever the layout:
  one row per class, background last (mmdet box classifiers), or several
  rows per class (class-specific box regression).
"""
from typing import Optional

import torch
from torch import Tensor

from .bounds import lower_bound, max_abs_cos
from .generate import TARGET_SLACK, extend_ebvs, generate_ebvs


class EBVGrowthError(ValueError):
    """An EBV set cannot grow as asked (size or quality)."""


def kerdock_continuation(ebvs: Tensor, num_vectors: int) -> Optional[Tensor]:
    """The first ``num_vectors`` rows of the Kerdock set whose first rows
    are ``ebvs`` (bit for bit), or None when ``ebvs`` is not such a prefix
    or the set cannot hold ``num_vectors`` rows in ``ebvs``' dimension."""
    old_n, dim = ebvs.shape
    try:
        grown = generate_ebvs(num_vectors, dim, method='kerdock',
                              progress=False)
    except ValueError:  # no 4^k <= d, or beyond the Kerdock capacity
        return None
    return grown if torch.equal(grown[:old_n], ebvs.float()) else None


def grow_ebvs(ebvs: Tensor,
              num_vectors: int,
              *,
              alpha: Optional[float] = None,
              seed: int = 0,
              progress: bool = False) -> Tensor:
    """``ebvs`` (N0, d) followed by ``num_vectors - N0`` new rows.

    Args:
        ebvs: The trained classes' EBVs, kept bit-identical as rows 0..N0-1.
        num_vectors: Total number of rows, > N0.
        alpha: Required max |cos| of the grown set (None: as low as the
            generator gets). Raises :class:`EBVGrowthError` when it is below
            the lower bound for (num_vectors, d) or is not reached.
        seed: Seed of the new rows' random start.
        progress: Show the optimiser's progress bar.

    Returns:
        The (num_vectors, d) float32 set, rows ``[:N0]`` equal to ``ebvs``.

    Raises:
        EBVGrowthError: ``num_vectors`` is not larger than N0, or ``alpha``
            is below the lower bound or not reached.
    """
    old_n, dim = ebvs.shape
    if num_vectors <= old_n:
        raise EBVGrowthError(
            f'Growing {old_n} EBVs needs more rows than {old_n}, got '
            f'num_vectors={num_vectors}.')
    bound = lower_bound(num_vectors, dim)
    if alpha is not None and alpha < bound - TARGET_SLACK:
        raise EBVGrowthError(
            f'{num_vectors} EBVs in {dim} dimensions cannot reach max |cos| '
            f'<= {alpha}: the lower bound is {bound:.4g}. Allow a larger max '
            f'|cos|, add fewer classes, or train a model with a larger '
            f'ebv_dim.')
    ebvs = ebvs.detach().to('cpu', torch.float32)
    grown = kerdock_continuation(ebvs, num_vectors)
    if grown is None:
        target = None if alpha is None else max(alpha, bound)
        grown = extend_ebvs(ebvs, num_vectors, alpha=target, seed=seed,
                            progress=progress)
    mu = max_abs_cos(grown)
    if alpha is not None and mu > alpha + TARGET_SLACK:
        raise EBVGrowthError(
            f'Growing {old_n} EBVs to {num_vectors} in {dim} dimensions '
            f'reached max |cos| {mu:.4g}, above the required {alpha} (lower '
            f'bound {bound:.4g}; the old rows alone: '
            f'{max_abs_cos(ebvs) if old_n > 1 else 0.0:.4g}). Allow a larger '
            f'max |cos|, add fewer classes, or train a model with a larger '
            f'ebv_dim.')
    return grown


def old_row_positions(num_classes: int,
                      num_new: int,
                      rows_per_class: int = 1,
                      background_last: bool = False) -> Tensor:
    """Where each row of a layer with ``num_classes`` classes goes in the
    layer grown by ``num_new`` classes (new classes follow the old ones).

    ``rows_per_class``: output rows of each class (4 for class-specific box
    regression). ``background_last``: one more row after all classes, which
    stays last (mmdet's box classifiers).
    """
    positions = torch.arange(num_classes * rows_per_class)
    if background_last:
        positions = torch.cat([
            positions,
            torch.tensor([(num_classes + num_new) * rows_per_class])])
    return positions


def place_rows(old: Tensor, fresh: Tensor, positions: Tensor) -> Tensor:
    """``fresh`` (the grown layer's initial tensor) with ``old``'s rows
    written at ``positions``; the other rows keep their initial values."""
    if old.shape[1:] != fresh.shape[1:] or len(positions) != len(old):
        raise ValueError(
            f'Cannot place rows of shape {tuple(old.shape)} into '
            f'{tuple(fresh.shape)} at {len(positions)} positions.')
    grown = fresh.detach().clone()
    grown[positions] = old.detach().to(grown.dtype)
    return grown
