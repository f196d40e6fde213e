"""Linear centered kernel alignment (CKA) between layer representations.

Two estimators, both in float64:

* :func:`linear_cka` -- the exact linear CKA of two full feature matrices
  (Kornblith et al., 2019), computed in feature space or in Gram space,
  whichever is smaller.
* :class:`MinibatchCKA` -- the minibatch estimator of Nguyen et al. (2021):
  unbiased HSIC (Song et al., 2012) summed over batches, so memory stays at
  one (B, B) Gram matrix per layer whatever the dataset size or feature width.
"""
from typing import Sequence

import torch
from torch import Tensor


def _as_matrix(features: Tensor) -> Tensor:
    """(n, ...) features as an (n, p) float64 matrix."""
    if features.dim() < 2:
        raise ValueError(
            f'Expected features shaped (num_samples, ...), got '
            f'{tuple(features.shape)}.')
    return features.detach().reshape(features.shape[0], -1).double()


def linear_cka(x: Tensor, y: Tensor) -> float:
    """Exact linear CKA between two representations of the same n samples.

    Args:
        x: (n, ...) features; everything after the first dim is flattened.
        y: (n, ...) features of the same samples, in the same order.

    Returns:
        CKA in [0, 1]; 1 when ``y`` is an orthogonal transform and/or
        isotropic scaling of ``x`` (up to a shift).
    """
    x, y = _as_matrix(x), _as_matrix(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f'x and y must hold the same samples: got {x.shape[0]} and '
            f'{y.shape[0]} rows.')
    if x.shape[0] < 2:
        raise ValueError('CKA needs at least 2 samples.')
    x = x - x.mean(0, keepdim=True)
    y = y - y.mean(0, keepdim=True)
    n, px, py = x.shape[0], x.shape[1], y.shape[1]
    if px * py <= n * n:
        cross = (y.t() @ x).square().sum()
        norm_x = (x.t() @ x).square().sum().sqrt()
        norm_y = (y.t() @ y).square().sum().sqrt()
    else:
        gram_x, gram_y = x @ x.t(), y @ y.t()
        cross = (gram_x * gram_y).sum()
        norm_x = gram_x.square().sum().sqrt()
        norm_y = gram_y.square().sum().sqrt()
    denom = norm_x * norm_y
    if denom == 0:
        raise ValueError('CKA is undefined for a constant representation.')
    return float(cross / denom)


def unbiased_hsic(gram_x: Tensor, gram_y: Tensor) -> Tensor:
    """Unbiased HSIC estimator of two (n, n) Gram matrices, n >= 4.

    The estimator of Song et al. (2012); the diagonals are ignored.

    Args:
        gram_x (Tensor): (n, n) Gram matrix of the first representation.
        gram_y (Tensor): (n, n) Gram matrix of the second, over the same
            samples in the same order.

    Returns:
        Tensor: The 0-dim estimate (may be slightly negative).

    Raises:
        ValueError: If n is below 4.
    """
    n = gram_x.shape[0]
    if n < 4:
        raise ValueError(f'Unbiased HSIC needs n >= 4 samples, got {n}.')
    gx = gram_x.clone()
    gy = gram_y.clone()
    gx.fill_diagonal_(0)
    gy.fill_diagonal_(0)
    trace_term = (gx * gy).sum()
    sum_x, sum_y = gx.sum(), gy.sum()
    cross_term = gx.sum(0) @ gy.sum(1)
    value = (trace_term + sum_x * sum_y / ((n - 1) * (n - 2)) -
             2.0 * cross_term / (n - 2))
    return value / (n * (n - 3))


class MinibatchCKA:
    """Accumulates minibatch linear CKA between two lists of layers.

    Call :meth:`update` with the features of the same batch for every layer
    of both lists, then :meth:`compute` for the (len(a), len(b)) matrix.
    Batches with fewer than 4 samples are skipped (counted in
    ``skipped_samples``) because the unbiased estimator needs 4.

    Args:
        num_layers_a: Number of layers in the first list (rows).
        num_layers_b: Number of layers in the second list (columns).
    """

    def __init__(self, num_layers_a: int, num_layers_b: int) -> None:
        if num_layers_a < 1 or num_layers_b < 1:
            raise ValueError('Both layer lists need at least one layer.')
        self.shape = (num_layers_a, num_layers_b)
        self.cross = torch.zeros(self.shape, dtype=torch.float64)
        self.self_a = torch.zeros(num_layers_a, dtype=torch.float64)
        self.self_b = torch.zeros(num_layers_b, dtype=torch.float64)
        self.num_samples = 0
        self.skipped_samples = 0

    def update(self, feats_a: Sequence[Tensor],
               feats_b: Sequence[Tensor]) -> None:
        """Add one batch: ``feats_a[i]`` and ``feats_b[j]`` are (B, ...)."""
        if (len(feats_a), len(feats_b)) != self.shape:
            raise ValueError(
                f'Expected {self.shape[0]} + {self.shape[1]} layer '
                f'features, got {len(feats_a)} + {len(feats_b)}.')
        sizes = {f.shape[0] for f in list(feats_a) + list(feats_b)}
        if len(sizes) != 1:
            raise ValueError(
                f'All layers must see the same batch; got batch sizes '
                f'{sorted(sizes)}.')
        batch = sizes.pop()
        if batch < 4:
            self.skipped_samples += batch
            return
        grams_a = [self._gram(f) for f in feats_a]
        grams_b = [self._gram(f) for f in feats_b]
        for i, ga in enumerate(grams_a):
            self.self_a[i] += unbiased_hsic(ga, ga)
            for j, gb in enumerate(grams_b):
                self.cross[i, j] += unbiased_hsic(ga, gb)
        for j, gb in enumerate(grams_b):
            self.self_b[j] += unbiased_hsic(gb, gb)
        self.num_samples += batch

    @staticmethod
    def _gram(features: Tensor) -> Tensor:
        x = _as_matrix(features)
        return x @ x.t()

    def compute(self) -> Tensor:
        """(len(a), len(b)) float64 CKA matrix over all batches seen."""
        if self.num_samples == 0:
            raise RuntimeError(
                'No batch with at least 4 samples was added; use a batch '
                'size of 4 or more.')
        denom = torch.outer(self.self_a, self.self_b).clamp_min(0).sqrt()
        if (denom == 0).any():
            raise ValueError(
                'A layer has a constant representation on every batch; '
                'its CKA is undefined.')
        return self.cross / denom
