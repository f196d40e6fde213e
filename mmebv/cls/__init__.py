"""mmpretrain modules: the EBV head, the CIFAR ResNet, long-tailed CIFAR."""
from .cifar_resnet import CifarResNet
from .ebv_cls_head import EBVClsHead
from .long_tail_cifar import LongTailCIFAR10, LongTailCIFAR100, long_tail_counts

__all__ = [
    'CifarResNet', 'EBVClsHead', 'LongTailCIFAR10', 'LongTailCIFAR100',
    'long_tail_counts'
]
