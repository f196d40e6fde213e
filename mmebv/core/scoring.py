"""Cosine scoring against EBVs, bounded for every input.

Embeddings are normalised by :func:`bounded_normalize`, whose gradient
stays below 0.65 / :data:`NORM_EPS` (zero at a zero embedding), and tau is
at least :data:`MIN_TAU`, so logits stay within 1 / tau and gradients finite
in float32, float16 and bfloat16.
"""
import math

import torch
from torch import Tensor

#: Embedding norm below which scores fade smoothly to zero (see
#: :func:`bounded_normalize`): the cosine of an embedding of norm r is
#: scaled by r^2 / (r^2 + NORM_EPS^2), 1 - 1e-6 at r = 1.
NORM_EPS = 1e-3
#: Smallest temperature: logits are at most 1 / tau in magnitude.
MIN_TAU = 1e-3


def check_tau(tau: float) -> float:
    """Validate a temperature.

    Args:
        tau: The temperature dividing the cosines.

    Returns:
        ``tau`` as a float.

    Raises:
        ValueError: ``tau`` is not a finite number >= :data:`MIN_TAU`.
    """
    if (isinstance(tau, bool) or not isinstance(tau, (int, float))
            or not math.isfinite(tau) or tau < MIN_TAU):
        raise ValueError(
            f'tau must be a finite number >= {MIN_TAU:g} (logits are cos / '
            f'tau), got {tau!r}; the paper uses tau = 0.07.')
    return float(tau)


def bounded_normalize(x: Tensor, dim: int = -1,
                      eps: float = NORM_EPS) -> Tensor:
    """``x / |x|`` along ``dim``, fading smoothly to zero for ``|x| << eps``.

    Computes ``x |x| / (|x|^2 + eps^2)``: equal to ``x / |x|`` up to a
    factor ``1 - eps^2 / |x|^2`` for long vectors, zero with a zero
    gradient at ``x = 0``, and with a Jacobian of norm at most
    ``0.65 / eps`` everywhere (``F.normalize``'s reaches 1e12 at zero).

    Args:
        x: Embeddings, any float dtype (computed as given).
        dim: The channel dimension.
        eps: The norm below which the result fades to zero.

    Returns:
        A tensor of ``x``'s shape whose vectors have norm < 1.
    """
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True)
    return x * (norm / (norm * norm + eps * eps))
