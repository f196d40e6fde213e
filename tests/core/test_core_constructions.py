"""Exact constructions: orthonormal rows, simplex, planar lines, Kerdock,
Paley ETFs, projective-plane sets."""
import itertools
import math

import pytest
import torch

from mmebv.core import coherence_report, generate_ebvs, lower_bound
from mmebv.core.constructions import (kerdock_capacity, kerdock_order,
                                      kerdock_quadratic_forms,
                                      kerdock_vectors, largest_paley_order,
                                      orthonormal_rows, paley_etf,
                                      paley_order, planar_lines,
                                      prime_power, projective_plane_lines,
                                      projective_plane_order,
                                      quadratic_character,
                                      regular_simplex, walsh_spectrum)


def gram_of(x: torch.Tensor) -> torch.Tensor:
    return x.double() @ x.double().t()


def test_orthonormal_rows():
    x = orthonormal_rows(64, 100, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float32 and x.shape == (64, 100)
    assert torch.allclose(gram_of(x), torch.eye(64, dtype=torch.float64),
                          atol=1e-6)


def test_regular_simplex():
    x = regular_simplex(9)
    gram = gram_of(x)
    off = gram[~torch.eye(10, dtype=torch.bool)]
    assert torch.allclose(off, torch.full_like(off, -1 / 9), atol=1e-6)
    assert torch.allclose(gram.diagonal(), torch.ones(10).double(), atol=1e-6)


@pytest.mark.parametrize('n', [3, 7, 12])
def test_planar_lines_are_optimal(n):
    report = coherence_report(planar_lines(n))
    assert report.max_abs_cos == pytest.approx(math.cos(math.pi / n), abs=1e-6)


@pytest.mark.parametrize('m', [2, 4, 6, 8])
def test_kerdock_forms_pairwise_bent(m):
    """Every pairwise sum of the forms has a flat Walsh spectrum."""
    forms = torch.from_numpy(kerdock_quadratic_forms(m, 1 << (m - 1)))
    pairs = list(itertools.combinations(range(forms.shape[0]), 2))
    sums = torch.stack([forms[i] ^ forms[j] for i, j in pairs])
    spectrum = walsh_spectrum(sums).abs()
    assert bool((spectrum == 2**(m // 2)).all())


@pytest.mark.parametrize('m', [10, 12])
def test_kerdock_forms_large_m_first_members(m):
    forms = torch.from_numpy(kerdock_quadratic_forms(m, 12))
    sums = torch.stack([forms[i] ^ forms[j]
                        for i, j in itertools.combinations(range(12), 2)])
    assert bool((walsh_spectrum(sums).abs() == 2**(m // 2)).all())


def test_walsh_spectrum_detects_non_bent():
    linear = torch.tensor([[0, 1, 0, 1]])  # f(x) = x0: not bent
    assert not bool((walsh_spectrum(linear).abs() == 2).all())


@pytest.mark.parametrize('d, n, mu', [(4, 12, 0.5), (16, 144, 0.25),
                                      (64, 2112, 0.125)])
def test_kerdock_oracles(d, n, mu):
    assert kerdock_order(d) == d and kerdock_capacity(d) == n
    vectors, coherence = kerdock_vectors(n, d)
    report = coherence_report(vectors)
    assert coherence == mu
    assert report.max_abs_cos == pytest.approx(mu, abs=1e-6)
    # these sizes meet the orthoplex bound: auto returns the Kerdock set
    assert lower_bound(n, d) == pytest.approx(mu)
    auto = generate_ebvs(n, d, progress=False)
    assert coherence_report(auto).max_abs_cos == pytest.approx(mu, abs=1e-6)


def test_kerdock_embedding_partial_basis():
    vectors, coherence = kerdock_vectors(100, 20)  # n = 16, 7 bases, padded
    assert vectors.shape == (100, 20) and coherence == 0.25
    assert bool((vectors[:, 16:] == 0).all())
    assert coherence_report(vectors).max_abs_cos == pytest.approx(0.25)


def test_kerdock_rejects_too_many():
    with pytest.raises(ValueError, match='No Kerdock set'):
        kerdock_vectors(13, 4)


def test_prime_power():
    assert prime_power(25) == (5, 2) and prime_power(81) == (3, 4)
    assert prime_power(17) == (17, 1)
    assert prime_power(21) is None and prime_power(1) is None


@pytest.mark.parametrize('q', [5, 9, 13, 25, 27, 81, 125])
def test_quadratic_character(q):
    chi = quadratic_character(q)
    # half the nonzero elements are squares; -1 is a square iff q = 1 mod 4
    assert chi[0] == 0 and int((chi == 1).sum()) == (q - 1) // 2
    p, _ = prime_power(q)
    minus_one = p - 1  # the code of -1 (constant polynomial p - 1)
    assert chi[minus_one] == (1 if q % 4 == 1 else -1)


@pytest.mark.parametrize('q', [5, 9, 13, 17, 25, 49, 81])
def test_paley_etf_is_equiangular_and_tight(q):
    # the real ETF of q + 1 vectors in R^((q + 1) / 2) meets the Welch bound
    # (Paley conference matrices; e.g. Sustik, Tropp, Dhillon, Heath, Linear
    # Algebra Appl. 426, 2007)
    n, d = q + 1, (q + 1) // 2
    assert paley_order(n, d) == q
    vectors, coherence = paley_etf(n, d)
    gram = gram_of(vectors)
    off = gram[~torch.eye(n, dtype=torch.bool)].abs()
    assert coherence == pytest.approx(1 / math.sqrt(q))
    assert coherence == pytest.approx(lower_bound(n, d))
    assert torch.allclose(off, torch.full_like(off, coherence), atol=1e-6)
    assert torch.allclose(gram.diagonal(), torch.ones(n).double(), atol=1e-6)
    frame_operator = vectors.double().t() @ vectors.double()
    assert torch.allclose(frame_operator, n / d * torch.eye(d).double(),
                          atol=1e-5)


def test_paley_order_rules():
    assert paley_order(26, 13) == 25 and paley_order(20, 13) == 25
    assert paley_order(14, 13) is None  # N = d + 1: the simplex
    assert paley_order(27, 13) is None  # more than q + 1
    assert paley_order(22, 11) is None  # q = 21 is not a prime power
    assert paley_order(16, 8) is None  # q = 15 = 3 mod 4
    with pytest.raises(ValueError, match='No Paley ETF'):
        paley_etf(22, 11)


def test_largest_paley_order():
    assert largest_paley_order(1000, 500) == 997  # 998 vectors in R^499
    assert largest_paley_order(1000, 400) == 797
    assert largest_paley_order(26, 13) == 25
    assert largest_paley_order(25, 13) == 17  # 21 is not a prime power
    assert largest_paley_order(6, 2) is None


@pytest.mark.parametrize('n, d', [(18, 9), (26, 13), (50, 25)])
def test_auto_returns_paley_etf(n, d):
    # issue #11: the optimiser stopped 6-8% above these ETFs
    mu = coherence_report(generate_ebvs(n, d, progress=False)).max_abs_cos
    assert mu == pytest.approx(lower_bound(n, d), abs=1e-6)


@pytest.mark.parametrize('q', [3, 7])
def test_projective_plane_lines(q):
    # PG(2, q): q^2 + q + 1 points, any two lines meet in exactly one point
    points = q * q + q + 1
    n = points * (q + 1)
    assert projective_plane_order(n, points) == q
    vectors, coherence = projective_plane_lines(n, points + 3)
    assert vectors.shape == (n, points + 3)
    assert not vectors[:, points:].any()  # zero-padded
    gram = gram_of(vectors)
    assert torch.allclose(gram.diagonal(), torch.ones(n).double(), atol=1e-6)
    off = gram[~torch.eye(n, dtype=torch.bool)].abs()
    assert coherence == 1 / (q + 1)
    assert float(off.max()) == pytest.approx(coherence, abs=1e-6)
    # |cos| is 0 on the same line, 1/(q + 1) across lines, nothing else
    levels = torch.isclose(off, torch.zeros(()).double(), atol=1e-6) | \
        torch.isclose(off, torch.tensor(coherence).double(), atol=1e-6)
    assert bool(levels.all())
    # a full set is sqrt(1 + 1/(q + 1)^2) times the Welch bound
    assert coherence / lower_bound(n, points) == pytest.approx(
        math.sqrt(1 + 1 / (q + 1)**2))


def test_projective_plane_order_rules():
    assert projective_plane_order(52, 13) == 3
    assert projective_plane_order(53, 13) is None  # beyond 13 x 4 lines
    assert projective_plane_order(4, 13) is None  # N <= q + 1: one line
    assert projective_plane_order(50, 12) is None  # no plane fits
    assert projective_plane_order(400, 60) == 7
    with pytest.raises(ValueError, match='No projective-plane set'):
        projective_plane_lines(53, 13)


def test_auto_returns_projective_plane_set():
    # issue #11: 50 lines in R^13, best known 0.25 (quoted from Sloane's
    # table); the optimiser alone stopped at 0.285
    mu = coherence_report(generate_ebvs(50, 13, progress=False)).max_abs_cos
    assert mu == pytest.approx(0.25, abs=1e-6)
