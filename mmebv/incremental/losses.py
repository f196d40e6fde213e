"""Losses of the class-incremental recipe, in mmpretrain's ``MODELS``.

* :class:`DotRegressionLoss` pulls each normalised embedding onto its
  class's fixed vector (NC-FSCIL, Yang et al., ICLR 2023).
* :class:`ERACELoss` is cross-entropy with the asymmetric masking of ER-ACE
  (Caccia et al., ICLR 2022): incoming samples compete only with the current
  step's classes, replayed ones with every class seen.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS
from torch import Tensor, nn

from .checks import check_reduction


class _WeightedLoss(nn.Module):
    """A per-sample loss, weighted and reduced as mmpretrain's losses are."""

    def __init__(self, loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.reduction = check_reduction(reduction)

    def per_sample(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """The (B, ) unweighted loss of each sample."""
        raise NotImplementedError

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """:meth:`per_sample` weighted by ``weight`` and ``loss_weight``,
        then reduced.

        Args:
            cls_score: (B, C) scores (see the subclass).
            label: (B, ) class indices, or (B, C) target scores where the
                subclass accepts them.
            weight: Per-sample weights. Defaults to None.
            avg_factor: Divisor of the ``'mean'`` reduction. Defaults to
                None (the number of samples).
            reduction_override: Replaces ``reduction`` when given.

        Returns:
            The weighted loss (a scalar unless the reduction is ``'none'``).
        """
        reduction = check_reduction(reduction_override or self.reduction)
        loss = self.per_sample(cls_score, label)
        if weight is not None:
            weight = weight.float()
        return self.loss_weight * weight_reduce_loss(
            loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class DotRegressionLoss(_WeightedLoss):
    """0.5 * (cos(h, w_y) - 1)^2: the dot regression loss of NC-FSCIL.

    With unit EBVs w and the normalised embedding h, ``w_y . h`` is the
    cosine of the embedding with its target's vector: the loss pulls it to 1
    and leaves the other classes' scores alone. It reads cosines, not
    logits: :class:`~mmebv.cls.EBVClsHead` sees ``ebv_input = 'cosine'`` and
    passes ``logits * tau``. Soft targets (Mixup, CutMix) weight each class's
    term by its target score.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over samples.
            Defaults to ``'mean'``.

    Raises:
        ValueError: a bad ``reduction``.
    """

    #: What the EBV head passes: cosines (logits * tau).
    ebv_input = 'cosine'

    def per_sample(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """The loss of cosines ``cls_score`` (B, C) (each sample with each
        EBV, in [-1, 1]) against (B, ) class indices or (B, C) target
        scores ``label``."""
        cos = cls_score.float()
        if label.dim() == 1:
            target_cos = cos.gather(1, label.long().view(-1, 1)).squeeze(1)
            loss = 0.5 * (target_cos - 1).pow(2)
        else:
            loss = 0.5 * (label.float() * (cos - 1).pow(2)).sum(dim=1)
        return loss


@MODELS.register_module()
class ERACELoss(_WeightedLoss):
    """Cross-entropy with ER-ACE's asymmetric masking, for the step that
    adds classes ``[num_old_classes, num_classes)``.

    A sample of a new class (label >= ``num_old_classes``: incoming data) is
    scored over the current step's classes only, so that learning it does
    not push the old classes' logits down; a sample of an old class
    (replayed, e.g. by :class:`~mmebv.incremental.ReplayDataset`) is scored
    over every class seen. Columns from ``num_classes`` on (reserved EBVs
    scored in the logits) are masked for every sample. Hard labels only.

    Args:
        num_old_classes (int): Classes learnt before this step.
        num_classes (int, optional): Classes seen so far, this step's
            included. Defaults to None (every logit column).
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'`` over samples.
            Defaults to ``'mean'``.

    Raises:
        ValueError: a bad argument; on call, soft labels or a label outside
            the seen classes.
    """

    def __init__(self,
                 num_old_classes: int,
                 num_classes: Optional[int] = None,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean') -> None:
        super().__init__(loss_weight, reduction)
        if isinstance(num_old_classes, bool) or not isinstance(
                num_old_classes, int) or num_old_classes < 0:
            raise ValueError(f'num_old_classes={num_old_classes!r} must be a '
                             f'non-negative integer')
        if num_classes is not None and (
                not isinstance(num_classes, int)
                or num_classes <= num_old_classes):
            raise ValueError(
                f'num_classes={num_classes!r} must be an integer above '
                f'num_old_classes={num_old_classes} (the classes seen, this '
                f"step's included)")
        self.num_old_classes = num_old_classes
        self.num_classes = num_classes

    def per_sample(self, cls_score: Tensor, label: Tensor) -> Tensor:
        """The masked cross-entropy of logits ``cls_score`` (B, C) against
        (B, ) class indices ``label``.

        Raises:
            ValueError: soft labels, or a label at or above the classes
                seen.
        """
        if label.dim() != 1:
            raise ValueError(
                'ERACELoss needs class indices: soft targets (Mixup, CutMix '
                'batch augments) mix incoming and replayed samples, which '
                'the masking keeps apart. Remove the batch augments.')
        seen = cls_score.size(1) if self.num_classes is None \
            else self.num_classes
        if seen > cls_score.size(1) or self.num_old_classes >= seen:
            raise ValueError(
                f'ERACELoss(num_old_classes={self.num_old_classes}, '
                f'num_classes={self.num_classes}) does not fit logits of '
                f'{cls_score.size(1)} classes.')
        label = label.long()
        if label.numel() and int(label.max()) >= seen:
            raise ValueError(f'A label is {int(label.max())}, beyond the '
                             f'{seen} classes seen.')
        columns = torch.arange(cls_score.size(1), device=cls_score.device)
        incoming = label >= self.num_old_classes
        allowed = (columns < seen).unsqueeze(0) & (
            ~incoming.unsqueeze(1) | (columns >= self.num_old_classes))
        logits = cls_score.float().masked_fill(~allowed, float('-inf'))
        return F.cross_entropy(logits, label, reduction='none')
