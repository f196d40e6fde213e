"""Generating and extending EBV sets.

``method='auto'`` uses an exact construction where one exists (orthonormal
rows for N <= d, the regular simplex for N = d + 1, equally spaced lines for
d = 2, a zero-padded Kerdock set when it already meets the target or when
the problem is too large for the default optimiser budget) and otherwise the
coherence optimiser of :mod:`.optimize` (several restarts for tiny
problems), keeping the Kerdock set instead when the optimiser does not beat
it. ``method='paper'`` runs the
authors' Algorithm 1 (:mod:`.paper`).

Determinism: the random start is drawn on CPU from ``seed``, so the same
arguments give the same bytes on the same device and machine, as long as the
run ends by target or step budget rather than by ``time_limit``.
"""
import contextlib
import math
import numbers
import time
import warnings
from typing import Optional, Union

import torch
from torch import Tensor

from .bounds import lower_bound, max_abs_cos
from .constructions import (kerdock_capacity, kerdock_order, kerdock_vectors,
                            orthonormal_rows, planar_lines, regular_simplex)
from .optimize import minimize_coherence
from .paper import PAPER_ALPHA, PAPER_TOLERANCE, paper_ebvs
from .structured import check_kerdock_size

METHODS = ('auto', 'paper', 'kerdock')
#: Default optimiser budget, in units of N^2 d multiply-adds (~passes x cost).
DEFAULT_WORK = 4e11
#: Pass budget bounds when neither ``max_steps`` nor the work budget decides.
MIN_STEPS, MAX_STEPS = 200, 1000
#: Tiny problems (N^2 d below RESTART_WORK) get up to MAX_RESTARTS restarts.
RESTART_WORK, MAX_RESTARTS = 2e5, 6
#: Below this N^2 d the optimiser runs on one thread (overhead dominates).
SINGLE_THREAD_WORK = 1e7
#: Slack when comparing a max |cos| with a target (float32 rounding).
TARGET_SLACK = 1e-6


def default_steps(num_vectors: int, dim: int) -> int:
    """Deterministic pass budget of the optimiser for an N x d problem."""
    work = DEFAULT_WORK / (num_vectors * num_vectors * dim)
    return int(min(MAX_STEPS, max(MIN_STEPS, work)))


@contextlib.contextmanager
def _threads_for(work: float):
    """One intra-op thread for tiny problems, where threads only add cost."""
    previous = torch.get_num_threads()
    if work < SINGLE_THREAD_WORK:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def default_restarts(num_vectors: int, dim: int) -> int:
    """Optimiser restarts: several for tiny problems (many local minima)."""
    return int(min(MAX_RESTARTS, max(1, RESTART_WORK / (
        num_vectors * num_vectors * dim))))


def check_size(num_vectors: int, dim: int) -> None:
    """Raise ValueError unless N and d are positive integers."""
    for name, value in (('num_vectors', num_vectors), ('dim', dim)):
        if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                or value < 1):
            raise ValueError(f'{name} must be a positive integer, got '
                             f'{value!r}.')


def check_alpha(alpha: Optional[float], num_vectors: int, dim: int) -> None:
    """Raise ValueError if ``alpha`` is not a reachable max |cos| target."""
    if alpha is None:
        return
    if not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
        raise ValueError(f'alpha must be a number in [0, 1), got {alpha!r}.')
    bound = lower_bound(num_vectors, dim)
    if alpha < bound - TARGET_SLACK:
        raise ValueError(
            f'alpha={alpha} is below the lower bound {bound:.6g} on max '
            f'|cos| for {num_vectors} vectors in {dim} dimensions '
            f'({bound_name(num_vectors, dim)}); no set can reach it. Use '
            f'alpha >= {bound:.6g} or a larger dim.')


