"""Generating and extending EBV sets.

``method='auto'`` returns an exact optimal construction where one exists
(orthonormal rows for N <= d, the regular simplex for N = d + 1, equally
spaced lines for d = 2). Otherwise it scores one list of candidates by their
max |cos| over all pairs and returns the best: the zero-padded Kerdock set
(when d >= 4), the Paley equiangular tight frame (when d = (q + 1) / 2 for a
prime power q = 1 mod 4 and N <= q + 1), the zero-padded projective-plane
set (when d >= 13, see :mod:`.constructions`), for small problems each
construction that needs all of R^(d+1) and holds at most 2N rows
squeezed into R^d (:mod:`.descent`: 40 lines in R^12 from the 52 in R^13)
and the largest construction holding fewer than N rows extended into its
holes (53 lines in R^14 from the 52 in R^13), and the coherence optimiser of
:mod:`.optimize`, whose first start is the largest Paley ETF that fits when
it holds most rows, the others seeded random starts. The optimiser runs a
pass budget proportional to 1 / (N^2 d) (so every default run costs about
the same), and is left out only when that budget is too small for it to
beat the constructions. Small problems get many restarts of the float64
L-BFGS optimiser (:func:`.optimize.minimize_coherence_lbfgs`): random
starts first, then the structured starts of :func:`.starts.structured_starts`
(alternating projection, one row dropped from N + 1, Naimark complement),
then orbits of cyclic rotations (:func:`.starts.orbit_starts`); random
starts optimised slowly (:func:`.starts.slow_start`) make a candidate of
their own. The two best candidates are then polished to their basins'
minimax (:func:`.optimize.polish_coherence`), and the best moved on by
relocating the rows of its max pairs into holes (:mod:`.relocation`).
``method='paper'`` runs the authors' Algorithm 1 (:mod:`.paper`).

Determinism: the random starts are drawn on CPU from ``seed``, so the same
arguments give the same bytes on the same device and machine, as long as the
run ends by target or step budget rather than by ``time_limit``. Results can
differ between CPU models (float summation order), never the properties the
tests check.
"""
import contextlib
import math
import numbers
import time
import warnings
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from .bounds import lower_bound, max_abs_cos
from .constructions import (kerdock_capacity, kerdock_order, kerdock_vectors,
                            largest_paley_order, orthonormal_rows, paley_etf,
                            paley_order, planar_lines, projective_plane_lines,
                            projective_plane_order, regular_simplex)
from .descent import descend
from .optimize import (deepen_holes, minimize_coherence,
                       minimize_coherence_lbfgs, minimize_coherence_slowly,
                       polish_coherence)
from .starts import (Start, StartMaker, gaussian_rows, orbit_starts,
                     random_start, slow_start, structured_starts)
from .paper import PAPER_ALPHA, PAPER_TOLERANCE, paper_ebvs
from .relocation import relocation_search
from . import tuning
from .structured import check_kerdock_size
from .validation import COINCIDENT_COS, POOR_COS, check_ebvs

#: Changes whenever the bytes ``generate_ebvs`` returns for some arguments
#: change (on-disk caches of generated sets key on it).
GENERATOR_VERSION = '2026-12-05.3'
METHODS = ('auto', 'paper', 'kerdock')
#: Slack when comparing a max |cos| with a target (float32 rounding).
TARGET_SLACK = 1e-6


def default_steps(num_vectors: int, dim: int) -> int:
    """Deterministic pass budget of the optimiser for an N x d problem."""
    work = tuning.DEFAULT_WORK / (num_vectors * num_vectors * dim)
    return int(min(tuning.MAX_STEPS, max(tuning.MIN_STEPS, work)))


def optimiser_competes(num_vectors: int, dim: int,
                       max_steps: Optional[int]) -> bool:
    """Whether the optimiser's pass budget is enough to beat a construction.

    An explicit ``max_steps`` always lets it compete (the scores decide).
    """
    if max_steps is not None:
        return max_steps > 0
    work = tuning.DEFAULT_WORK / (num_vectors * num_vectors * dim)
    return work >= tuning.MIN_USEFUL_STEPS


