"""Minimising the coherence (max |cos|) of a set of unit vectors.

The max is smoothed by a p-norm of the pairwise |cos|, scaled by a reference
value so that no power overflows, and ``p`` is raised whenever the smoothed
objective stalls (p-continuation), so that the weight concentrates on the
worst pairs. Each step moves every row along its Riemannian gradient on the
unit sphere (the Euclidean gradient minus its radial part) and re-normalises;
the step length adapts by accepting a step only when the smoothed objective
does not grow. The best set seen is kept. Everything is tiled over blocks of
rows, so no N x N matrix is ever held.

Small sets (up to ~10^4 pairs) use :func:`minimize_coherence_lbfgs`
instead: L-BFGS in float64 on the same smoothed max, p-continuation from a
small ``p``. From random starts it lands in better local minima than the
first-order steps (measured on N <= 26, d <= 13: e.g. 1.010 against 1.035
times the best known for N = 11, d = 5) and converges tightly. The same
smoothed max moves new rows into holes of a set (:func:`deepen_holes`),
squeezes a set out of one direction (:func:`squeeze_out`) and optimises
the orbit of some rows under a group with its symmetry kept
(:func:`minimize_orbit_coherence`).
"""
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor
from tqdm import tqdm

from .bounds import lower_triangle_mask, default_block_rows

#: Largest exponent used in the p-norm weights (exp(80) fits in float32).
MAX_LOG_WEIGHT = 80.0
#: Pairs weighing less than exp(-WEIGHT_RANGE) of the reference are dropped.
WEIGHT_RANGE = 30.0
#: From this p on, only pairs within WEIGHT_RANGE are kept (sparse products).
SPARSE_MIN_P = 64.0
#: Up to this many vectors, every pass is dense (sparse products cost more).
DENSE_MAX_N = 512
#: A tile is sparse only when at most this fraction of its pairs is kept:
#: near the optimum most pairs sit close to the max (60-90% within the
#: cutoff for N = 1000, d = 500), and a dense pass was then 2x faster.
SPARSE_MAX_DENSITY = 0.1
#: Larger sets are tiled into at least this many blocks of rows per pass.
TILES = 8
#: ``p`` reaches ``p_max`` on schedule after this fraction of ``max_steps``.
SCHEDULE_FRACTION = 0.8
#: Exponents of the L-BFGS continuation for small sets, and the most
#: iterations at each.
LBFGS_P = (4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0)
LBFGS_ITERATIONS = 60
#: Exponents and iterations per exponent of :func:`polish_coherence`: at
#: p = 4096 the smooth max still spreads its weight over the near-max pairs
#: (a result up to 0.3% above its basin's minimax); at the minimum of the
#: smooth max at p = 2^20 the max is within a factor P^(1/p) (P pairs) of
#: the basin's minimax: under 1 + 1e-5 for P < 30,000.
POLISH_P = (4096.0, 16384.0, 65536.0, 262144.0, 1048576.0)
POLISH_ITERATIONS = 500
#: The slow continuation of :func:`minimize_coherence_slowly`: exponents
#: doubling from 2, up to SLOW_ITERATIONS L-BFGS iterations each.
SLOW_P = tuple(2.0**k for k in range(1, 13))
SLOW_ITERATIONS = 150
#: Steps of :func:`deepen_holes` at each exponent of :data:`LBFGS_P`.
HOLE_ITERATIONS = 100
#: :func:`squeeze_out`: stages of the homotopy, its exponents (p and 4p at
#: each stage) and L-BFGS iterations per exponent.
SQUEEZE_STAGES, SQUEEZE_P, SQUEEZE_ITERATIONS = 30, 80.0, 100


@dataclass
class PassResult:
    """One tiled pass over all pairs: max |cos| and the smoothed objective."""
    max_abs_cos: float
    log_objective: float
    direction: Optional[Tensor]


def _sparse(rows: Tensor, cols: Tensor, values: Tensor,
            shape: tuple) -> Tensor:
    """A coalesced sparse COO matrix of the given entries."""
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), values, shape,
                                   check_invariants=False).coalesce()


