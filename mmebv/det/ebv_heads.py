"""mmdet RoI heads whose classifiers score against fixed EBVs."""
from mmdet.models.roi_heads.bbox_heads import Shared2FCBBoxHead
from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.registry import MODELS

from mmebv.core.predictor import EBVHeadMixin


@MODELS.register_module()
class EBVShared2FCBBoxHead(EBVHeadMixin, Shared2FCBBoxHead):
    """``Shared2FCBBoxHead`` whose ``fc_cls`` is a linear layer to ``ebv_dim``
    scored against N + 1 EBVs (background included) / ``tau``.

    Box regression, softmax cross-entropy, ``predict_by_feat`` etc. are
    upstream's. EBV arguments: see :class:`~mmebv.core.EBVHeadMixin`
    (``ebv_dim`` None: d = the number of outputs, N + 1); the authors used
    ``ebv_dim=81`` for COCO's 80 classes + background. The projection keeps
    mmdet's ``fc_cls`` init (``Normal(std=0.01)``, bias 0), as the authors'.
    ``num_reserved`` K rows follow the N + 1 active ones (background
    included), masked out of the outputs.
    """

    ebv_layer = 'fc_cls'


@MODELS.register_module()
class EBVFCNMaskHead(EBVHeadMixin, FCNMaskHead):
    """``FCNMaskHead`` whose ``conv_logits`` is a 1x1 conv to ``ebv_dim``
    scored per pixel against N EBVs / ``tau``.

    The sigmoid mask loss on the ground-truth class's channel is upstream's.
    ``class_agnostic=True`` (a single output channel) is rejected.
    ``ebv_dim`` None: d = N; the authors used d = 81 (the first 80 rows of
    their 81 x 81 COCO EBVs). The 1x1 projection keeps PyTorch's default
    ``Conv2d`` init: upstream's ``init_weights`` initialises ``conv_logits``
    with Kaiming normal (fan_out) and bias 0 only when it is a plain conv,
    and the authors' code also ended with the default init.
    """

    ebv_layer = 'conv_logits'
