"""Lower bounds and the tiled coherence report."""
import math

import pytest
import torch

from mmebv.core import coherence_report, lower_bound
from mmebv.core.bounds import max_abs_cos


def dense_stats(x: torch.Tensor) -> dict:
    x = torch.nn.functional.normalize(x.double(), dim=1)
    gram = x @ x.t()
    upper = gram[torch.ones_like(gram, dtype=torch.bool).triu(1)]
    return dict(max_abs=upper.abs().max().item(), max=upper.max().item(),
                mean_abs=upper.abs().mean().item(),
                p999=nearest_rank(upper.abs(), 0.999))


def nearest_rank(values: torch.Tensor, q: float) -> float:
    ordered = values.sort().values
    return ordered[math.ceil(q * len(ordered)) - 1].item()


@pytest.mark.parametrize('n, d, expected', [
    (5, 5, 0.0),
    (4, 3, 1 / 3),  # Welch (simplex)
    (6, 3, 1 / math.sqrt(5)),  # Welch (icosahedron)
    (7, 3, 1 / math.sqrt(3)),  # orthoplex
    (12, 4, 0.5),  # orthoplex
    (28, 7, 1 / 3),  # Welch
    (276, 23, 1 / 5),  # Welch
])
def test_lower_bound_values(n, d, expected):
    assert lower_bound(n, d) == pytest.approx(expected, abs=1e-12)


def test_lower_bound_levenshtein_wins_for_many_vectors():
    n, d = 40, 4  # N > d(d+1)/2 and large: Levenshtein beats orthoplex
    lev = math.sqrt((3 * n - d * d - 2 * d) / ((d + 2) * (n - d)))
    assert lev > 0.5
    assert lower_bound(n, d) == pytest.approx(lev)


def test_lower_bound_rejects_bad_sizes():
    with pytest.raises(ValueError, match='positive'):
        lower_bound(0, 3)


@pytest.mark.parametrize('block_rows', [1, 7, 64, None])
def test_tiled_report_equals_dense(block_rows):
    x = torch.randn(50, 6, generator=torch.Generator().manual_seed(3))
    report = coherence_report(x, block_rows=block_rows)
    dense = dense_stats(x)
    assert report.max_abs_cos == pytest.approx(dense['max_abs'], abs=1e-6)
    assert report.max_cos == pytest.approx(dense['max'], abs=1e-6)
    assert report.mean_abs_cos == pytest.approx(dense['mean_abs'], abs=1e-6)
    assert abs(report.p999_abs_cos - dense['p999']) <= 2e-5
    assert report.bound == lower_bound(50, 6)
    assert report.ratio_to_bound == pytest.approx(
        report.max_abs_cos / report.bound)
    assert report.min_angle_deg == pytest.approx(
        math.degrees(math.acos(dense['max_abs'])), abs=1e-3)
    assert max_abs_cos(torch.nn.functional.normalize(x, dim=1),
                       block_rows=block_rows) == pytest.approx(
                           dense['max_abs'], abs=1e-6)


def test_report_ignores_zero_padding_and_prints_table():
    x = torch.randn(20, 5, generator=torch.Generator().manual_seed(0))
    padded = torch.cat([x, torch.zeros(20, 11)], 1)
    a, b = coherence_report(x), coherence_report(padded)
    assert a.max_abs_cos == pytest.approx(b.max_abs_cos, abs=1e-7)
    assert b.dim == 16 and b.bound == lower_bound(20, 16)
    text = str(b)
    for label in ('max |cos|', 'lower bound', 'ratio to bound', '20 x 16'):
        assert label in text


def test_report_rejects_single_vector():
    with pytest.raises(ValueError, match='N >= 2'):
        coherence_report(torch.ones(1, 3))
