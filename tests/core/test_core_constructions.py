"""Exact constructions: orthonormal rows, simplex, planar lines, Kerdock."""
import itertools
import math

import pytest
import torch

from mmebv.core import coherence_report, generate_ebvs, lower_bound
from mmebv.core.constructions import (kerdock_capacity, kerdock_order,
                                      kerdock_quadratic_forms,
                                      kerdock_vectors, orthonormal_rows,
                                      planar_lines, regular_simplex,
                                      walsh_spectrum)


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
