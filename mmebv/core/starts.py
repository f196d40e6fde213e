"""Starting points of the small-problem optimiser.

Small line packings have many local minima, and which kind of start reaches
the best one differs from (N, d) to (N, d) (measured on the sweep of the
line-packing benchmark): random starts alone miss structured optima, and
replacing two thirds of them by structured starts lost as many cases as it
won. Small problems therefore run all their random starts, then cycle
through the structured kinds of :func:`structured_starts`, then through the
orbit starts of :func:`orbit_starts`, every one built by a rule that holds
for any (N, d):

- ``projection``: alternating projection (Tropp, Dhillon, Heath and
  Strohmer, *Designing structured tight frames via an alternating
  projection method*, IEEE Trans. Inf. Theory 51, 2005): clip the Gram
  matrix to |g_ij| <= mu, then project onto the Gram matrices of tight
  frames of rank d, with mu falling from above to below the incumbent's
  max |cos|. It lands near equiangular and tight structures: 32 lines in
  R^8 reach the best known 1/3 from it, 1.05 times that from random starts.
- ``drop_row``: the optimum of N + 1 rows less the row whose removal
  leaves the smallest smooth max of |cos| (19 lines in R^5: 1.0001 times the
  best known, 1.03 from random starts).
- ``complement``: for d < N < 2d, the Naimark complement of an optimised
  (N, N - d) set: the rows of an orthonormal basis of the orthogonal
  complement of its column space (N x d), normalised. Complements of tight
  frames keep equiangularity; 23 lines in R^16 reach 1.0003 times the best
  known from it.
- ``orbit``: the orbit of ceil(N / s) rows under a random rotation R with
  R^s = I (s in :data:`ORBIT_SIZES`), optimised with the symmetry kept,
  less the extra rows of the last orbit. Many best known packings have
  large symmetry groups (the Kerdock and projective-plane sets of
  :mod:`.constructions` among them); a cyclic group is the simplest
  symmetry to impose. They run after the other kinds, so that those stay
  the starts they were before orbit starts. 29 lines in R^9 reach 1.0008
  times the best known from them, 1.026 from the starts before.
- ``slow``: Gaussian rows optimised with a slower continuation
  (:func:`.optimize.minimize_coherence_slowly`), a candidate of their own
  after all the others, since each costs about five other starts. From
  the same rows they end in lower minima: the line-packing sweep's median
  for d = 14 to 16 went from 1.0056-1.0070 to 1.0036-1.0042 with 8 of them.

Each start says from which exponent :func:`.optimize.minimize_coherence_lbfgs`
should polish it: a low one would undo its structure.
"""
import math
from dataclasses import dataclass
from typing import Callable, List

import torch
from torch import Tensor

from .optimize import (LBFGS_P, minimize_coherence_lbfgs,
                       minimize_orbit_coherence)

#: Alternating projection: iterations, and mu from PROJECTION_HIGH to
#: PROJECTION_LOW times the incumbent's max |cos| (geometrically).
PROJECTION_ITERATIONS = 2000
PROJECTION_HIGH, PROJECTION_LOW = 1.1, 0.95
#: Exponents from which structured starts are polished.
PROJECTION_P_START, DROP_P_START = 16.0, 64.0
#: Orbit starts: orbit sizes s, and the exponent they are polished from.
ORBIT_SIZES, ORBIT_P_START = (3, 5), 64.0


@dataclass
class Start:
    """Rows to optimise and the exponent to start polishing them from;
    ``slow`` ones are optimised with
    :func:`.optimize.minimize_coherence_slowly` instead."""
    x: Tensor
    p_start: float = LBFGS_P[0]
    slow: bool = False


#: A start maker: incumbent max |cos| (inf before the first run) -> Start.
StartMaker = Callable[[float], Start]


def gaussian_rows(num: int, dim: int, generator: torch.Generator) -> Tensor:
    """Normalised Gaussian rows (float32, drawn on CPU)."""
    return torch.nn.functional.normalize(
        torch.randn(num, dim, generator=generator), dim=1)


def random_start(num: int, dim: int,
                 generator: torch.Generator) -> StartMaker:
    """Gaussian unit rows."""
    return lambda incumbent: Start(gaussian_rows(num, dim, generator))


def slow_start(num: int, dim: int,
               generator: torch.Generator) -> StartMaker:
    """Gaussian unit rows, optimised slowly."""
    return lambda incumbent: Start(gaussian_rows(num, dim, generator),
                                   slow=True)


def tight_projection(x: Tensor, mu_high: float, mu_low: float,
                     iterations: int = PROJECTION_ITERATIONS) -> Tensor:
    """Alternating projection of the unit rows of ``x`` (N, d), float64.

    Each iteration clips the off-diagonal Gram entries to [-mu, mu] (unit
    diagonal), then keeps the top d eigenvectors, scaled by sqrt(N / d)
    into a tight frame whose rows have unit squared norm on average; mu goes
    geometrically from ``mu_high`` to ``mu_low``. Returns the (N, d) rows
    (not normalised).
    """
    num, dim = x.shape
    gram = x @ x.t()
    scale = math.sqrt(num / dim)
    eye = torch.eye(num, dtype=torch.bool, device=x.device)
    for step in range(iterations):
        mu = mu_high * (mu_low / mu_high)**(step / max(1, iterations - 1))
        clipped = gram.clamp(-mu, mu).masked_fill_(eye, 1.0)
        _, vectors = torch.linalg.eigh(clipped)
        x = vectors[:, -dim:] * scale
        gram = x @ x.t()
    return x