@contextlib.contextmanager
def _threads_for(work: float):
    """One intra-op thread for tiny problems, where threads only add cost
    (the whole search of :func:`generate_ebvs` and :func:`extend_ebvs`)."""
    previous = torch.get_num_threads()
    if work < tuning.SINGLE_THREAD_WORK:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def default_restarts(num_vectors: int, dim: int) -> int:
    """Optimiser restarts: many for small problems (many local minima)."""
    return int(min(tuning.MAX_RESTARTS, max(1, tuning.RESTART_WORK / (
        num_vectors * num_vectors * dim))))


def check_size(num_vectors: int, dim: int) -> None:
    """Raise ValueError unless N and d are positive integers."""
    for name, value in (('num_vectors', num_vectors), ('dim', dim)):
        if (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                or value < 1):
            raise ValueError(f'{name} must be a positive integer, got '
                             f'{value!r}.')


def check_separable(num_vectors: int, dim: int) -> None:
    """Raise ValueError when any N unit vectors in R^d have two coinciding
    (|cos| = 1: N >= 2 in one dimension), so no EBV set exists."""
    if num_vectors > 1 and lower_bound(num_vectors, dim) >= COINCIDENT_COS:
        raise ValueError(
            f'{num_vectors} classes cannot have distinct EBVs in {dim} '
            f'dimension(s): any {num_vectors} unit vectors there include two '
            f'with |cos| = 1. Use dim >= 2.')


def _check_result(ebvs: Tensor, mu: float) -> Tensor:
    """Validate a generated set whose max |cos| is ``mu``; warn when it is
    poor (some classes within acos(POOR_COS) of each other)."""
    check_ebvs(ebvs, 'The generated EBVs', 'This is a bug of mmebv; please '
               'report it with the arguments used.')
    if mu >= POOR_COS:
        warnings.warn(
            f'The {ebvs.shape[0]} EBVs in {ebvs.shape[1]} dimensions have max '
            f'|cos| {mu:.4g}: some classes are within '
            f'{math.degrees(math.acos(min(mu, 1.0))):.1f} degrees of each '
            f'other and hard to tell apart. Use a larger dim.')
    return ebvs


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


def _exact_coherence(num_vectors: int, dim: int) -> float:
    """Max |cos| of the construction :func:`_exact` returns."""
    if num_vectors <= dim:
        return 0.0
    if num_vectors == dim + 1:
        return 1.0 / dim
    return math.cos(math.pi / num_vectors)


def _constructions(num_vectors: int, dim: int) -> list:
    """``(max |cos|, vectors)`` of each construction that holds (N, d):
    the zero-padded Kerdock set, the Paley ETF and the zero-padded
    projective-plane set."""
    found = []
    n = kerdock_order(dim)
    if n is not None and num_vectors <= kerdock_capacity(n):
        found.append(kerdock_vectors(num_vectors, dim)[::-1])
    if paley_order(num_vectors, dim) is not None:
        found.append(paley_etf(num_vectors, dim)[::-1])
    if projective_plane_order(num_vectors, dim) is not None:
        found.append(projective_plane_lines(num_vectors, dim)[::-1])
    return found


def _one_dimension_up(num_vectors: int, dim: int) -> list:
    """Every construction that needs all of R^(d+1) and holds N rows, in
    full (all its rows), when small enough to descend from and N is at
    least :data:`.tuning.DESCENT_FRACTION` of its rows: the seeds of
    :func:`.descent.descend`."""
    up = dim + 1
    found = []
    if kerdock_order(up) == up and num_vectors <= kerdock_capacity(up):
        found.append((kerdock_capacity(up),
                      lambda n: kerdock_vectors(n, up)[0]))
    q = paley_order(num_vectors, up)
    if q is not None:
        found.append((q + 1, lambda n: paley_etf(n, up)[0]))
    q = projective_plane_order(num_vectors, up)
    if q is not None and q * q + q + 1 == up:
        found.append((up * (q + 1),
                      lambda n: projective_plane_lines(n, up)[0]))
    return [build(size) for size, build in found
            if size * size * up <= tuning.LBFGS_WORK
            and num_vectors >= tuning.DESCENT_FRACTION * size]


