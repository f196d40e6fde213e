"""mmdet modules: EBV box and mask heads."""
from mmebv.utils import require_codebase

require_codebase('mmdet', __name__)

from .ebv_heads import EBVFCNMaskHead, EBVShared2FCBBoxHead  # noqa: E402

__all__ = ['EBVFCNMaskHead', 'EBVShared2FCBBoxHead']
