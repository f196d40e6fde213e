"""Starts one dimension down: a construction in R^(d+1) squeezed into R^d.

A small (N, d) that no construction holds may sit just below one that does:
40 lines in R^12 below the 52-line projective-plane set in R^13. Dropping
the rows that lean most on one direction (:func:`rows_along_one_direction`)
and squeezing that direction out gradually (:func:`.optimize.squeeze_out`)
keeps most of the construction's structure: 40 lines in R^12 end at max
|cos| 0.2542 (the best known value, as quoted from Sloane's table), where
random starts stop at 0.28. The squeeze is sensitive to the direction drawn,
to its speed and to float rounding, so it is tried from several directions
(:data:`DESCENT_TRIES`), slowly and faster in turn, and the best result is
kept.
"""
from typing import Tuple

import torch
from torch import Tensor

from .optimize import (SQUEEZE_ITERATIONS, minimize_coherence_lbfgs,
                       squeeze_out)

#: Random first directions of :func:`rows_along_one_direction`, and the
#: most alternations from each.
DIRECTION_STARTS, MAX_ALTERNATIONS = 16, 20
#: Exponent from which the squeezed rows are polished (keeps their layout).
POLISH_P_START = 256.0
#: Most descents from different directions; the search stops earlier once
#: two of them end at the same max |cos| (within AGREEMENT, relative).
DESCENT_TRIES, AGREEMENT = 3, 1e-5
#: L-BFGS iterations per squeeze exponent in the second try (the first and
#: third squeeze slowly): a faster squeeze ends elsewhere, at under half the
#: cost (41 lines in R^12 from the 52 in R^13, one direction: 0.2675 at 40
#: iterations, 0.2765 at 100; 40 lines: 0.2612 and 0.2542).
FAST_SQUEEZE_ITERATIONS = 40


def rows_along_one_direction(x: Tensor, count: int,
                             generator: torch.Generator) -> Tuple[Tensor,
                                                                  Tensor]:
    """``count`` rows of ``x`` and a unit direction u that locally maximise
    the sum of their squared cosines with u (the top eigenvalue of their
    frame operator): alternately u = top eigenvector of the chosen rows'
    frame operator and rows = the ``count`` largest |<x_i, u>|, from
    :data:`DIRECTION_STARTS` random directions. Returns ``(indices, u)``.
    """
    x = x.double()
    best = (-1.0, None, None)
    for _ in range(DIRECTION_STARTS):
        u = torch.nn.functional.normalize(
            torch.randn(x.shape[1], generator=generator, dtype=x.dtype), dim=0)
        top = -1.0
        for _ in range(MAX_ALTERNATIONS):
            chosen = (x @ u).abs().topk(count).indices
            values, vectors = torch.linalg.eigh(x[chosen].t() @ x[chosen])
            if float(values[-1]) <= top + 1e-12:
                break  # no longer rising (it cannot fall)
            top, u = float(values[-1]), vectors[:, -1]
            if top > best[0]:
                best = (top, chosen, u)
    return best[1], best[2]


def descend_once(x: Tensor, num_vectors: int, generator: torch.Generator,
                 iterations: int = SQUEEZE_ITERATIONS) -> Tuple[float,
                                                                Tensor]:
    """``num_vectors`` unit rows in R^(D-1) from the (N', D) unit rows ``x``
    (N' >= num_vectors): drop N' - num_vectors rows along one direction
    (with none to drop, the direction the rows use least), squeeze it out
    (``iterations`` per exponent, :func:`.optimize.squeeze_out`), polish
    with float64 L-BFGS. Returns ``(max_abs_cos, rows)`` (float32).
    """
    x = x.double()
    drop = x.shape[0] - num_vectors
    if drop > 0:
        dropped, u = rows_along_one_direction(x, drop, generator)
        kept = torch.ones(x.shape[0], dtype=torch.bool)
        kept[dropped] = False
        x = x[kept]
    else:
        u = torch.linalg.eigh(x.t() @ x)[1][:, 0]
    rows, mu = minimize_coherence_lbfgs(
        squeeze_out(x, u, iterations=iterations), p_start=POLISH_P_START)
    return mu, rows.float()


def descend(x: Tensor, num_vectors: int,
            generator: torch.Generator) -> Tuple[float, Tensor]:
    """The best of up to :data:`DESCENT_TRIES` runs of :func:`descend_once`
    from directions drawn from ``generator``, every second one squeezing
    with :data:`FAST_SQUEEZE_ITERATIONS` (one run when no row is dropped:
    the direction is then fixed). Returns ``(max_abs_cos, rows)``.
    """
    tries = DESCENT_TRIES if x.shape[0] > num_vectors else 1
    results = []
    for attempt in range(tries):
        mu, rows = descend_once(
            x, num_vectors, generator,
            FAST_SQUEEZE_ITERATIONS if attempt % 2 else SQUEEZE_ITERATIONS)
        agrees = any(abs(mu - other) <= AGREEMENT * max(mu, other)
                     for other, _ in results)
        results.append((mu, rows))
        if agrees:
            break
    return min(results, key=lambda result: result[0])
