"""mmseg decode heads whose per-pixel classifier scores against fixed EBVs."""
from mmseg.models.decode_heads import FCNHead, FPNHead, UPerHead
from mmseg.registry import MODELS

from mmebv.core.predictor import EBVHeadMixin


class EBVDecodeHeadMixin(EBVHeadMixin):
    """Replaces ``conv_seg`` by a 1x1 conv to ``ebv_dim`` scored per pixel
    against ``num_classes`` EBVs / ``tau``.

    ``ignore_index``, ``loss_decode``, ``align_corners``, dropout and
    resizing keep their upstream meaning. The authors used ``ebv_dim=150``
    on ADE20K. ``out_channels=1`` (binary with threshold) is rejected.
    ``num_reserved`` (masked reserved EBVs): see
    :class:`~mmebv.core.EBVHeadMixin`.
    """

    ebv_layer = 'conv_seg'


@MODELS.register_module()
class EBVUPerHead(EBVDecodeHeadMixin, UPerHead):
    """``UPerHead`` with an EBV per-pixel classifier."""


@MODELS.register_module()
class EBVFCNHead(EBVDecodeHeadMixin, FCNHead):
    """``FCNHead`` (e.g. auxiliary) with an EBV per-pixel classifier."""


@MODELS.register_module()
class EBVFPNHead(EBVDecodeHeadMixin, FPNHead):
    """Semantic-FPN ``FPNHead`` with an EBV per-pixel classifier."""
