"""mmdet modules: EBV box and mask heads."""
from .ebv_heads import EBVFCNMaskHead, EBVShared2FCBBoxHead
from .ebv_predictor import EBVHeadMixin, EBVPredictor

__all__ = [
    'EBVFCNMaskHead', 'EBVShared2FCBBoxHead', 'EBVHeadMixin', 'EBVPredictor'
]