def bound_name(num_vectors: int, dim: int) -> str:
    """Name of the bound :func:`lower_bound` takes its value from."""
    n, d = num_vectors, dim
    if n <= d:
        return 'zero: orthonormal rows exist'
    welch = math.sqrt((n - d) / (d * (n - 1)))
    if n > d * (d + 1) // 2:
        levenshtein = (3 * n - d * d - 2 * d) / ((d + 2) * (n - d))
        candidates = {'Welch bound': welch,
                      'orthoplex bound': 1 / math.sqrt(d),
                      'Levenshtein bound': math.sqrt(max(levenshtein, 0))}
        return max(candidates, key=candidates.get)
    return 'Welch bound'


def _exact(num_vectors: int, dim: int,
           generator: torch.Generator) -> Optional[Tensor]:
    """The exact optimal construction for (N, d), if one is implemented."""
    if num_vectors <= dim:
        return orthonormal_rows(num_vectors, dim, generator)
    if num_vectors == dim + 1:
        return regular_simplex(dim)
    if dim == 2:
        return planar_lines(num_vectors)
    return None


def _kerdock(num_vectors: int, dim: int) -> Optional[tuple]:
    n = kerdock_order(dim)
    if n is None or num_vectors > kerdock_capacity(n):
        return None
    return kerdock_vectors(num_vectors, dim)


def _warn_if_missed(mu: float, alpha: Optional[float]) -> None:
    if alpha is not None and mu > alpha + TARGET_SLACK:
        warnings.warn(f'EBV generation stopped at max |cos| = {mu:.6g} above '
                      f'the target alpha = {alpha}; returning the best set '
                      f'found. Give more time/steps or a larger alpha.')


def generate_ebvs(num_vectors: int,
                  dim: int,
                  *,
                  method: str = 'auto',
                  alpha: Optional[float] = None,
                  seed: int = 0,
                  device: Union[str, torch.device] = 'cpu',
                  time_limit: Optional[float] = None,
                  max_steps: Optional[int] = None,
                  progress: bool = True) -> Tensor:
    """Generate N unit vectors in R^d with small max |cos| (float32, CPU).

    Args:
        num_vectors: N, the number of EBVs.
        dim: d, their dimension.
        method: ``'auto'`` (constructions + optimiser) or ``'paper'``
            (Algorithm 1 of the paper) or ``'kerdock'`` (the Kerdock set
            in the largest 4^k <= d dims, zero-padded: the dense view of
            :class:`~.structured.KerdockEBVs`).
        alpha: Target max |cos|: generation stops once it is reached. None
            means as low as the budget allows for ``auto`` and the authors'
            0.002 for ``paper``. Below :func:`lower_bound` raises.
        seed: Seed of the random start (drawn on CPU).
        device: Where the optimisation runs (``'cpu'`` or ``'cuda'``).
        time_limit: Wall-clock budget in seconds (None: no limit).
        max_steps: Pass budget (None: :func:`default_steps` for ``auto``,
            100,000 for ``paper``).
        progress: Show a tqdm progress bar.

    If the target is not reached in the budget, the best set found is
    returned with a warning.
    """
    check_size(num_vectors, dim)
    check_alpha(alpha, num_vectors, dim)
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}.')
    generator = torch.Generator().manual_seed(seed)
    device = torch.device(device)
    if method == 'kerdock':
        check_kerdock_size(num_vectors, dim)
        ebvs, mu = kerdock_vectors(num_vectors, dim)
        _warn_if_missed(mu, alpha)
        return ebvs
    if method == 'paper':
        target = PAPER_ALPHA if alpha is None else alpha
        check_alpha(target, num_vectors, dim)
        ebvs = paper_ebvs(num_vectors, dim, target, generator, device,
                          time_limit, max_steps, progress).cpu()
        if num_vectors > 1:
            _warn_if_missed(max_abs_cos(ebvs), target + PAPER_TOLERANCE)
        return ebvs.contiguous()
    exact = _exact(num_vectors, dim, generator)
    if exact is not None:
        return exact
    target = lower_bound(num_vectors, dim) if alpha is None else alpha
    kerdock = _kerdock(num_vectors, dim)
    if kerdock is not None and (kerdock[1] <= target + TARGET_SLACK or (
            max_steps is None and num_vectors * num_vectors * dim >
            DEFAULT_WORK / MIN_STEPS)):
        # meets the target, or the problem is too large for the default
        # budget of the optimiser to beat it from a random start
        _warn_if_missed(kerdock[1], alpha)
        return kerdock[0]
    steps = default_steps(num_vectors, dim) if max_steps is None else max_steps
    deadline = None if time_limit is None else time.monotonic() + time_limit
    best, mu = None, math.inf
    for _ in range(default_restarts(num_vectors, dim)):
        start = torch.randn(num_vectors, dim, generator=generator)
        start = torch.nn.functional.normalize(start.to(device), dim=1)
        left = None if deadline is None else deadline - time.monotonic()
        with _threads_for(num_vectors * num_vectors * dim):
            found, found_mu = minimize_coherence(
                start, target=target, max_steps=steps, time_limit=left,
                progress=progress)
        if found_mu < mu:
            best, mu = found, found_mu
        if mu <= target + TARGET_SLACK or (left is not None and
                                           time.monotonic() > deadline):
            break
    if kerdock is not None and kerdock[1] < mu:
        best, mu = kerdock
    _warn_if_missed(mu, alpha)
    return best.cpu().contiguous()


