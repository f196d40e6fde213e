"""Learning without Forgetting (Li and Hoiem, ECCV 2016) as an mmpretrain
classifier: the step's loss plus a distillation of the old classes' scores
from the model as it was when the step began."""
import copy
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.runner import load_checkpoint
from mmpretrain.models.classifiers import ImageClassifier
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor

from mmebv.core.predictor import check_positive_int


def distillation_loss(student: Tensor, teacher: Tensor,
                      temperature: float) -> Tensor:
    """T^2 * KL(softmax(teacher / T) || softmax(student / T)), averaged over
    samples: LwF's knowledge-distillation term.

    Args:
        student: (B, C) logits being trained.
        teacher: (B, C) logits of the frozen previous model.
        temperature: T > 0.

    Returns:
        The scalar loss (0 when the two agree).
    """
    log_student = F.log_softmax(student.float() / temperature, dim=1)
    log_teacher = F.log_softmax(teacher.float() / temperature, dim=1)
    kl = (log_teacher.exp() * (log_teacher - log_student)).sum(dim=1)
    return temperature**2 * kl.mean()


@MODELS.register_module()
class LwFClassifier(ImageClassifier):
    """An ``ImageClassifier`` whose training loss adds LwF's distillation
    of the first ``num_old_classes`` scores from a frozen copy of itself.

    Use it for the step that adds classes, with ``load_from`` the grown
    checkpoint of ``tools/add_classes.py``: the surgery keeps the old
    classes' scores, so a copy holding that checkpoint scores them exactly
    as the previous model did. The copy is made at the first training step
    and holds ``teacher_checkpoint`` when given, else the weights of that
    moment (which, in a resumed run, are no longer the previous model's:
    give ``teacher_checkpoint`` to resume). It is not a submodule: neither
    saved in checkpoints nor trained.

    Args:
        *args: Positional arguments of ``ImageClassifier``.
        num_old_classes (int): Classes learnt before this step (the first
            columns of the head's scores).
        teacher_checkpoint (str, optional): The weights of the copy, e.g.
            the grown checkpoint. Defaults to None (the weights at the first
            training step).
        distill_weight (float): Weight of the distillation term. Defaults
            to 1.0.
        temperature (float): Distillation temperature T. Defaults to 2.0.
        **kwargs: Keyword arguments of ``ImageClassifier``.

    Raises:
        ValueError: a bad ``num_old_classes``, ``distill_weight`` or
            ``temperature``.
    """

    def __init__(self, *args, num_old_classes: int,
                 teacher_checkpoint: Optional[str] = None,
                 distill_weight: float = 1.0, temperature: float = 2.0,
                 **kwargs) -> None:
        check_positive_int('num_old_classes', num_old_classes)
        if not distill_weight >= 0 or not temperature > 0:
            raise ValueError(
                f'distill_weight={distill_weight!r} must be >= 0 and '
                f'temperature={temperature!r} > 0')
        super().__init__(*args, **kwargs)
        self.num_old_classes = num_old_classes
        self.teacher_checkpoint = teacher_checkpoint
        self.distill_weight = distill_weight
        self.temperature = temperature
        self._teacher: List[ImageClassifier] = []  # not a submodule

    def teacher(self) -> ImageClassifier:
        """The frozen copy (made on first use, in eval mode)."""
        if not self._teacher:
            copied = copy.deepcopy(self)
            if self.teacher_checkpoint is not None:
                load_checkpoint(copied, self.teacher_checkpoint,
                                map_location='cpu', strict=True)
            copied.requires_grad_(False).eval()
            self._teacher.append(copied)
        return self._teacher[0]

    def loss(self, inputs: Tensor,
             data_samples: List[DataSample]) -> Dict[str, Tensor]:
        """The head's losses plus ``loss_distill``."""
        teacher = self.teacher()
        feats = self.extract_feat(inputs)
        losses = self.head.loss(feats, data_samples)
        with torch.no_grad():
            old = teacher(inputs, mode='tensor')[:, :self.num_old_classes]
        student = self.head(feats)[:, :self.num_old_classes]
        losses['loss_distill'] = self.distill_weight * distillation_loss(
            student, old, self.temperature)
        return losses

    def train(self, mode: bool = True) -> 'LwFClassifier':
        """Switch the mode; the copy stays in eval mode."""
        super().train(mode)
        for teacher in self._teacher:
            teacher.eval()
        return self

    def extra_repr(self) -> str:
        return (f'num_old_classes={self.num_old_classes}, distill_weight='
                f'{self.distill_weight}, temperature={self.temperature}')

