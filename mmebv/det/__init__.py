"""mmdet modules: EBV box and mask heads."""
from mmebv.utils import require_codebase

require_codebase('mmdet', __name__)

from .ebv_heads import EBVFCNMaskHead, EBVShared2FCBBoxHead  # noqa: E402
from .lvis_compat import patch_lvis_eval  # noqa: E402

patch_lvis_eval()  # LVISMetric with PyPI's lvis 0.5.3 and NumPy >= 1.24

__all__ = ['EBVFCNMaskHead', 'EBVShared2FCBBoxHead']
