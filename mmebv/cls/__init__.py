"""mmpretrain modules: the EBV head, the CIFAR ResNet, long-tailed CIFAR,
and the checkpoint converters behind tools/model_converters/."""
from .checkpoint_io import restricted_torch_load, save_atomic, unwrap_state_dict
from .cifar_resnet import CifarResNet
from .converters import classifier_to_backbone, official_to_mmpretrain
from .ebv_cls_head import EBVClsHead
from .long_tail_cifar import LongTailCIFAR10, LongTailCIFAR100, long_tail_counts

__all__ = [
    'CifarResNet', 'EBVClsHead', 'LongTailCIFAR10', 'LongTailCIFAR100',
    'classifier_to_backbone', 'long_tail_counts', 'official_to_mmpretrain',
    'restricted_torch_load', 'save_atomic', 'unwrap_state_dict'
]
