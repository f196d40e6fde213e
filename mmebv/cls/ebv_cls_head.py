"""Classification head scoring a trainable projection against fixed EBVs."""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmpretrain.evaluation.metrics import Accuracy
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from mmebv.core import EBVClassifier
from mmebv.core.classifier import check_num_reserved
from mmebv.core.predictor import check_positive_int, resolve_ebv_dim


@MODELS.register_module()
class EBVClsHead(ClsHead):
    """Equiangular-basis-vector head, the EBV twin of ``LinearClsHead``.

    The last-stage feature goes through a trainable ``nn.Linear`` to
    ``ebv_dim`` channels; an :class:`~mmebv.core.EBVClassifier` then scores it
    against ``num_classes`` fixed EBVs (cosine / ``tau``, float32 also under
    AMP). Losses (hard labels, Mixup/CutMix ``gt_score``, label smoothing) and
    predictions are those of :class:`ClsHead`.

    ``pre_logits`` returns the projection's output, the (B, d) embedding in
    EBV space (like the pre-logits layer of ViT's head): the classifier only
    looks at its direction, so compare such embeddings by cosine. It is what
    ``ImageClassifier.extract_feat(inputs, stage='pre_logits')`` returns, the
    feature for k-NN or linear-probe evaluation and for retrieval.

    ``num_reserved`` K pre-allocates EBVs for classes to come (one set of
    N + K rows, see :class:`~mmebv.core.EBVClassifier`). Masked (default)
    the head is exactly an N-class head. ``reserved_in_logits=True`` makes
    ``forward`` and the loss score all N + K rows (the reserved ones as
    classes no target hits: every vector takes part in the loss from the
    first step); predictions still cover the N active classes only.

    A loss module with ``ebv_input = 'cosine'`` (e.g.
    :class:`~mmebv.incremental.DotRegressionLoss`) receives the cosines
    (logits x tau) instead of the logits.

    Args:
        num_classes (int): Number of classes N (one EBV each).
        in_channels (int): Channels of the input feature.
        ebv_dim (int, optional): EBV dimension d (output channels of the
            projection). Defaults to None: d = N (N + K with reserved
            EBVs), the rule of every mmebv head
            (:func:`~mmebv.core.predictor.resolve_ebv_dim`).
        tau (float): Temperature dividing the cosine similarities, finite
            and >= 1e-3. Defaults to 0.07.
        ebv_file (str, optional): ``.safetensors`` EBV file
            (``tools/generate_ebvs.py``), or a folder holding
            ``eq_{d}_{N}.safetensors``. Defaults to None: EBVs generated
            from ``method``, ``alpha``, ``seed``.
        method (str): EBV generation method when no file is given. Defaults
            to ``'auto'``.
        alpha (float, optional): Target max |cos| when generating. Defaults
            to None (the method's default).
        seed (int): Generation seed. Defaults to 0.
        num_reserved (int): Extra EBVs K for future classes. Defaults to 0.
        reserved_in_logits (bool): Score the reserved EBVs in ``forward``
            and the loss (N + K outputs). Defaults to False (N outputs).
        loss (dict): Loss config. Defaults to cross-entropy.
        topk (int | tuple): Top-k accuracy. Defaults to ``(1, )``.
        init_cfg (dict, optional): Initialisation of the projection.
            Default None keeps PyTorch's ``nn.Linear`` init, as the
            authors' timm ``fc``. The cosine makes the projection
            scale-invariant, so LinearClsHead's ``Normal(std=0.01)`` means a
            ~10x larger effective learning rate at the start; on the demo's
            long-tailed digits it left whole tail classes at 0% recall
            (docs/en/benchmarks.md). A model-level ``init_cfg`` still
            reaches the projection (the Swin-T recipes: TruncNormal std 0.02
            on every Linear, as the authors' timm model).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 ebv_dim: Optional[int] = None,
                 tau: float = 0.07,
                 ebv_file: Optional[str] = None,
                 method: str = 'auto',
                 alpha: Optional[float] = None,
                 seed: int = 0,
                 num_reserved: int = 0,
                 reserved_in_logits: bool = False,
                 loss: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 topk: Union[int, Tuple[int]] = (1, ),
                 init_cfg: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(loss=loss, topk=topk, init_cfg=init_cfg, **kwargs)
        check_positive_int('num_classes', num_classes)
        ebv_dim = resolve_ebv_dim(
            num_classes + check_num_reserved(num_reserved), ebv_dim)
        check_positive_int('in_channels', in_channels)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.ebv_dim = ebv_dim
        self.projection = nn.Linear(in_channels, ebv_dim)
        self.ebv = EBVClassifier(
            num_classes, ebv_dim, tau=tau, ebv_file=ebv_file, method=method,
            alpha=alpha, seed=seed, num_reserved=num_reserved,
            reserved_in_logits=reserved_in_logits)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The EBV-space embedding (B, ebv_dim) of the last-stage feature:
        the projection's output, before the classifier normalises it."""
        return self.projection(feats[-1])

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Cosine against every EBV over tau: (B, num_classes) float32, or
        (B, num_classes + num_reserved) with ``reserved_in_logits``."""
        return self.ebv(self.pre_logits(feats))

    def _get_loss(self, cls_score: torch.Tensor,
                  data_samples: List[DataSample], **kwargs) -> dict:
        """:meth:`ClsHead._get_loss` on the scores the loss asks for.

        Cosine-input losses get ``cls_score * tau``; soft targets (Mixup,
        CutMix) get zero columns for the reserved classes when they are in
        the logits.
        """
        if 'gt_score' in data_samples[0]:
            target = torch.stack([i.gt_score for i in data_samples])
            extra = cls_score.size(1) - target.size(1)
            if extra > 0:  # reserved classes: probability 0
                target = F.pad(target, (0, extra))
        else:
            target = torch.cat([i.gt_label for i in data_samples])
        scores = cls_score
        if getattr(self.loss_module, 'ebv_input', 'logits') == 'cosine':
            scores = cls_score * self.ebv.tau
        losses = dict(loss=self.loss_module(
            scores, target, avg_factor=cls_score.size(0), **kwargs))
        if self.cal_acc:
            assert target.ndim == 1, 'If you enable batch augmentation ' \
                'like mixup during training, `cal_acc` is pointless.'
            acc = Accuracy.calculate(cls_score, target, topk=self.topk)
            losses.update(
                {f'accuracy_top-{k}': a for k, a in zip(self.topk, acc)})
        return losses

    def _get_predictions(self, cls_score: torch.Tensor,
                         data_samples: Optional[List[DataSample]]
                         ) -> List[DataSample]:
        """Predictions over the ``num_classes`` active classes only."""
        return super()._get_predictions(cls_score[:, :self.num_classes],
                                        data_samples)