def projection_start(num: int, dim: int, reference: float,
                     generator: torch.Generator) -> StartMaker:
    """Alternating projection of Gaussian rows, with mu around the
    incumbent (``1.1 * reference`` before there is one)."""

    def make(incumbent: float) -> Start:
        level = incumbent if math.isfinite(incumbent) else 1.1 * reference
        x = tight_projection(gaussian_rows(num, dim, generator).double(),
                             PROJECTION_HIGH * level, PROJECTION_LOW * level)
        return Start(x, PROJECTION_P_START)

    return make


def without_one_row(x: Tensor, p: float = DROP_P_START) -> Tensor:
    """``x`` less the row whose removal leaves the smallest smooth max
    ``log(sum |g_ij|^p) / p`` over the remaining pairs."""
    rows = x.double()
    logs = p * torch.log((rows @ rows.t()).abs() + 1e-300)
    pairs = torch.ones_like(logs, dtype=torch.bool).triu_(1)
    left = []
    for row in range(len(x)):
        keep = pairs.clone()
        keep[row, :] = False
        keep[:, row] = False
        left.append(torch.logsumexp(logs[keep], 0))
    drop = int(torch.stack(left).argmin())
    return x[torch.arange(len(x), device=x.device) != drop]


def drop_row_start(num: int, dim: int,
                   generator: torch.Generator) -> StartMaker:
    """An optimised set of N + 1 Gaussian rows less one row."""

    def make(incumbent: float) -> Start:
        larger, _ = minimize_coherence_lbfgs(
            gaussian_rows(num + 1, dim, generator))
        return Start(without_one_row(larger), DROP_P_START)

    return make


def naimark_complement(x: Tensor) -> Tensor:
    """Unit rows of an orthonormal basis (N x (N - k)) of the orthogonal
    complement of the column space of ``x`` (N x k, rank k)."""
    basis, _ = torch.linalg.qr(x, mode='complete')
    return torch.nn.functional.normalize(basis[:, x.shape[1]:], dim=1)


def complement_start(num: int, dim: int,
                     generator: torch.Generator) -> StartMaker:
    """The Naimark complement of an optimised (N, N - d) set."""

    def make(incumbent: float) -> Start:
        small, _ = minimize_coherence_lbfgs(
            gaussian_rows(num, num - dim, generator))
        return Start(naimark_complement(small.double()), DROP_P_START)

    return make


def cyclic_rotation(dim: int, size: int,
                    generator: torch.Generator) -> Tensor:
    """A random rotation R of R^d with R^size = I (float64): in a random
    orthonormal basis it turns plane b by 2 pi m_b / size, m_b drawn from
    0..size - 1, and fixes the last axis when d is odd."""
    turns = torch.randint(0, size, (dim // 2,), generator=generator)
    angles = 2 * math.pi * turns.double() / size
    cos, sin = torch.cos(angles), torch.sin(angles)
    rotation = torch.eye(dim, dtype=torch.float64)
    even, odd = torch.arange(0, dim - 1, 2), torch.arange(1, dim, 2)
    rotation[even, even], rotation[odd, odd] = cos, cos
    rotation[even, odd], rotation[odd, even] = -sin, sin
    basis, _ = torch.linalg.qr(
        torch.randn(dim, dim, generator=generator, dtype=torch.float64))
    return basis @ rotation @ basis.t()


def orbit_start(num: int, dim: int, size: int,
                generator: torch.Generator) -> StartMaker:
    """The optimised orbit of ceil(N / size) Gaussian rows under
    :func:`cyclic_rotation` (its powers 0..size - 1), less its extra rows
    (:func:`without_one_row`, one at a time)."""

    def make(incumbent: float) -> Start:
        rotation = cyclic_rotation(dim, size, generator)
        group = [torch.eye(dim, dtype=torch.float64)]
        for _ in range(size - 1):
            group.append(rotation @ group[-1])
        seeds = gaussian_rows(-(-num // size), dim, generator)
        x = minimize_orbit_coherence(seeds, torch.stack(group))
        while len(x) > num:
            x = without_one_row(x)
        return Start(x, ORBIT_P_START)

    return make


def structured_starts(num: int, dim: int, reference: float,
                      generator: torch.Generator) -> List[StartMaker]:
    """The kinds of start other than random and orbit for (N, d), in the
    order they are cycled: projection, drop_row, and complement when
    2 <= N - d < d. ``reference``: a guess of the optimum (the lower
    bound), for the first projection before any run."""
    makers = [projection_start(num, dim, reference, generator),
              drop_row_start(num, dim, generator)]
    if 2 <= num - dim < dim:
        makers.append(complement_start(num, dim, generator))
    return makers


def orbit_starts(num: int, dim: int,
                 generator: torch.Generator) -> List[StartMaker]:
    """One orbit start of each size of :data:`ORBIT_SIZES`."""
    return [orbit_start(num, dim, size, generator) for size in ORBIT_SIZES]
