"""He et al.'s CIFAR ResNet (3 stages of 16/32/64 channels, depth 6n+2)."""
from mmpretrain.models.backbones import ResNet_CIFAR
from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.registry import MODELS


@MODELS.register_module()
class CifarResNet(ResNet_CIFAR):
    """The CIFAR ResNet of He et al. (2016), e.g. ResNet-32.

    A 3x3 stem with 16 channels (no max-pool), then three stages of ``n``
    basic blocks with 16, 32 and 64 channels (strides 1, 2, 2), where
    ``depth = 6 n + 2``; the output is the 64-channel last stage. mmpretrain's
    ``ResNet_CIFAR`` keeps the 4-stage ImageNet widths instead.

    Args:
        depth: 20, 32, 44, 56 or 110.
        **kwargs: Other ``ResNet`` arguments (norm, init, frozen stages...).
    """

    arch_settings = {
        depth: (BasicBlock, ((depth - 2) // 6, ) * 3)
        for depth in (20, 32, 44, 56, 110)
    }

    def __init__(self, depth: int = 32, **kwargs) -> None:
        if depth not in self.arch_settings:
            raise ValueError(
                f'CifarResNet: depth must be one of '
                f'{sorted(self.arch_settings)} (6n+2), got {depth}.')
        settings = dict(
            stem_channels=16,
            base_channels=16,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            out_indices=(2, ))
        settings.update(kwargs)
        super().__init__(depth, **settings)
