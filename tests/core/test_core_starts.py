"""The kinds of start of the small-problem optimiser (mmebv.core.starts)."""
import math

import pytest
import torch

from mmebv.core import generate_ebvs
from mmebv.core.bounds import max_abs_cos
from mmebv.core.constructions import paley_etf
from mmebv.core.optimize import minimize_orbit_coherence
from mmebv.core.starts import (ORBIT_SIZES, cyclic_rotation,
                               naimark_complement, orbit_start,
                               orbit_starts, structured_starts,
                               tight_projection, without_one_row)


def gaussian(num, dim, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(
        torch.randn(num, dim, generator=generator, dtype=torch.float64),
        dim=1)


def test_projection_gives_a_tight_frame():
    x = tight_projection(gaussian(20, 6), 0.5, 0.4, iterations=50)
    assert x.shape == (20, 6)
    frame = x.t() @ x  # tight: (N / d) I
    assert torch.allclose(frame, 20 / 6 * torch.eye(6, dtype=x.dtype),
                          atol=1e-9)


def test_projection_keeps_an_equiangular_tight_frame():
    # the Paley ETF of 10 lines in R^5 is a fixed point at its coherence
    etf, mu = paley_etf(10, 5)
    etf = etf.double()
    x = tight_projection(etf, mu, mu, iterations=5)
    assert torch.allclose(x @ x.t(), etf @ etf.t(), atol=1e-9)


def test_complement_is_unit_rows_of_the_orthogonal_complement():
    w = naimark_complement(gaussian(11, 4))
    assert w.shape == (11, 7)
    assert torch.allclose(w.norm(dim=1), torch.ones(11, dtype=w.dtype))
    # rows of an equal-norm tight frame's complement have equal norms, so
    # normalising keeps its columns orthogonal to the frame's
    etf = paley_etf(6, 3)[0].double()
    assert (naimark_complement(etf).t() @ etf).abs().max() < 1e-6


def test_complement_of_an_equiangular_tight_frame():
    # complement of an ETF(N, k) with coherence mu is an ETF(N, N - k) with
    # coherence mu k / (N - k): the Paley ETF of 6 lines in R^3 maps to one
    # with the same coherence 1 / sqrt(5)
    etf, mu = paley_etf(6, 3)
    w = naimark_complement(etf.double())
    gram = (w @ w.t()).abs().fill_diagonal_(mu)
    assert torch.allclose(gram, torch.full_like(gram, 1 / math.sqrt(5)),
                          atol=1e-6)


def test_drops_the_row_of_the_worst_pairs():
    # an orthonormal basis of R^4 and a fifth row close to its first row:
    # removing the fifth row leaves the smallest max |cos| (zero)
    extra = torch.tensor([[0.99, 0.1, 0.05, 0.0]], dtype=torch.float64)
    x = torch.cat([torch.eye(4, dtype=torch.float64),
                   torch.nn.functional.normalize(extra, dim=1)])
    kept = without_one_row(x)
    assert kept.shape == (4, 4)
    assert max_abs_cos(kept) == 0.0


@pytest.mark.parametrize('dim, size', [(10, 5), (9, 3), (4, 2)])
def test_cyclic_rotation_has_the_order(dim, size):
    rotation = cyclic_rotation(dim, size, torch.Generator().manual_seed(0))
    eye = torch.eye(dim, dtype=torch.float64)
    assert torch.allclose(rotation @ rotation.t(), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.matrix_power(rotation, size), eye,
                          atol=1e-12)


def test_orbit_optimisation_keeps_the_symmetry():
    generator = torch.Generator().manual_seed(0)
    rotation = cyclic_rotation(6, 3, generator)
    group = torch.stack([torch.linalg.matrix_power(rotation, j)
                         for j in range(3)])
    seeds = torch.randn(4, 6, generator=generator, dtype=torch.float64)
    start = torch.einsum('jab,mb->jma', group,
                         torch.nn.functional.normalize(seeds, dim=1))
    x = minimize_orbit_coherence(seeds, group).reshape(3, 4, 6)
    assert torch.allclose(x.norm(dim=2), torch.ones(3, 4, dtype=x.dtype))
    # block j + 1 is the rotation of block j, and the optimiser moved
    assert torch.allclose(x[1:], x[:-1] @ rotation.t(), atol=1e-12)
    assert max_abs_cos(x.reshape(12, 6)) < max_abs_cos(start.reshape(12, 6))


def test_one_orbit_start_of_each_size():
    assert len(orbit_starts(12, 5, torch.Generator())) == len(ORBIT_SIZES)


def test_orbit_start_drops_the_extra_rows():
    # 3 orbits of 5 rows, less one
    start = orbit_start(14, 9, 5, torch.Generator().manual_seed(0))(math.inf)
    assert start.x.shape == (14, 9)
    assert torch.allclose(start.x.norm(dim=1),
                          torch.ones(14, dtype=start.x.dtype))


@pytest.mark.parametrize('num, dim, kinds', [
    (23, 16, 3),  # 2 <= N - d < d: the complement start too
    (17, 16, 2),  # N - d = 1: a complement in R^1 is no start
    (40, 10, 2),  # N >= 2d: the complement would not be smaller
])
def test_structured_kinds(num, dim, kinds):
    makers = structured_starts(num, dim, 0.2, torch.Generator())
    assert len(makers) == kinds
    for maker in makers:
        start = maker(math.inf)
        assert start.x.shape == (num, dim) and start.p_start > 4


def test_starts_reach_a_packing_random_starts_miss():
    # 19 lines in R^5: best known 1/2 (Cohn's table); 32 random L-BFGS
    # starts stopped at 0.516; the drop-one-row start reaches it
    mu = max_abs_cos(generate_ebvs(19, 5, progress=False).double())
    assert 0.5 - 1e-6 <= mu <= 0.5 * (1 + 1e-3)


def test_a_construction_extended_into_its_holes():
    # 53 lines in R^14: best known 1/4 (Cohn's table), from the 52
    # projective-plane lines in R^13 and one row in a hole; the sweep's
    # default run before this candidate stopped at 1.086 times that
    mu = max_abs_cos(generate_ebvs(53, 14, progress=False).double())
    assert 0.25 - 1e-6 <= mu <= 0.25 * (1 + 1e-4)
