"""Exact low-coherence constructions (no optimisation involved).

* ``orthonormal_rows``: N <= d, max |cos| = 0 (float32 rounding only).
* ``regular_simplex``: N = d + 1, max |cos| = 1/d.
* ``planar_lines``: d = 2, N equally spaced lines, max |cos| = cos(pi/N).
* ``kerdock_vectors``: real mutually unbiased bases of R^n, n = 4^k: up to
  n(n/2 + 1) vectors with max |cos| = 1/sqrt(n), zero-padded to d >= n.
* ``paley_etf``: the real equiangular tight frame of N = q + 1 vectors in
  d = (q + 1) / 2 dims (q a prime power, q = 1 mod 4), from the Paley
  conference matrix; max |cos| = 1/sqrt(q), the Welch bound.
* ``projective_plane_lines``: the lines of the projective plane PG(2, q)
  (q prime, q + 1 a power of 2: 3, 7, 31, 127) as supports, each carrying
  the q + 1 rows of a Hadamard matrix: up to (q^2 + q + 1)(q + 1) vectors
  in q^2 + q + 1 dims (zero-padded to d) with max |cos| = 1/(q + 1); a full
  set is sqrt(1 + 1/(q + 1)^2) times the Welch bound (52 lines in R^13 at
  1/4: 3% above it; 31,776 lines in R^993 at 1/32: 0.05%).

The Kerdock set is built from the quadratic forms
``Q_a(x, e) = q(a x) + e Tr(a x)`` on GF(2^r) x GF(2) (n = 2^m, m = r + 1
even), where ``q(y) = sum_{i<j} y^(2^i + 2^j)`` (the second elementary
symmetric function of the conjugates of y, which lies in GF(2)). For a != b
the sum ``Q_a + Q_b`` is bent (flat Walsh spectrum, checked with
:func:`walsh_spectrum` in the tests), hence any two of the bases
``{(-1)^(Q_a(z) + <z, j>) / sqrt(n)}_j`` are mutually unbiased. (The
GF(2)-linear family ``Tr(a x^3) + e Tr(a x)`` is not bent for m >= 4.)
"""
import math
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

#: Irreducible polynomials over GF(2) (bit i = coefficient of x^i) for the
#: odd field degrees r = m - 1 used by the Kerdock construction.
IRREDUCIBLE = {
    1: 0b11,
    3: 0b1011,
    5: 0b100101,
    7: 0b10000011,
    9: 0b1000010001,
    11: 0b100000000101,
    13: 0b10000000011011,
    15: 0b1000000000000011,
}


def orthonormal_rows(num_vectors: int, dim: int,
                     generator: torch.Generator) -> Tensor:
    """``num_vectors <= dim`` orthonormal rows (QR of a seeded Gaussian)."""
    if num_vectors > dim:
        raise ValueError(
            f'Need num_vectors <= dim, got {num_vectors} > {dim}.')
    gaussian = torch.randn(dim, num_vectors, generator=generator,
                           dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r)).where(
        torch.diagonal(r) != 0, torch.ones(()).double())
    return q.t().contiguous().float()


def regular_simplex(dim: int) -> Tensor:
    """``dim + 1`` unit vectors in R^dim with all pairwise cosines -1/dim.

    The vertices e_i - centroid of the standard simplex in R^(d+1), written
    in the orthonormal Helmert basis of the hyperplane sum(x) = 0.
    """
    n = dim + 1
    helmert = torch.zeros(n, dim, dtype=torch.float64)
    for k in range(1, n):
        norm = math.sqrt(k * (k + 1))
        helmert[:k, k - 1] = 1 / norm
        helmert[k, k - 1] = -k / norm
    return torch.nn.functional.normalize(helmert, dim=1).float()


def planar_lines(num_vectors: int) -> Tensor:
    """``num_vectors`` equally spaced lines in R^2 (optimal for d = 2)."""
    angles = torch.arange(num_vectors, dtype=torch.float64) * (
        math.pi / num_vectors)
    return torch.stack([angles.cos(), angles.sin()], 1).float()


def kerdock_order(dim: int) -> Optional[int]:
    """Largest n = 4^k <= dim with k >= 1 (None if dim < 4)."""
    if dim < 4:
        return None
    k = int(math.log(dim, 4))
    while 4**(k + 1) <= dim:
        k += 1
    while 4**k > dim:
        k -= 1
    return 4**k


