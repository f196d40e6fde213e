"""Relocation moves: which rows move, what stays, what they repair."""
import pytest
import torch

from mmebv.core.bounds import max_abs_cos
from mmebv.core.constructions import paley_etf
from mmebv.core.optimize import minimize_coherence_lbfgs, polish_coherence
from mmebv.core.relocation import (relocate_rows, relocation_search,
                                   rows_in_near_max_pairs, same_layout)


def displaced_etf(num: int, dim: int) -> tuple:
    """The Paley ETF of ``num`` lines in R^dim and its max |cos|, with its
    last row moved next to its first (their |cos| about 0.98)."""
    etf, mu = paley_etf(num, dim)
    x = etf.double()
    x[-1] = torch.nn.functional.normalize(x[0] + 0.2 * x[1], dim=0)
    return x, mu


def test_rows_in_near_max_pairs_are_the_rows_of_the_max_pair():
    x, _ = displaced_etf(10, 5)
    rows = rows_in_near_max_pairs(x, 2, torch.Generator().manual_seed(0))
    assert sorted(rows.tolist()) == [0, 9]


def test_relocate_rows_keeps_the_other_rows():
    x, _ = displaced_etf(10, 5)
    moved = relocate_rows(x, 1, torch.Generator().manual_seed(0))
    dropped = rows_in_near_max_pairs(x, 1, torch.Generator().manual_seed(0))
    kept = [row for row in range(10) if row != int(dropped)]
    assert moved.shape == x.shape
    assert torch.equal(moved[:9], x[kept])
    assert torch.allclose(moved.norm(dim=1), torch.ones(10).double())
    # the new row sits in a hole: far from the max pair it was part of
    assert float((moved[:9] @ moved[9]).abs().max()) < 0.9


def test_relocation_repairs_what_re_optimising_does_not():
    x, etf_mu = displaced_etf(18, 9)
    # all rows re-optimised and polished from the displaced set stop in a
    # wrong basin (0.5 here against the frame's 0.243)
    stuck, _ = polish_coherence(minimize_coherence_lbfgs(x, p_start=64.0)[0])
    assert max_abs_cos(stuck) > 1.1 * etf_mu
    repaired, mu = relocation_search(x, max_abs_cos(x), 3,
                                     torch.Generator().manual_seed(0))
    assert mu == pytest.approx(max_abs_cos(repaired), abs=1e-7)
    assert mu <= etf_mu * (1 + 1e-6)
    assert repaired.dtype == x.dtype


def test_relocation_search_never_returns_a_worse_set():
    x, etf_mu = paley_etf(14, 7)
    x = x.double()
    best, mu = relocation_search(x, etf_mu, 2,
                                 torch.Generator().manual_seed(0))
    # an optimal frame: a move can only tie it, and ties are not kept
    assert mu == etf_mu and torch.equal(best, x)


def test_relocation_search_stops_at_the_target():
    x, _ = displaced_etf(10, 5)
    start = max_abs_cos(x)
    best, mu = relocation_search(x, start, 3, torch.Generator(),
                                 stop=lambda mu: mu <= start)
    assert mu == start and torch.equal(best, x)


def test_same_layout_is_the_same_rows_in_any_order_and_sign():
    x, _ = paley_etf(10, 5)
    x = x.double()
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    signs = torch.tensor([1.0, -1.0] * 5).double()[:, None]
    assert same_layout(signs * x[order], x)
    nudged = x.clone()
    nudged[3] = torch.nn.functional.normalize(x[3] + 0.01 * x[4], dim=0)
    assert same_layout(nudged, x)
    # a row moved to another row's place: two rows share one of x's
    moved = x.clone()
    moved[3] = x[4]
    assert not same_layout(moved, x)
    # a row moved into a hole
    moved[3] = torch.nn.functional.normalize(x[3] + 0.3 * x[4], dim=0)
    assert not same_layout(moved, x)


def test_quick_moves_back_in_the_layout_are_not_polished():
    x, etf_mu = paley_etf(14, 7)
    x = x.double()
    x[3] = torch.nn.functional.normalize(x[3] + 0.01 * x[4], dim=0)
    start = max_abs_cos(x)
    # a polished move finds the frame again from its nudged copy
    _, mu = relocation_search(x, start, 1, torch.Generator().manual_seed(1))
    assert mu <= etf_mu * (1 + 1e-6) < start
    # quick moves come back to the nudged copy's layout and are dropped
    best, mu = relocation_search(x, start, 0,
                                 torch.Generator().manual_seed(1),
                                 quick_moves=3)
    assert mu == start and torch.equal(best, x)


def test_quick_moves_far_above_the_best_are_not_polished(monkeypatch):
    polished = []

    def counting_polish(x):
        polished.append(len(x))
        return polish_coherence(x)

    monkeypatch.setattr('mmebv.core.relocation.polish_coherence',
                        counting_polish)
    x, etf_mu = paley_etf(14, 7)
    x = x.double()
    # against a best half the frame's max |cos|, every move is far above
    best, mu = relocation_search(x, etf_mu / 2, 0, torch.Generator(),
                                 quick_moves=2)
    assert polished == [] and mu == etf_mu / 2 and torch.equal(best, x)
    relocation_search(x, etf_mu / 2, 2, torch.Generator())
    assert polished == [14, 14]
