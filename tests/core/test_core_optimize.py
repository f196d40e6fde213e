"""The tiled p-norm pass of the optimiser against autograd."""
import math

import pytest
import torch

from mmebv.core.optimize import coherence_pass, minimize_coherence


def autograd_reference(x, p, reference, num_fixed=0):
    leaf = x.double().clone().requires_grad_(True)
    gram = (leaf @ leaf.t()).triu(1)
    if num_fixed:
        gram[:num_fixed, :num_fixed] = 0
    total = ((gram.abs() / reference)**p).sum()
    total.backward()
    grad = leaf.grad
    grad = grad - (grad * leaf.detach()).sum(1, keepdim=True) * leaf.detach()
    grad[:num_fixed] = 0
    log_objective = math.log(total.item()) / p + math.log(reference)
    return grad, log_objective, gram.abs().max().item()


@pytest.mark.parametrize('num, p, block_rows, num_fixed', [
    (40, 8.0, None, 0),  # dense
    (40, 8.0, 7, 5),  # dense, tiled, frozen rows
    (600, 256.0, 100, 0),  # sparse path (N > 512, p >= 64)
    (600, 256.0, 64, 50),  # sparse, tiled, frozen rows
])
def test_pass_matches_autograd(num, p, block_rows, num_fixed):
    x = torch.nn.functional.normalize(
        torch.randn(num, 6, generator=torch.Generator().manual_seed(0)), dim=1)
    reference = 0.9
    grad, log_objective, max_abs = autograd_reference(x, p, reference,
                                                      num_fixed)
    result = coherence_pass(x, p, reference, num_fixed,
                            block_rows=block_rows)
    assert result.max_abs_cos == pytest.approx(max_abs, abs=1e-6)
    assert result.log_objective == pytest.approx(log_objective, abs=1e-5)
    direction = result.direction.double()
    cosine = (direction * grad).sum() / (direction.norm() * grad.norm())
    assert cosine.item() > 1 - 1e-5
    assert bool((direction[:num_fixed] == 0).all())


def test_minimize_keeps_fixed_rows_and_best():
    x = torch.nn.functional.normalize(
        torch.randn(30, 4, generator=torch.Generator().manual_seed(2)), dim=1)
    best, mu = minimize_coherence(x, num_fixed=10, max_steps=50)
    assert torch.equal(best[:10], x[:10])
    gram = best @ best.t()
    gram[:10, :10] = 0
    gram.fill_diagonal_(0)
    assert mu == pytest.approx(gram.abs().max().item(), abs=1e-6)
