"""mmseg modules: EBV decode heads."""
from .ebv_heads import EBVDecodeHeadMixin, EBVFCNHead, EBVFPNHead, EBVUPerHead

__all__ = ['EBVDecodeHeadMixin', 'EBVFCNHead', 'EBVFPNHead', 'EBVUPerHead']
