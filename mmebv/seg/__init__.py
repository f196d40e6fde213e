"""mmseg modules: EBV decode heads."""
from mmebv.utils import require_codebase

require_codebase('mmseg', __name__)

from .ebv_heads import (EBVDecodeHeadMixin, EBVFCNHead,  # noqa: E402
                        EBVFPNHead, EBVUPerHead)

__all__ = ['EBVDecodeHeadMixin', 'EBVFCNHead', 'EBVFPNHead', 'EBVUPerHead']
