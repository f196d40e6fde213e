"""mmpretrain modules: the EBV head, the CIFAR ResNet, long-tailed CIFAR,
and the checkpoint converters behind tools/model_converters/."""
from mmebv.utils import require_codebase

require_codebase('mmpretrain', __name__)

from .checkpoint_io import restricted_torch_load, save_atomic, unwrap_state_dict  # noqa: E402
from .cifar_resnet import CifarResNet  # noqa: E402
from .converters import classifier_to_backbone, official_to_mmpretrain  # noqa: E402
from .ebv_cls_head import EBVClsHead  # noqa: E402
from .long_tail_cifar import LongTailCIFAR10, LongTailCIFAR100, long_tail_counts  # noqa: E402

__all__ = [
    'CifarResNet', 'EBVClsHead', 'LongTailCIFAR10', 'LongTailCIFAR100',
    'classifier_to_backbone', 'long_tail_counts', 'official_to_mmpretrain',
    'restricted_torch_load', 'save_atomic', 'unwrap_state_dict'
]
