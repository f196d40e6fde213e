"""The authors' EBV generation (Algorithm 1 of the paper), re-implemented.

Gaussian start with unit rows; every step sums relu(|W_s W^T| - I - alpha)
over row slices W_s of 130 rows, takes one plain SGD step (lr 1e-3, no
momentum) on that sum and re-normalises the rows; it stops once
max |cos| <= alpha + 1e-4.
"""
import time
from typing import Optional

import torch
from torch import Tensor
from tqdm import tqdm

#: The authors' settings.
PAPER_ALPHA = 0.002
PAPER_SLICE = 130
PAPER_LR = 1e-3
PAPER_MAX_STEPS = 100_000
PAPER_TOLERANCE = 1e-4


@torch.no_grad()
def paper_step(w: Tensor, alpha: float, lr: float = PAPER_LR,
               slice_rows: int = PAPER_SLICE) -> tuple:
    """One step of Algorithm 1 on unit rows ``w``; returns (new_w, max |cos|).

    The max |cos| is the one of ``w`` before the step (the stopping test).
    The gradient of sum_{i != j} relu(|g_ij| - alpha) w.r.t. row k is
    2 sum_j sign(g_kj) [|g_kj| > alpha] w_j, accumulated slice by slice.
    """
    grad = torch.zeros_like(w)
    max_abs = 0.0
    for start in range(0, w.shape[0], slice_rows):
        stop = min(start + slice_rows, w.shape[0])
        gram = w[start:stop] @ w.t()
        index = torch.arange(stop - start, device=w.device)
        gram[index, index + start] = 0.0
        abs_gram = gram.abs()
        max_abs = max(max_abs, float(abs_gram.max()))
        active = gram.sign().masked_fill_(abs_gram <= alpha, 0.0)
        grad[start:stop] = 2 * (active @ w)
    return torch.nn.functional.normalize(w - lr * grad, dim=1), max_abs


@torch.no_grad()
def paper_ebvs(num_vectors: int, dim: int, alpha: float,
               generator: torch.Generator, device: torch.device,
               time_limit: Optional[float] = None,
               max_steps: Optional[int] = None,
               progress: bool = False) -> Tensor:
    """Run Algorithm 1 until max |cos| <= alpha + 1e-4 or the budget ends.

    Returns the set with the smallest max |cos| seen (the final one when the
    target is met).
    """
    deadline = None if time_limit is None else time.monotonic() + time_limit
    steps = PAPER_MAX_STEPS if max_steps is None else max_steps
    w = torch.randn(num_vectors, dim, generator=generator)
    w = torch.nn.functional.normalize(w.to(device), dim=1)
    best_w, best_mu = w, float('inf')
    bar = tqdm(total=steps, disable=not progress, desc='EBV (paper)',
               leave=False)
    for _ in range(steps + 1):
        new_w, mu = paper_step(w, alpha)
        if mu < best_mu:
            best_w, best_mu = w, mu
            bar.set_postfix(max_abs_cos=f'{mu:.5f}')
        if mu <= alpha + PAPER_TOLERANCE or (
                deadline and time.monotonic() > deadline):
            break
        w = new_w
        bar.update(1)
    bar.close()
    return best_w
