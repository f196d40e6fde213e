"""Exponentially long-tailed CIFAR-10/100 (Cui et al. 2019; Cao et al. 2019)."""
from typing import List

from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS


def long_tail_counts(n_max: int, num_classes: int,
                     imbalance_ratio: float) -> List[int]:
    """Per-class counts ``n_i = floor(n_max * ratio ** (-i / (C - 1)))``.

    Class 0 keeps ``n_max`` samples, the last class ``n_max / ratio``.
    """
    if imbalance_ratio < 1:
        raise ValueError(
            f'imbalance_ratio must be >= 1 (n_max / n_min), got '
            f'{imbalance_ratio}.')
    if num_classes < 2:
        raise ValueError(f'Need at least 2 classes, got {num_classes}.')
    # The epsilon keeps exact products such as 5000 * 100 ** -1 at 50.
    counts = [
        int(n_max * imbalance_ratio**(-i / (num_classes - 1)) + 1e-9)
        for i in range(num_classes)
    ]
    if counts[-1] < 1:
        raise ValueError(
            f'imbalance_ratio {imbalance_ratio} leaves the tail class empty '
            f'with {n_max} samples in the largest class; use a ratio <= '
            f'{n_max}.')
    return counts


class _LongTailMixin:
    """Keeps the first ``n_i`` samples (file order) of each class ``i``."""

    def __init__(self, *args, imbalance_ratio: float = 100.0,
                 **kwargs) -> None:
        self.imbalance_ratio = imbalance_ratio
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        num_classes = len(self.metainfo['classes'])
        per_class = [0] * num_classes
        for info in data_list:
            per_class[int(info['gt_label'])] += 1
        counts = long_tail_counts(max(per_class), num_classes,
                                  self.imbalance_ratio)
        short = [i for i in range(num_classes) if per_class[i] < counts[i]]
        if short:
            raise ValueError(
                f'{type(self).__name__}: classes {short} have fewer samples '
                f'({[per_class[i] for i in short]}) than the long tail needs '
                f'({[counts[i] for i in short]}); the split must be '
                f'balanced.')
        kept, taken = [], [0] * num_classes
        for info in data_list:
            label = int(info['gt_label'])
            if taken[label] < counts[label]:
                taken[label] += 1
                kept.append(info)
        return kept


@DATASETS.register_module()
class LongTailCIFAR10(_LongTailMixin, CIFAR10):
    """CIFAR-10 subsampled to an exponential long tail.

    Args:
        imbalance_ratio: Largest over smallest class count (100, 50, 10...).
        *args, **kwargs: ``CIFAR10`` arguments.
    """


@DATASETS.register_module()
class LongTailCIFAR100(_LongTailMixin, CIFAR100):
    """CIFAR-100 subsampled to an exponential long tail.

    Args:
        imbalance_ratio: Largest over smallest class count (100, 50, 10...).
        *args, **kwargs: ``CIFAR100`` arguments.
    """
