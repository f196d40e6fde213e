"""Relocation moves: the rows that carry the max |cos| moved into holes.

Restarts and polishing leave a small (N, d) in the basin its start fell
into. A relocation move leaves it differently from a random perturbation:
it drops the few rows that sit in the most near-max pairs, places each
again in the deepest hole of the rows kept (:func:`.optimize.deepen_holes`)
and re-optimises all rows from a high exponent, so the rest of the layout
is kept. In a scratch run on 17 small cases 0.11-0.32% above the best known
packing (Cohn's table), 9 moves came within 0.1% of it in 5 (18 lines in
R^6, 21 in R^16: 1.0015 -> 1.0000), 10 random perturbations of the same sets
(basin hopping) in 1 (``docs/en/user_guides/generating_ebvs.md``).
"""
from typing import Callable, Tuple

import torch
from torch import Tensor

from .optimize import (deepen_holes, minimize_coherence_lbfgs,
                       polish_coherence)

#: A pair is near-max when its |cos| is within this fraction of the max.
NEAR_MAX = 1e-3
#: Random unit vectors moved into holes for each relocated row, and the
#: steps of :func:`.optimize.deepen_holes` at each of its exponents.
HOLE_CANDIDATES, HOLE_STEPS = 64, 50
#: Exponent from which all rows are re-optimised after a move: high
#: enough that the rows kept stay near where they were.
MOVE_P_START = 64.0
#: Moves relocate 1, 2, ..., MAX_MOVED rows, in turn.
MAX_MOVED = 3
#: A move is kept when it lowers the max |cos| by more than this fraction
#: (not for float rounding of an exact construction).
MIN_GAIN = 1e-6
#: A re-optimised move whose every row has |cos| above 1 - SAME_LAYOUT with
#: a row of the best set of its own is back in the best set's layout.
SAME_LAYOUT = 1e-3
#: A quick move is polished only when, re-optimised, its max |cos| is
#: within this fraction of the best set's (of 94 quick moves polished in a
#: scratch run on 37 small cases, the 5 kept were within 6e-4 before their
#: polish, 40 others above 1e-3).
POLISH_GAP = 1e-3


def rows_in_near_max_pairs(x: Tensor, count: int,
                           generator: torch.Generator) -> Tensor:
    """Indices of the ``count`` rows of the unit rows ``x`` in the most
    pairs whose |cos| is within :data:`NEAR_MAX` of the max (ties broken
    at random from ``generator``)."""
    cos = (x @ x.t()).abs()
    cos.fill_diagonal_(0.0)
    near = (cos >= cos.max() * (1 - NEAR_MAX)).sum(1).double()
    ties = torch.rand(len(x), generator=generator, dtype=torch.float64)
    return (near + 0.5 * ties).topk(count).indices


def relocate_rows(x: Tensor, count: int,
                  generator: torch.Generator) -> Tensor:
    """``x`` (N, d unit rows) with the ``count`` rows of
    :func:`rows_in_near_max_pairs` dropped and as many rows appended, each
    the deepest of :data:`HOLE_CANDIDATES` holes of the rows before it."""
    dropped = rows_in_near_max_pairs(x, count, generator)
    kept = torch.ones(len(x), dtype=torch.bool)
    kept[dropped] = False
    rows = x[kept]
    for _ in range(count):
        candidates = torch.nn.functional.normalize(torch.randn(
            HOLE_CANDIDATES, x.shape[1], generator=generator,
            dtype=torch.float64).to(x), dim=1)
        holes, depths = deepen_holes(rows, candidates, HOLE_STEPS)
        rows = torch.cat([rows, holes[int(depths.argmin())][None]])
    return rows


def same_layout(x: Tensor, y: Tensor) -> bool:
    """Whether each row of ``x`` has |cos| above 1 - :data:`SAME_LAYOUT`
    with a row of ``y`` of its own (unit rows, same shape)."""
    nearest = (x @ y.t()).abs().max(1)
    return bool((nearest.values > 1 - SAME_LAYOUT).all()
                and len(nearest.indices.unique()) == len(x))


def relocation_search(x: Tensor, mu: float, moves: int,
                      generator: torch.Generator,
                      stop: Callable[[float], bool] = lambda mu: False,
                      quick_moves: int = 0) -> Tuple[Tensor, float]:
    """``moves`` relocation moves from ``x`` (its max |cos| ``mu``), then
    ``quick_moves`` more: each relocates 1, 2, ..., :data:`MAX_MOVED` rows
    of the best set so far (:func:`relocate_rows`), re-optimises all rows
    from p = :data:`MOVE_P_START` and polishes them
    (:func:`.optimize.polish_coherence`), except that a quick move back in
    the best set's layout (:func:`same_layout`) or more than
    :data:`POLISH_GAP` above its max |cos| is not polished (most of a
    move's time). A move is kept when it lowers the max |cos| by more than
    :data:`MIN_GAIN`. Stops before a move when ``stop(best max |cos|)``
    holds (target reached, out of time). Returns ``(rows, max_abs_cos)`` in
    ``x``'s dtype and device, never worse than ``(x, mu)``."""
    best, best_mu = x, mu
    for move in range(moves + quick_moves):
        if stop(best_mu):
            break
        reference = best.double()
        moved = relocate_rows(reference, 1 + move % MAX_MOVED, generator)
        moved, moved_mu = minimize_coherence_lbfgs(moved,
                                                   p_start=MOVE_P_START)
        if move >= moves and (moved_mu > best_mu * (1 + POLISH_GAP)
                              or same_layout(moved, reference)):
            continue
        moved, moved_mu = polish_coherence(moved)
        if moved_mu < best_mu * (1 - MIN_GAIN):
            best, best_mu = moved.to(x), moved_mu
    return best, best_mu
