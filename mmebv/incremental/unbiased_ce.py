"""MiB's unbiased cross-entropy, in mmseg's ``MODELS``, for the step of a
class-incremental segmentation that adds classes."""
from typing import Optional

import torch
from mmseg.models.losses.utils import weight_reduce_loss
from mmseg.registry import MODELS
from torch import Tensor, nn

from mmebv.core.predictor import check_positive_int
from .checks import check_reduction


@MODELS.register_module()
class UnbiasedCrossEntropyLoss(nn.Module):
    """The unbiased cross-entropy of MiB (Cermelli et al., "Modeling the
    Background for Incremental Learning in Semantic Segmentation", CVPR
    2020), for a step whose label maps name only the new classes.

    At an incremental step the new data's label maps only label the new
    classes: pixels of the old classes are labelled background. Channel
    convention (that of mmseg label maps with the background first, e.g.
    the digit scenes' 0 = background, digit k = k + 1): channel 0 is the
    background, channels ``1 .. num_old_classes - 1`` the old classes and
    ``num_old_classes .. C - 1`` the classes this step adds, C being every
    channel of ``cls_score``. With q the softmax of a pixel's logits over
    all C channels, the loss of a pixel labelled y is

    - y = 0 (background): ``-log(sum_{k < num_old_classes} q_k)``, the
      probability of "background or any old class", so that an old-class
      pixel labelled background does not teach the model that its class is
      background;
    - y >= ``num_old_classes`` (a new class): ``-log q_y``, the ordinary
      cross-entropy over all the classes seen;
    - y in ``1 .. num_old_classes - 1`` (an old class: absent from MiB's
      label maps, present only with replayed or pseudo-labelled data): the
      ordinary ``-log q_y`` too. (MiB's reference code folds such labels
      into the background term instead.)

    Pixels labelled ``ignore_index`` contribute nothing. ``num_old_classes
    = 1`` (no old class) is the plain cross-entropy.

    Args:
        num_old_classes (int): Background plus the classes learnt before
            this step (>= 1): the channels ``0 .. num_old_classes - 1``
            merged for a background pixel.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        reduction (str): ``'none'`` (per pixel), ``'mean'`` (over the
            pixels not ignored, as MiB and ``torch``'s cross-entropy
            average) or ``'sum'``. Defaults to ``'mean'``.
        loss_name (str): Name of the loss in the losses dict; starts with
            ``'loss_'`` so that it is back-propagated. Defaults to
            ``'loss_unbiased_ce'``.

    Raises:
        ValueError: ``num_old_classes`` not an integer >= 1, a bad
            ``reduction`` or ``loss_name``; on call, logits with at most
            ``num_old_classes`` channels (no new class) or a label outside
            the channels.
    """

    def __init__(self,
                 num_old_classes: int,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 loss_name: str = 'loss_unbiased_ce') -> None:
        super().__init__()
        check_positive_int('num_old_classes', num_old_classes)
        if not isinstance(loss_name, str) or not loss_name.startswith(
                'loss_'):
            raise ValueError(f'loss_name={loss_name!r} must start with '
                             f"'loss_' to be back-propagated.")
        self.num_old_classes = num_old_classes
        self.loss_weight = loss_weight
        self.reduction = check_reduction(reduction)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """The key of this loss in the losses dict."""
        return self._loss_name

    def per_pixel(self, cls_score: Tensor, label: Tensor,
                  ignore_index: int = 255) -> Tensor:
        """The unweighted loss of every pixel (0 where ignored).

        Args:
            cls_score: (N, C, ...) logits.
            label: (N, ...) class indices.
            ignore_index: The label of pixels to ignore.

        Returns:
            The (N, ...) loss.

        Raises:
            ValueError: C <= ``num_old_classes``, or a label outside
                ``[0, C)`` other than ``ignore_index``.
        """
        channels = cls_score.size(1)
        if channels <= self.num_old_classes:
            raise ValueError(
                f'UnbiasedCrossEntropyLoss(num_old_classes='
                f'{self.num_old_classes}) needs logits with more channels '
                f'than background + old classes (some new class), got '
                f'{channels}; num_old_classes must be < the number of '
                f'classes the head scores.')
        label = label.long()
        valid = label != ignore_index
        target = torch.where(valid, label, torch.zeros_like(label))
        if target.numel() and (int(target.min()) < 0
                               or int(target.max()) >= channels):
            raise ValueError(
                f'Labels must lie in [0, {channels}) or be ignore_index='
                f'{ignore_index}; got values from {int(target.min())} to '
                f'{int(target.max())}.')
        logits = cls_score.float()
        log_total = torch.logsumexp(logits, dim=1)
        log_q_y = logits.gather(1, target.unsqueeze(1)).squeeze(1) - log_total
        log_q_bg = torch.logsumexp(
            logits[:, :self.num_old_classes], dim=1) - log_total
        loss = -torch.where(target == 0, log_q_bg, log_q_y)
        return loss * valid

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                ignore_index: int = 255,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """The weighted, reduced loss (mmseg's loss interface).

        Args:
            cls_score: (N, C, H, W) logits.
            label: (N, H, W) class indices.
            weight: Per-pixel weights (N, H, W). Defaults to None.
            ignore_index: The label of pixels to ignore. Defaults to 255.
            avg_factor: Divisor of the ``'mean'`` reduction. Defaults to
                None (the pixels not ignored).
            reduction_override: Replaces ``reduction`` when given.

        Returns:
            The loss times ``loss_weight`` (per pixel for ``'none'``).
        """
        reduction = check_reduction(reduction_override or self.reduction)
        loss = self.per_pixel(cls_score, label, ignore_index)
        if reduction == 'mean' and avg_factor is None:
            avg_factor = (label != ignore_index).sum().clamp(min=1).item()
        return self.loss_weight * weight_reduce_loss(
            loss, weight=None if weight is None else weight.float(),
            reduction=reduction, avg_factor=avg_factor)

    def extra_repr(self) -> str:
        return (f'num_old_classes={self.num_old_classes}, loss_weight='
                f'{self.loss_weight}, reduction={self.reduction!r}')