def _orthogonal_completion(ebvs: Tensor, extra: int,
                           generator: torch.Generator) -> Tensor:
    """``extra`` unit rows orthogonal to each other and to ``ebvs``."""
    old = ebvs.double()
    basis, _ = torch.linalg.qr(old.t())
    gaussian = torch.randn(ebvs.shape[1], extra, generator=generator,
                           dtype=torch.float64)
    for _ in range(2):
        gaussian -= basis @ (basis.t() @ gaussian)
    new, _ = torch.linalg.qr(gaussian)
    for _ in range(2):
        new -= basis @ (basis.t() @ new)
    return torch.nn.functional.normalize(new.t(), dim=1).float()


def extend_ebvs(ebvs: Tensor,
                num_vectors: int,
                *,
                alpha: Optional[float] = None,
                seed: int = 0,
                device: Union[str, torch.device] = 'cpu',
                time_limit: Optional[float] = None,
                max_steps: Optional[int] = None,
                progress: bool = True) -> Tensor:
    """Add rows to ``ebvs`` (N0, d) up to ``num_vectors``, for new classes.

    The old rows are kept bit-identical; only the new rows are optimised,
    against all rows. While N <= d and the old rows are orthonormal the new
    rows are an exact orthonormal completion.
    """
    if ebvs.dim() != 2:
        raise ValueError(f'Expected an (N, d) tensor, got shape '
                         f'{tuple(ebvs.shape)}.')
    old_n, dim = ebvs.shape
    check_size(num_vectors, dim)
    if num_vectors < old_n:
        raise ValueError(f'Cannot extend {old_n} EBVs to fewer '
                         f'({num_vectors}); pass num_vectors >= {old_n}.')
    check_alpha(alpha, num_vectors, dim)
    ebvs = ebvs.detach().to('cpu', torch.float32)
    if num_vectors == old_n:
        return ebvs.clone()
    generator = torch.Generator().manual_seed(seed)
    extra = num_vectors - old_n
    if num_vectors <= dim and max_abs_cos(ebvs) <= TARGET_SLACK:
        completion = _orthogonal_completion(ebvs, extra, generator)
        return torch.cat([ebvs, completion])
    new = torch.randn(extra, dim, generator=generator)
    start = torch.nn.functional.normalize(
        torch.cat([ebvs, new]).to(device), dim=1)
    start[:old_n] = ebvs.to(device)
    target = lower_bound(num_vectors, dim) if alpha is None else alpha
    steps = default_steps(num_vectors, dim) if max_steps is None else max_steps
    with _threads_for(num_vectors * num_vectors * dim):
        best, mu = minimize_coherence(start, num_fixed=old_n, target=target,
                                      max_steps=steps, time_limit=time_limit,
                                      progress=progress)
    best = best.cpu()
    best[:old_n] = ebvs
    _warn_if_missed(max(mu, max_abs_cos(ebvs) if old_n > 1 else 0.0), alpha)
    return best.contiguous()