def kerdock_capacity(n: int) -> int:
    """Number of vectors of a full Kerdock set in R^n: n(n/2 + 1)."""
    return n * (n // 2 + 1)


def _gf_mul(a: np.ndarray, b: np.ndarray, degree: int) -> np.ndarray:
    """Elementwise product in GF(2^degree) of integer-coded elements."""
    poly, top = IRREDUCIBLE[degree], 1 << degree
    a = a.astype(np.int64).copy()
    b = np.broadcast_to(b, np.broadcast(a, b).shape).astype(np.int64)
    a = np.broadcast_to(a, b.shape).copy()
    result = np.zeros(b.shape, dtype=np.int64)
    for bit in range(degree):
        result ^= np.where((b >> bit) & 1 == 1, a, 0)
        a <<= 1
        a = np.where(a & top != 0, a ^ poly, a)
    return result


def _gf_trace_mask(degree: int) -> int:
    """Bit mask t with Tr(y) = parity(y & t) in GF(2^degree)."""
    mask = 0
    for bit in range(degree):
        y = np.array([1 << bit])
        total, power = np.zeros(1, np.int64), y
        for _ in range(degree):
            total ^= power
            power = _gf_mul(power, power, degree)
        if total[0] not in (0, 1):
            raise AssertionError('trace outside GF(2): bad polynomial')
        mask |= int(total[0]) << bit
    return mask


def _parity(values: np.ndarray) -> np.ndarray:
    values = values.copy()
    result = np.zeros_like(values)
    while values.any():
        result ^= values & 1
        values >>= 1
    return result


def _elementary_quadratic(degree: int) -> np.ndarray:
    """q(y) = sum_{i<j} y^(2^i) y^(2^j) for every y in GF(2^degree)."""
    conjugate = np.arange(1 << degree, dtype=np.int64)
    running_sum = np.zeros_like(conjugate)
    result = np.zeros_like(conjugate)
    for _ in range(degree):
        result ^= _gf_mul(running_sum, conjugate, degree)
        running_sum ^= conjugate
        conjugate = _gf_mul(conjugate, conjugate, degree)
    if not np.isin(result, (0, 1)).all():
        raise AssertionError('q(y) outside GF(2): bad polynomial')
    return result


def kerdock_quadratic_forms(m: int, members: int) -> np.ndarray:
    """Truth tables (members x 2^m, values 0/1) of Q_a for a = 0..members-1.

    Point z of GF(2)^m is coded as x + e * 2^(m-1), x in GF(2^(m-1)).
    """
    if m % 2 or m < 2 or (m - 1) not in IRREDUCIBLE:
        raise ValueError(f'Kerdock sets need an even m in 2..16, got {m}.')
    degree = m - 1
    if not 0 < members <= 1 << degree:
        raise ValueError(f'At most {1 << degree} forms exist for m={m}.')
    x = np.arange(1 << degree, dtype=np.int64)
    a = np.arange(members, dtype=np.int64)[:, None]
    ax = _gf_mul(a, x[None, :], degree)
    q_ax = _elementary_quadratic(degree)[ax]
    tr_ax = _parity(ax & _gf_trace_mask(degree))
    return np.concatenate([q_ax, q_ax ^ tr_ax], axis=1).astype(np.int8)


def walsh_spectrum(truth_table: Tensor) -> Tensor:
    """Walsh-Hadamard transform of (-1)^f for each row of 0/1 truth tables."""
    signs = 1 - 2 * truth_table.to(torch.int64)
    size = signs.shape[-1]
    h = 1
    while h < size:
        signs = signs.reshape(*signs.shape[:-1], size // (2 * h), 2, h)
        left, right = signs[..., 0, :], signs[..., 1, :]
        signs = torch.stack([left + right, left - right], -2).reshape(
            *signs.shape[:-3], size)
        h *= 2
    return signs


def sylvester_hadamard(n: int) -> Tensor:
    """Normalised Sylvester-Hadamard matrix of order n (a power of 2)."""
    h = torch.ones(1, 1)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h / math.sqrt(n)


def kerdock_vectors(num_vectors: int, dim: int) -> Tuple[Tensor, float]:
    """Mutually unbiased bases of R^n (n = 4^k <= dim), zero-padded to dim.

    Returns ``(vectors, coherence)`` with coherence 1/sqrt(n) (or 0 when
    ``num_vectors <= n``). The standard basis comes first, then the bases
    of ``Q_0 = 0`` (the Hadamard basis), ``Q_1``, ... in that order.
    """
    n = kerdock_order(dim)
    if n is None or num_vectors > kerdock_capacity(n):
        raise ValueError(f'No Kerdock set of {num_vectors} vectors in '
                         f'R^{dim}.')
    m = int(round(math.log2(n)))
    num_bases = math.ceil(num_vectors / n)
    vectors = torch.zeros(num_vectors, dim)
    first = min(n, num_vectors)
    vectors[:first, :first] = torch.eye(first)
    if num_bases > 1:
        forms = torch.from_numpy(kerdock_quadratic_forms(m, num_bases - 1))
        hadamard = sylvester_hadamard(n)
        for index, table in enumerate(forms):
            start = n * (index + 1)
            stop = min(start + n, num_vectors)
            signs = (1 - 2 * table.float())[None, :]
            vectors[start:stop, :n] = hadamard[:stop - start] * signs
    return vectors, (1 / math.sqrt(n) if num_vectors > n else 0.0)


def prime_power(q: int) -> Optional[Tuple[int, int]]:
    """``(p, k)`` with q = p^k, p prime, k >= 1; None otherwise."""
    if q < 2:
        return None
    p = next(f for f in range(2, q + 1) if q % f == 0)
    k = 0
    while q % p == 0:
        q, k = q // p, k + 1
    return (p, k) if q == 1 else None


def _poly_mod(a: list, f: list, p: int) -> list:
    """``a`` mod the monic ``f`` over GF(p) (coefficient lists, low first)."""
    a = list(a)
    while len(a) >= len(f):
        lead = a[-1]
        if lead:
            shift = len(a) - len(f)
            for i, c in enumerate(f):
                a[shift + i] = (a[shift + i] - lead * c) % p
        a.pop()
    return a


def _irreducible(p: int, k: int) -> list:
    """The first monic irreducible polynomial of degree k over GF(p).

    Irreducible = no monic factor of degree 1..k/2 (trial division).
    """
    def monic(degree: int):
        for code in range(p**degree):
            yield [code // p**i % p for i in range(degree)] + [1]

    for f in monic(k):
        if all(any(_poly_mod(f, g, p)) for degree in range(1, k // 2 + 1)
               for g in monic(degree)):
            return f
    raise AssertionError(f'no irreducible polynomial of degree {k} mod {p}')


def quadratic_character(q: int) -> np.ndarray:
    """chi(x) for the q elements of GF(q): 0 at 0, +1 on squares, else -1.

    Element x is coded by its base-p digits, the coefficients of a
    polynomial modulo an irreducible one of degree k (q = p^k).
    """
    p, k = prime_power(q)
    f = _irreducible(p, k) if k > 1 else [0, 1]
    chi = -np.ones(q, dtype=np.int64)
    chi[0] = 0
    for x in range(1, q):
        digits = [x // p**i % p for i in range(k)]
        square = [0] * (2 * k - 1)
        for i, a in enumerate(digits):
            for j, b in enumerate(digits):
                square[i + j] += a * b
        reduced = _poly_mod([c % p for c in square], f, p) if k > 1 else [
            square[0] % p]
        chi[sum(c * p**i for i, c in enumerate(reduced))] = 1
    return chi


def _subtract_codes(q: int) -> np.ndarray:
    """Codes of x - y for all coded elements x, y of GF(q) (q x q)."""
    p, k = prime_power(q)
    codes = np.arange(q)
    result = np.zeros((q, q), dtype=np.int64)
    for i in range(k):
        digit = codes // p**i % p
        result += (digit[:, None] - digit[None, :]) % p * p**i
    return result


def paley_order(num_vectors: int, dim: int) -> Optional[int]:
    """q with dim = (q + 1) / 2, q a prime power = 1 mod 4, and
    dim + 1 < num_vectors <= q + 1 (a Paley ETF holds them); else None."""
    q = 2 * dim - 1
    if (q % 4 != 1 or not dim + 1 < num_vectors <= q + 1
            or prime_power(q) is None):
        return None
    return q


def largest_paley_order(num_vectors: int, dim: int) -> Optional[int]:
    """The largest q (prime power, q = 1 mod 4) whose Paley ETF fits in
    (N, d): q + 1 <= N and (q + 1) / 2 <= d. None if there is none."""
    q = min(num_vectors - 1, 2 * dim - 1)
    q -= (q - 1) % 4
    while q >= 5 and prime_power(q) is None:
        q -= 4
    return q if q >= 5 else None


def paley_etf(num_vectors: int, dim: int) -> Tuple[Tensor, float]:
    """The first ``num_vectors`` lines of the Paley ETF in R^dim.

    The conference matrix C = [[0, 1], [1, chi(x - y)]] of order q + 1
    (symmetric since q = 1 mod 4) has C^2 = q I, so I + C / sqrt(q) is twice
    a projection of rank (q + 1) / 2 with unit diagonal: the Gram matrix of
    q + 1 unit vectors in R^dim whose pairwise |cos| all equal 1/sqrt(q).
    Returns ``(vectors, coherence)`` like :func:`kerdock_vectors`.
    """
    q = paley_order(num_vectors, dim)
    if q is None:
        raise ValueError(f'No Paley ETF holds {num_vectors} vectors in '
                         f'R^{dim}: need dim = (q + 1) / 2 for a prime power '
                         f'q = 1 mod 4 and dim + 1 < num_vectors <= q + 1.')
    conference = np.ones((q + 1, q + 1))
    conference[0, 0] = 0
    conference[1:, 1:] = quadratic_character(q)[_subtract_codes(q)]
    gram = torch.eye(q + 1, dtype=torch.float64) + torch.from_numpy(
        conference) / math.sqrt(q)
    values, vectors = torch.linalg.eigh(gram)  # eigenvalues 0 and 2
    frame = vectors[:, -dim:] * values[-dim:].clamp_min(0).sqrt()
    frame = torch.nn.functional.normalize(frame[:num_vectors], dim=1)
    return frame.float().contiguous(), 1 / math.sqrt(q)


def projective_plane_order(num_vectors: int, dim: int) -> Optional[int]:
    """The largest prime q with q + 1 a power of 2 and q^2 + q + 1 <= dim
    whose plane holds more than q + 1 and at most (q^2 + q + 1)(q + 1)
    vectors; None if there is none."""
    best = None
    for k in range(2, 8):
        q = 2**k - 1
        points = q * q + q + 1
        if (points <= dim and prime_power(q) == (q, 1)
                and q + 1 < num_vectors <= points * (q + 1)):
            best = q
    return best


def _projective_plane_incidence(q: int) -> np.ndarray:
    """Point-line incidence matrix of PG(2, q), q prime: points and lines
    are the normalised nonzero vectors of GF(q)^3 ((1, a, b), (0, 1, a),
    (0, 0, 1)), a point on a line when their dot product is 0 mod q."""
    a, b = np.meshgrid(np.arange(q), np.arange(q), indexing='ij')
    reps = np.concatenate([
        np.stack([np.ones(q * q, int), a.ravel(), b.ravel()], 1),
        np.stack([np.zeros(q, int), np.ones(q, int), np.arange(q)], 1),
        np.array([[0, 0, 1]])])
    return reps @ reps.T % q == 0


def projective_plane_lines(num_vectors: int, dim: int) -> Tuple[Tensor, float]:
    """Hadamard rows on the lines of PG(2, q), zero-padded to ``dim``.

    Each line of the plane (q + 1 of its q^2 + q + 1 points) carries the
    q + 1 rows of the Sylvester-Hadamard matrix on its points: rows on the
    same line are orthogonal, and two lines meet in exactly one point, so
    rows on different lines have |cos| = 1/(q + 1). Rows come line by line.
    Returns ``(vectors, coherence)`` like :func:`kerdock_vectors`.
    """
    q = projective_plane_order(num_vectors, dim)
    if q is None:
        raise ValueError(
            f'No projective-plane set holds {num_vectors} vectors in R^{dim}:'
            f' need q^2 + q + 1 <= dim and q + 1 < num_vectors <= '
            f'(q^2 + q + 1)(q + 1) for q = 3, 7, 31 or 127.')
    incidence = torch.from_numpy(_projective_plane_incidence(q))
    num_lines = -(-num_vectors // (q + 1))
    vectors = torch.zeros(num_lines, q + 1, dim)
    for line, points in enumerate(incidence[:num_lines]):
        vectors[line][:, points.nonzero()[:, 0]] = sylvester_hadamard(q + 1)
    return vectors.reshape(-1, dim)[:num_vectors].contiguous(), 1 / (q + 1)