def _extended_construction(num_vectors: int, dim: int, seed: int) -> list:
    """The construction of :func:`_constructions` holding the most rows
    M < N (M >= SEED_FRACTION N, :mod:`.tuning`), extended to N rows in
    its holes by :func:`extend_ebvs` (53 lines in R^14 at the best known
    1/4 from the 52 projective-plane lines); ``[]`` when none holds M.
    Returns ``[(max |cos|, vectors)]``."""
    smallest = math.ceil(tuning.SEED_FRACTION * num_vectors)
    for rows in range(num_vectors - 1, smallest - 1, -1):
        found = _constructions(rows, dim)
        if found:
            _, construction = min(found, key=lambda candidate: candidate[0])
            extended = extend_ebvs(construction, num_vectors, seed=seed,
                                   progress=False)
            return [(max_abs_cos(extended), extended)]
    return []


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
        seed: Seed of the random starts (drawn on CPU).
        device: Where the optimisation runs (``'cpu'`` or ``'cuda'``).
        time_limit: Wall-clock budget in seconds (None: no limit).
        max_steps: Pass budget of each optimiser run (L-BFGS iterations for
            small problems; None: :func:`default_steps` for ``auto``,
            100,000 for ``paper``). An explicit budget always lets the
            optimiser compete with the constructions.
        progress: Show a tqdm progress bar.

    Returns:
        The (N, d) float32 set on CPU. If the target is not reached in the
        budget, the best set found, with a warning; a set with max |cos| >=
        :data:`~.validation.POOR_COS` also warns.

    Raises:
        ValueError: bad sizes, method or alpha (below the lower bound), or
            N >= 2 vectors in one dimension (classes would coincide).
    """
    check_size(num_vectors, dim)
    check_separable(num_vectors, dim)
    check_alpha(alpha, num_vectors, dim)
    if method not in METHODS:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}.')
    generator = torch.Generator().manual_seed(seed)
    device = torch.device(device)
    if method == 'kerdock':
        check_kerdock_size(num_vectors, dim)
        ebvs, mu = kerdock_vectors(num_vectors, dim)
        _warn_if_missed(mu, alpha)
        return _check_result(ebvs, mu)
    if method == 'paper':
        target = PAPER_ALPHA if alpha is None else alpha
        check_alpha(target, num_vectors, dim)
        ebvs = paper_ebvs(num_vectors, dim, target, generator, device,
                          time_limit, max_steps, progress).cpu().contiguous()
        mu = max_abs_cos(ebvs) if num_vectors > 1 else 0.0
        _warn_if_missed(mu, target + PAPER_TOLERANCE)
        return _check_result(ebvs, mu)
    exact = _exact(num_vectors, dim, generator)
    if exact is not None:
        return _check_result(exact, _exact_coherence(num_vectors, dim))
    work = num_vectors * num_vectors * dim
    with _threads_for(work):
        mu, best = _auto_search(num_vectors, dim, alpha, seed, generator,
                                device, time_limit, max_steps,
                                progress)
    _warn_if_missed(mu, alpha)
    return _check_result(best.cpu().contiguous(), mu)


def _auto_search(num_vectors: int, dim: int, alpha: Optional[float],
                 seed: int, generator: torch.Generator, device: torch.device,
                 time_limit: Optional[float], max_steps: Optional[int],
                 progress: bool) -> tuple:
    """The ``auto`` method where no exact construction holds: the
    constructions, descents and optimiser runs as candidates, the best
    polished and relocated (:func:`generate_ebvs`). Returns ``(max |cos|,
    vectors)``."""
    work = num_vectors * num_vectors * dim
    search = _Search.create(num_vectors, dim, alpha, max_steps, time_limit,
                            progress)
    # (max |cos| over all pairs, vectors)
    constructions = _constructions(num_vectors, dim)
    candidates = list(constructions)
    if work <= tuning.LBFGS_WORK:
        # its own generator: the optimiser's starts stay those of `seed`
        directions = torch.Generator().manual_seed(seed)
        candidates += [descend(up, num_vectors, directions)
                       for up in _one_dimension_up(num_vectors, dim)]
        # a construction of all N rows beats its first N - 1 rows extended
        if not constructions:
            candidates += _extended_construction(num_vectors, dim, seed)
    if not candidates or (
            not any(search.reached(mu) for mu, _ in candidates)
            and optimiser_competes(num_vectors, dim, max_steps)):
        candidates.append(_best_of_restarts(
            _schedule(num_vectors, dim, search.target, seed, generator), 0,
            search, device))
        if (work <= tuning.STRUCTURED_WORK
                and not search.reached(candidates[-1][0])
                and not search.out_of_time()):
            # a generator of their own: the starts before stay those of seed
            slow = torch.Generator().manual_seed(seed)
            candidates.append(_best_of_restarts(
                [slow_start(num_vectors, dim, slow)] * tuning.SLOW_RESTARTS,
                0, search, device))
    candidates.sort(key=lambda candidate: candidate[0])
    mu, best = candidates[0]
    if (work <= tuning.POLISH_WORK and not search.reached(mu)
            and not search.out_of_time()):
        # the smooth max of the restarts stops short of the minimax, and the
        # runner-up's basin can hold a lower one
        for _, candidate in candidates[:tuning.POLISHED_CANDIDATES]:
            polished, polished_mu = polish_coherence(candidate)
            if polished_mu < mu:
                mu, best = polished_mu, polished
        # a generator of its own: the starts before stay those of seed
        best, mu = relocation_search(
            best, mu, tuning.RELOCATION_MOVES,
            torch.Generator().manual_seed(seed),
            lambda mu: search.reached(mu) or search.out_of_time(),
            tuning.QUICK_RELOCATION_MOVES)
    return mu, best


def _schedule(num_vectors: int, dim: int, reference: float, seed: int,
              generator: torch.Generator) -> list:
    """The starts of the optimiser, in order: the Paley seed (when one
    fits), random starts up to :func:`default_restarts`, then, for N^2 d
    <= :data:`.tuning.STRUCTURED_WORK`, rounds of the structured starts
    (one in :data:`.tuning.STRUCTURED_DIVISOR` of the restarts, drawn from
    a generator of their own so that the random starts stay those of
    ``seed``) and as many rounds of orbit starts after them (so the starts
    before stay those of the generator before orbit starts)."""
    restarts = default_restarts(num_vectors, dim)
    paley = _paley_seed(num_vectors, dim, generator)
    makers = [] if paley is None else [lambda incumbent: paley]
    makers += [random_start(num_vectors, dim, generator)] * (
        restarts - len(makers))
    if num_vectors * num_vectors * dim <= tuning.STRUCTURED_WORK:
        structured = torch.Generator().manual_seed(seed)
        rounds = max(1, restarts // tuning.STRUCTURED_DIVISOR)
        makers += structured_starts(num_vectors, dim, reference,
                                    structured) * rounds
        makers += orbit_starts(num_vectors, dim, structured) * rounds
    return makers


@dataclass
class _Search:
    """Target, pass budget and deadline shared by the runs of one call."""
    target: float
    steps: int
    deadline: Optional[float]
    progress: bool

    @classmethod
    def create(cls, num_vectors: int, dim: int, alpha: Optional[float],
               max_steps: Optional[int], time_limit: Optional[float],
               progress: bool) -> '_Search':
        """Target: ``alpha``, else the lower bound; default pass budget."""
        return cls(
            target=lower_bound(num_vectors, dim) if alpha is None else alpha,
            steps=(default_steps(num_vectors, dim)
                   if max_steps is None else max_steps),
            deadline=None if time_limit is None else time.monotonic() +
            time_limit,
            progress=progress)

    def reached(self, mu: float) -> bool:
        return mu <= self.target + TARGET_SLACK

    def time_left(self) -> Optional[float]:
        return (None if self.deadline is None else
                max(0.0, self.deadline - time.monotonic()))

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline


def _paley_seed(num_vectors: int, dim: int,
                generator: torch.Generator) -> Optional[Start]:
    """The largest Paley ETF that fits in (N, d), zero-padded to d, then
    random unit rows; None unless it holds SEED_FRACTION of the rows and
    spans SEED_FRACTION of the dimensions (:mod:`.tuning`; the optimiser
    barely moves the frame's rows into zero-padded dimensions: (171, 128)
    from the
    170-vector frame in R^85 stayed at 0.077, 0.047 from random starts)."""
    q = largest_paley_order(num_vectors, dim)
    if (q is None or q + 1 < tuning.SEED_FRACTION * num_vectors
            or (q + 1) // 2 < tuning.SEED_FRACTION * dim):
        return None
    etf, _ = paley_etf(q + 1, (q + 1) // 2)
    seed = gaussian_rows(num_vectors, dim, generator)
    seed[:q + 1] = 0.0
    seed[:q + 1, :etf.shape[1]] = etf
    return Start(seed, tuning.SEED_P_START)


def _best_of_restarts(makers: Sequence[StartMaker], num_fixed: int,
                      search: _Search, device: torch.device) -> tuple:
    """Optimise the start of each of ``makers`` in turn (rows
    ``[:num_fixed]`` frozen; :mod:`.starts`), each maker told the best max
    |cos| so far and each start optimised from its own exponent. Problems
    with N^2 d <= :data:`.tuning.LBFGS_WORK` use
    :func:`minimize_coherence_lbfgs`, larger ones
    :func:`minimize_coherence`. Returns ``(max_abs_cos, vectors)`` of the
    best run (max over the free pairs); stops early at the target or the
    deadline.
    """
    best_mu, best = math.inf, None
    for maker in makers:
        start = maker(best_mu)
        x = start.x.to(device=device, dtype=torch.float32)
        num, dim = x.shape
        if start.slow:
            found, mu = minimize_coherence_slowly(x, num_fixed,
                                                  search.target)
        elif num * num * dim <= tuning.LBFGS_WORK:
            found, mu = minimize_coherence_lbfgs(
                x, num_fixed, target=search.target, max_steps=search.steps,
                p_start=start.p_start)
        else:
            found, mu = minimize_coherence(
                x, num_fixed=num_fixed, target=search.target,
                max_steps=search.steps, time_limit=search.time_left(),
                progress=search.progress, p_start=start.p_start)
        if mu < best_mu:
            best_mu, best = mu, found
        if search.reached(best_mu) or search.out_of_time():
            break
    return best_mu, best


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

    The old rows are kept bit-identical; only the new rows move. Each
    restart places them one by one in holes of the rows before
    (:func:`_placed_rows`), then optimises them against all rows from
    :data:`.tuning.SEED_P_START` on, which keeps them in their holes;
    small problems get restarts as in :func:`generate_ebvs`. While N <= d
    and the old rows are orthonormal the new rows are an exact orthonormal
    completion.

    Args:
        ebvs: The (N0, d) set to extend; must pass
            :func:`~.validation.check_ebvs`.
        num_vectors: N >= N0, the number of rows wanted.
        alpha, seed, device, time_limit, max_steps, progress: As for
            :func:`generate_ebvs`; ``time_limit`` bounds the placement of
            the new rows as well as the optimiser.

    Returns:
        The (N, d) float32 set on CPU, rows ``[:N0]`` equal to ``ebvs``.

    Raises:
        ValueError: bad sizes or alpha; :class:`~.errors.InvalidEBVError`
            when ``ebvs`` is not a valid set.
    """
    if ebvs.dim() != 2:
        raise ValueError(f'Expected an (N, d) tensor, got shape '
                         f'{tuple(ebvs.shape)}.')
    old_n, dim = ebvs.shape
    check_size(num_vectors, dim)
    if num_vectors < old_n:
        raise ValueError(f'Cannot extend {old_n} EBVs to fewer '
                         f'({num_vectors}); pass num_vectors >= {old_n}.')
    check_separable(num_vectors, dim)
    check_alpha(alpha, num_vectors, dim)
    check_ebvs(ebvs, 'The EBVs to extend', 'Extend a valid set.')
    ebvs = ebvs.detach().to('cpu', torch.float32)
    if num_vectors == old_n:
        return ebvs.clone()
    generator = torch.Generator().manual_seed(seed)
    extra = num_vectors - old_n
    if num_vectors <= dim and max_abs_cos(ebvs) <= TARGET_SLACK:
        completion = _orthogonal_completion(ebvs, extra, generator)
        return _check_result(torch.cat([ebvs, completion]), 0.0)
    search = _Search.create(num_vectors, dim, alpha, max_steps, time_limit,
                            progress)
    device = torch.device(device)
    restarts = max(1, default_restarts(num_vectors, dim) //
                   tuning.EXTENSION_RESTART_DIVISOR)
    with _threads_for(num_vectors * num_vectors * dim):
        mu, best = _best_of_restarts(
            [lambda incumbent: Start(
                _placed_rows(ebvs.to(device), extra, generator, search),
                tuning.SEED_P_START)] * restarts, old_n, search, device)
    best = best.cpu()
    best[:old_n] = ebvs
    mu = max(mu, max_abs_cos(ebvs) if old_n > 1 else 0.0)
    _warn_if_missed(mu, alpha)
    return _check_result(best.contiguous(), mu)