def pass_block_rows(num: int) -> int:
    """Rows per tile: one tile for small sets, else at most N / 8.

    Only the upper triangle is computed, so smaller tiles skip more of the
    Gram matrix: with N / 8 rows per tile a pass computes 56% of it.
    """
    rows = default_block_rows(num)
    return rows if num <= DENSE_MAX_N else min(rows, -(-num // TILES))


@torch.no_grad()
def coherence_pass(x: Tensor, p: float, reference: float, num_fixed: int = 0,
                   with_direction: bool = True,
                   block_rows: Optional[int] = None) -> PassResult:
    """Max |cos| over free pairs, log of sum (|cos|/ref)^p and its gradient.

    Pairs among the first ``num_fixed`` rows are frozen and left out. The
    direction is the Riemannian gradient of sum_{i<j} (|g_ij|/ref)^p (up to a
    positive factor) with zero rows for the fixed vectors. Only the upper
    triangle is computed; pairs whose weight is below exp(-WEIGHT_RANGE) of
    the reference are dropped, and a sparse product is used when few remain
    (at most :data:`SPARSE_MAX_DENSITY` of a tile's pairs).
    """
    num = x.shape[0]
    rows = block_rows or pass_block_rows(num)
    log_ref = math.log(reference)
    cutoff = reference * math.exp(-WEIGHT_RANGE / p)
    direction = torch.zeros_like(x) if with_direction else None
    max_abs = 0.0
    log_terms = [torch.tensor(-math.inf, dtype=torch.float64,
                              device=x.device)]
    for start in range(0, num - 1, rows):
        stop = min(start + rows, num)
        gram = x[start:stop] @ x[start:].t()
        gram[:, :stop - start].masked_fill_(
            lower_triangle_mask(stop - start, x.device), 0.0)
        if start < num_fixed:
            gram[:num_fixed - start, :num_fixed - start] = 0.0
        abs_gram = gram.abs()
        max_abs = max(max_abs, float(abs_gram.max()))
        keep = None
        if p >= SPARSE_MIN_P and num > DENSE_MAX_N:
            keep = abs_gram > cutoff
            if int(keep.sum()) > SPARSE_MAX_DENSITY * keep.numel():
                keep = None  # near-equiangular sets: dense is faster
        if keep is None:
            # d/dg (|g|/ref)^p is proportional to (|g|/ref)^(p-1) sign(g)
            ratio = abs_gram.mul_(1 / reference)
            scaled = ratio.pow(p - 1)
            total = torch.dot(scaled.flatten(), ratio.flatten())
            log_terms.append(torch.log(total.double()))
            if with_direction:
                weights = scaled.copysign_(gram)
                direction[start:stop] += weights @ x[start:]
                direction[start:] += weights.t() @ x[start:stop]
            continue
        r, c = keep.nonzero(as_tuple=True)
        if r.numel() == 0:
            continue
        values = gram[r, c]
        log_w = (p * (torch.log(values.abs()) - log_ref)).clamp_(
            max=MAX_LOG_WEIGHT)
        log_terms.append(torch.logsumexp(log_w, 0).double())
        if with_direction:
            weights = torch.exp(log_w) / values * reference
            shape = (stop - start, num - start)
            direction[start:stop] += torch.sparse.mm(
                _sparse(r, c, weights, shape), x[start:])
            direction[start:] += torch.sparse.mm(
                _sparse(c, r, weights, shape[::-1]), x[start:stop])
    if with_direction:
        direction -= (direction * x).sum(1, keepdim=True) * x
        direction[:num_fixed] = 0.0
    log_objective = float(torch.logsumexp(torch.stack(log_terms), 0))
    return PassResult(max_abs, log_objective / p + log_ref, direction)


@torch.no_grad()
def minimize_coherence(x: Tensor,
                       num_fixed: int = 0,
                       target: float = 0.0,
                       max_steps: int = 1000,
                       time_limit: Optional[float] = None,
                       p_start: float = 4.0,
                       p_max: float = 4096.0,
                       step_start: float = 0.05,
                       patience: int = 60,
                       p_factor: float = 2.0,
                       momentum: float = 0.9,
                       min_gain: float = 1e-3,
                       progress: bool = False) -> tuple:
    """Lower the max |cos| of the unit rows of ``x`` (works on a copy).

    ``p`` doubles when the best max |cos| stalls for ``patience`` passes,
    and at the latest when a geometric schedule from ``p_start`` to
    ``p_max`` over :data:`SCHEDULE_FRACTION` of ``max_steps`` passes it, so
    that the whole budget is used whatever its size (this gave 1-2% lower
    max |cos| than stall-driven doubling alone at 250-300 passes, N = 1000,
    2000). A ``patience`` of 60 rather than 30 passes gave 0.2-0.4% lower
    max |cos| for N = 1000, d = 200..500 at 1.6-1.9x the CPU time. Stops
    when the max |cos| over free pairs is <=
    ``target``, after ``max_steps`` passes, after ``time_limit`` seconds, or
    when the step length has collapsed at the largest ``p``. Rows
    ``[:num_fixed]`` never move. Returns ``(best_x, best_max_abs_cos)``.
    """
    deadline = None if time_limit is None else time.monotonic() + time_limit
    x = x.clone()
    p = p_start
    reference = coherence_pass(x, p, 1.0, num_fixed, False).max_abs_cos
    if reference <= target or reference == 0:
        return x, reference
    current = coherence_pass(x, p, reference, num_fixed)
    best_x, best_mu = x.clone(), current.max_abs_cos
    step = step_start
    since_best = 0
    velocity = None
    bar = tqdm(total=max_steps, disable=not progress, desc='EBV optimise',
               leave=False)
    growth = math.log(p_max / p_start) / (SCHEDULE_FRACTION * max_steps)
    for step_index in range(max_steps):
        if best_mu <= target or (deadline and time.monotonic() > deadline):
            break
        bar.update(1)
        grad = current.direction
        grad = grad / grad.norm(dim=1).max().clamp_min(1e-30)
        if momentum and velocity is not None:
            velocity = momentum * (velocity - (velocity * x).sum(
                1, keepdim=True) * x) + grad
        else:
            velocity = grad
        trial = torch.nn.functional.normalize(x - step * velocity, dim=1)
        trial[:num_fixed] = x[:num_fixed]
        result = coherence_pass(trial, p, reference, num_fixed)
        since_best += 1
        if result.max_abs_cos < best_mu * (1 - min_gain):
            since_best = 0
        if result.max_abs_cos < best_mu:
            best_x, best_mu = trial.clone(), result.max_abs_cos
            bar.set_postfix(max_abs_cos=f'{best_mu:.5f}', p=p)
        if result.log_objective <= current.log_objective:
            x, current = trial, result
            step *= 1.2
        else:
            step *= 0.5
            velocity = None
        behind = p * p_factor <= p_start * math.exp(growth *
                                                    (step_index + 1))
        if since_best >= patience or step < 1e-7 or (behind and p < p_max):
            if p >= p_max:
                if step < 1e-7 or since_best >= 2 * patience:
                    break
                continue
            p = min(p * p_factor, p_max)
            step = max(step, 1e-3)
            since_best = 0
            velocity = None
            reference = current.max_abs_cos
            current = coherence_pass(x, p, reference, num_fixed)
    bar.close()
    return best_x, best_mu


def _free_pairs(num: int, num_fixed: int, device: torch.device) -> Tensor:
    """Index pairs (i < j) with at least one free row (j >= num_fixed)."""
    rows, cols = torch.triu_indices(num, num, 1, device=device)
    keep = cols >= num_fixed
    return torch.stack([rows[keep], cols[keep]])


def _pair_cos(y: Tensor, pairs: Tensor) -> Tensor:
    """Cosines of the unit rows of ``y`` over index ``pairs`` (2, P)."""
    return (y[pairs[0]] * y[pairs[1]]).sum(1)


def _smooth_max(cos: Tensor, p: float, dim: int = 0) -> Tensor:
    """``log(sum |cos|^p) / p`` along ``dim``: a smooth max of |cos| (the
    tiny offset keeps log finite for exactly orthogonal pairs)."""
    return torch.logsumexp(p / 2 * torch.log(cos * cos + 1e-300), dim) / p


def _lbfgs_continuation(free: Tensor, loss_at: Callable[[float], Tensor],
                        exponents: Sequence[float], iterations: int,
                        done: Callable[[], bool] = lambda: False) -> None:
    """Minimise ``loss_at(p)`` over ``free`` (in place) with L-BFGS for each
    ``p`` of ``exponents`` in turn, ``iterations`` at most per ``p``;
    stops after a ``p`` at which ``done()`` holds."""
    for p in exponents:
        optimizer = torch.optim.LBFGS([free], max_iter=iterations,
                                      history_size=20,
                                      line_search_fn='strong_wolfe',
                                      tolerance_grad=1e-12,
                                      tolerance_change=1e-15)

        def closure(p: float = p) -> Tensor:
            optimizer.zero_grad()
            loss = loss_at(p)
            loss.backward()
            return loss

        optimizer.step(closure)
        if done():
            return


def minimize_coherence_lbfgs(x: Tensor, num_fixed: int = 0,
                             target: float = 0.0,
                             max_steps: int = len(LBFGS_P) *
                             LBFGS_ITERATIONS,
                             p_start: float = LBFGS_P[0]) -> tuple:
    """Lower the max |cos| of a small set of unit rows with L-BFGS (float64).

    For each ``p >= p_start`` of :data:`LBFGS_P` in turn, minimises
    ``log(sum (g_ij^2)^(p/2)) / p`` over the free pairs (a smooth max of
    |cos|), rows parametrised as normalised free vectors so they stay unit.
    ``max_steps`` L-BFGS iterations in all (at most
    :data:`LBFGS_ITERATIONS` per ``p``); stops early once the max |cos| is
    <= ``target``. Holds the N x N Gram matrix and its graph: for sets of up
    to ~10^4 pairs. Rows ``[:num_fixed]`` never move. Returns ``(x,
    max_abs_cos)`` like :func:`minimize_coherence`, ``x`` in the input dtype
    and the max measured on it.
    """
    exponents = [p for p in LBFGS_P if p >= p_start] or [LBFGS_P[-1]]
    iterations = max(1, min(LBFGS_ITERATIONS,
                            -(-max_steps // len(exponents))))
    return _lbfgs_rows(x, num_fixed, exponents, iterations, target)


def minimize_coherence_slowly(x: Tensor, num_fixed: int = 0,
                              target: float = 0.0) -> tuple:
    """:func:`minimize_coherence_lbfgs` with a slower continuation: the
    exponents of :data:`SLOW_P` (twice as many, from a lower one), up to
    :data:`SLOW_ITERATIONS` iterations each. Random starts reach other, often
    lower, minima this way (38 lines in R^16: 1.0014 times the best known
    from 16 such starts, 1.0081 from 96 default ones, each polished); each
    costs about five default runs."""
    return _lbfgs_rows(x, num_fixed, SLOW_P, SLOW_ITERATIONS, target)


def polish_coherence(x: Tensor) -> tuple:
    """Bring a small optimised set of unit rows to its basin's minimax:
    :func:`minimize_coherence_lbfgs`'s smooth max at the exponents of
    :data:`POLISH_P`, :data:`POLISH_ITERATIONS` iterations at most each.
    Returns ``(x, max_abs_cos)`` like :func:`minimize_coherence_lbfgs`."""
    return _lbfgs_rows(x, 0, POLISH_P, POLISH_ITERATIONS)


def _lbfgs_rows(x: Tensor, num_fixed: int, exponents: Sequence[float],
                iterations: int, target: float = 0.0) -> tuple:
    """The L-BFGS continuation of :func:`minimize_coherence_lbfgs` over
    ``exponents``, ``iterations`` at most per exponent."""
    pairs = _free_pairs(x.shape[0], num_fixed, x.device)
    if pairs.shape[1] == 0:
        return x.clone(), 0.0
    fixed = x[:num_fixed].double()
    free = x[num_fixed:].double().contiguous().clone().requires_grad_(True)

    def pair_cos() -> Tensor:
        y = torch.cat([fixed, torch.nn.functional.normalize(free, dim=1)])
        return _pair_cos(y, pairs)

    def result() -> tuple:
        with torch.no_grad():
            y = torch.cat([x[:num_fixed], torch.nn.functional.normalize(
                free, dim=1).to(x.dtype)])
            return y, float(_pair_cos(y, pairs).abs().max())

    _lbfgs_continuation(free, lambda p: _smooth_max(pair_cos(), p),
                        exponents, iterations,
                        done=lambda: result()[1] <= target)
    return result()


def minimize_orbit_coherence(seeds: Tensor, group: Tensor,
                             exponents: Sequence[float] = LBFGS_P[:4]
                             ) -> Tensor:
    """Lower the max |cos| of the orbit of ``seeds`` (M, d) under ``group``
    (s, d, d orthogonal matrices, the identity among them), keeping the
    symmetry: L-BFGS (float64) on the seed rows of the smooth max over all
    pairs of the s M orbit rows, for each p of ``exponents`` in turn.
    Returns the orbit rows, ``group[j] @ seed`` in block j (s M, d)."""
    free = seeds.double().contiguous().clone().requires_grad_(True)
    group = group.double()
    num = group.shape[0] * seeds.shape[0]
    pairs = _free_pairs(num, 0, seeds.device)

    def orbit() -> Tensor:
        rows = torch.nn.functional.normalize(free, dim=1)
        return torch.einsum('jab,mb->jma', group, rows).reshape(num, -1)

    def smooth_max(p: float) -> Tensor:
        return _smooth_max(_pair_cos(orbit(), pairs), p)

    _lbfgs_continuation(free, smooth_max, exponents, LBFGS_ITERATIONS)
    with torch.no_grad():
        return orbit()


def deepen_holes(rows: Tensor, candidates: Tensor,
                 iterations: int = HOLE_ITERATIONS) -> tuple:
    """Move each candidate unit vector to a local minimum of its max |cos|
    to ``rows`` (a hole of ``rows``), each independently (float64).

    Riemannian gradient steps on the smooth max ``log(sum |cos|^p) / p``
    of each candidate, one step length per candidate (x1.2 when its
    objective falls, else x0.5 and the step is undone), for
    ``iterations`` steps at each ``p`` of :data:`LBFGS_P`. (One L-BFGS run
    on the sum of the candidates' objectives is faster but leaves some far
    from their holes: the problems share its line search and history.)
    Returns ``(holes, depths)``: the moved candidates (unit rows, in the
    input dtype) and each one's max |cos| to ``rows``.
    """
    fixed = rows.double()
    x = torch.nn.functional.normalize(candidates.double(), dim=1)
    step = torch.full((len(x), 1), 0.1, dtype=x.dtype, device=x.device)

    def objective(y: Tensor, p: float) -> Tensor:
        return _smooth_max(y @ fixed.t(), p, 1)

    for p in LBFGS_P:
        for _ in range(iterations):
            leaf = x.clone().requires_grad_(True)
            value = objective(leaf, p)
            grad, = torch.autograd.grad(value.sum(), leaf)
            with torch.no_grad():
                grad -= (grad * x).sum(1, keepdim=True) * x
                grad /= grad.norm(dim=1, keepdim=True).clamp_min(1e-300)
                trial = torch.nn.functional.normalize(x - step * grad, dim=1)
                better = (objective(trial, p) < value)[:, None]
                x = torch.where(better, trial, x)
                step = torch.where(better, step * 1.2, step * 0.5)
    holes = x.to(rows.dtype)
    return holes, (holes @ rows.t()).abs().amax(1)


def squeeze_out(x: Tensor, direction: Tensor,
                stages: int = SQUEEZE_STAGES,
                iterations: int = SQUEEZE_ITERATIONS) -> Tensor:
    """Unit rows of ``x`` (N, D) moved into the hyperplane orthogonal to the
    unit ``direction``, keeping a small max |cos| all the way; returns them
    in coordinates of that hyperplane (N, D - 1), float64.

    A homotopy: at stage t = 0, 1/stages, ..., 1 the rows are
    ``normalise(y - t <y, u> u)`` of free unit rows y, which L-BFGS moves to
    lower the smooth max of |cos| (at p = :data:`SQUEEZE_P`, then 4p, up to
    ``iterations`` L-BFGS iterations each), so the rows leave the direction
    gradually rather than by one projection (40 lines in R^12 from the
    projective-plane set in R^13: 0.2542 against 0.2611 from projecting at
    once).
    """
    u = direction.double() / direction.double().norm()
    pairs = _free_pairs(x.shape[0], 0, x.device)
    free = x.double().clone().requires_grad_(True)

    def rows(t: float) -> Tensor:
        y = torch.nn.functional.normalize(free, dim=1)
        return torch.nn.functional.normalize(
            y - t * (y @ u)[:, None] * u, dim=1)

    def pair_cos(t: float) -> Tensor:
        y = rows(t)
        return (y[pairs[0]] * y[pairs[1]]).sum(1)

    for stage in range(stages + 1):
        t = stage / stages
        _lbfgs_continuation(free, lambda p, t=t: _smooth_max(pair_cos(t), p),
                            (SQUEEZE_P, 4 * SQUEEZE_P), iterations)
    with torch.no_grad():
        # an orthonormal basis of the hyperplane: QR of [u, I], less u
        basis, _ = torch.linalg.qr(torch.cat(
            [u[:, None], torch.eye(len(u), dtype=u.dtype, device=u.device)],
            1))
        return torch.nn.functional.normalize(
            rows(1.0) @ basis[:, 1:len(u)], dim=1)
