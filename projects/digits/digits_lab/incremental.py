"""What the class-addition benchmark's configs build besides mmebv and
mmpretrain: digits kept in one ``.npz`` file, and a small MLP trunk.

Both are registered in mmpretrain's registries; a config imports them with
``custom_imports = dict(imports=['mmebv', 'digits_lab.incremental'])`` and
``projects/digits`` on ``PYTHONPATH``.
"""
from typing import List, Sequence, Tuple

import numpy as np
import torch
from mmengine.model import BaseModule
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS, MODELS
from torch import Tensor, nn

#: The ten digit classes, in label order.
DIGIT_CLASSES = tuple(str(c) for c in range(10))


def write_digit_arrays(path: str, parts: dict) -> None:
    """Save ``{part: (images (n, h, w) uint8, labels (n, ))}`` as one
    ``.npz`` (``{part}_images``, ``{part}_labels``)."""
    arrays = {}
    for part, (images, labels) in parts.items():
        arrays[f'{part}_images'] = np.asarray(images, dtype=np.uint8)
        arrays[f'{part}_labels'] = np.asarray(labels, dtype=np.int64)
    with open(path, 'wb') as f:
        np.savez(f, **arrays)


def read_digit_arrays(path: str, part: str) -> Tuple[np.ndarray, np.ndarray]:
    """The ``(images, labels)`` of ``part`` in the ``.npz`` at ``path``."""
    with np.load(path) as arrays:
        return arrays[f'{part}_images'], arrays[f'{part}_labels']


@DATASETS.register_module()
class DigitArrays(BaseDataset):
    """The digits of ``classes_kept`` in one part of a digit ``.npz``.

    Args:
        ann_file (str): The ``.npz`` written by :func:`write_digit_arrays`.
        part (str): ``'train'``, ``'val'`` or ``'test'``.
        classes_kept (Sequence[int]): Labels to keep (labels are digits).
        pipeline (Sequence[dict]): Transforms. Defaults to packing only.
        **kwargs: Other arguments of mmpretrain's ``BaseDataset``.
    """

    METAINFO = dict(classes=DIGIT_CLASSES)

    def __init__(self,
                 ann_file: str,
                 part: str,
                 classes_kept: Sequence[int],
                 pipeline: Sequence[dict] = (dict(type='PackInputs'), ),
                 **kwargs) -> None:
        self.part = part
        self.classes_kept = tuple(int(c) for c in classes_kept)
        super().__init__(ann_file=ann_file, pipeline=list(pipeline),
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        """One ``dict(img, gt_label)`` per kept digit."""
        images, labels = read_digit_arrays(self.ann_file, self.part)
        kept = np.isin(labels, self.classes_kept)
        return [dict(img=images[i], gt_label=int(labels[i]))
                for i in np.flatnonzero(kept)]


@MODELS.register_module()
class DigitMLP(BaseModule):
    """Flattened pixels -> ``depth`` hidden layers of ``width`` with ReLU:
    the trunk of the split-MNIST class-incremental benchmarks.

    Args:
        in_pixels (int): Pixels per image. Defaults to 784 (28 x 28).
        width (int): Hidden units per layer. Defaults to 256.
        depth (int): Hidden layers. Defaults to 2.
        init_cfg (dict, optional): mmengine initialisation. Defaults to
            None.
    """

    def __init__(self, in_pixels: int = 784, width: int = 256,
                 depth: int = 2, init_cfg=None) -> None:
        super().__init__(init_cfg)
        layers: List[nn.Module] = []
        for index in range(depth):
            layers += [nn.Linear(in_pixels if index == 0 else width, width),
                       nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """Features (B, width) of images (B, C, H, W)."""
        return (self.layers(torch.flatten(x, 1)), )