def _placed_rows(rows: Tensor, extra: int, generator: torch.Generator,
                 search: _Search) -> Tensor:
    """``rows`` followed by ``extra`` unit rows, each placed in a hole of
    the rows before it.

    For each new row a batch of random unit vectors is drawn, the ones with
    the smallest max |cos| to the rows before are moved into holes
    (:func:`.optimize.deepen_holes`) and the deepest is kept. Batch and
    hole counts scale with :data:`.tuning.PLACEMENT_WORK` and
    :data:`.tuning.HOLE_WORK`; at their minimum of one, with no holes
    deepened, the rows are random, as are the rows placed once ``search``
    is out of time.
    """
    old_n, dim = rows.shape
    num = old_n + extra
    per_row = extra * num * dim
    count = int(min(tuning.MAX_PLACEMENTS,
                    max(1, tuning.PLACEMENT_WORK / per_row)))
    holes = int(min(tuning.MAX_HOLES, count, tuning.HOLE_WORK / per_row))
    x = torch.empty(num, dim, dtype=rows.dtype, device=rows.device)
    x[:old_n] = rows
    for row in range(old_n, num):
        if search.out_of_time():
            count, holes = 1, 0
        candidates = torch.nn.functional.normalize(
            torch.randn(count, dim, generator=generator).to(x.device), dim=1)
        if row and count > 1:
            worst = (candidates @ x[:row].t()).abs().amax(1)
            if holes:
                candidates, worst = deepen_holes(
                    x[:row], candidates[worst.argsort()[:holes]])
            candidates = candidates[int(worst.argmin())]
        x[row] = candidates.reshape(-1, dim)[0]
    return x
