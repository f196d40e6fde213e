"""Exponentially long-tailed CIFAR-10/100 (Cui et al. 2019; Cao et al. 2019).

The subset is the one of Cao et al.'s public LDAM-DRW code, which the EBV
authors' CIFAR-LT numbers follow: NumPy's legacy generator seeded once with
0, then, class by class in label order, that class's indices shuffled with it
and the first ``n_i`` kept.
"""
from typing import List

import numpy as np
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS


#: Seed of the selection in Cao et al.'s code (their ``rand_number``).
SELECTION_SEED = 0


def long_tail_indices(labels: np.ndarray, counts: List[int],
                      seed: int = SELECTION_SEED) -> List[int]:
    """Positions of the kept samples, in Cao et al.'s order.

    A legacy NumPy generator seeded with ``seed`` shuffles, class by class
    in label order, the positions of that class; the first ``counts[i]`` of
    class ``i`` are kept. Equal to their ``np.random.seed(seed)`` followed by
    ``np.random.shuffle`` per class, without touching NumPy's global state.
    """
    rng = np.random.RandomState(seed)
    kept = []
    for label, count in enumerate(counts):
        positions = np.flatnonzero(labels == label)
        rng.shuffle(positions)
        kept.extend(positions[:count].tolist())
    return kept


def long_tail_counts(n_max: int, num_classes: int,
                     imbalance_ratio: float) -> List[int]:
    """Per-class counts ``n_i = int(n_max * (1 / ratio) ** (i / (C - 1)))``.

    Class 0 keeps ``n_max`` samples, the last class ``n_max / ratio``. The
    expression is evaluated as in Cao et al.'s code, so that the float
    rounding, and therefore every count, is theirs.

    Args:
        n_max (int): Samples kept of the largest class (class 0).
        num_classes (int): C, the number of classes, at least 2.
        imbalance_ratio (float): ``n_max / n_min``, at least 1.

    Returns:
        list[int]: The count of each class, in label order.

    Raises:
        ValueError: If ``imbalance_ratio`` is below 1, ``num_classes`` is
            below 2, or the ratio leaves the last class with no sample.
    """
    if imbalance_ratio < 1:
        raise ValueError(
            f'imbalance_ratio must be >= 1 (n_max / n_min), got '
            f'{imbalance_ratio}.')
    if num_classes < 2:
        raise ValueError(f'Need at least 2 classes, got {num_classes}.')
    factor = 1.0 / imbalance_ratio
    counts = [
        int(n_max * factor**(i / (num_classes - 1.0)))
        for i in range(num_classes)
    ]
    if counts[-1] < 1:
        raise ValueError(
            f'imbalance_ratio {imbalance_ratio} leaves the tail class empty '
            f'with {n_max} samples in the largest class; use a ratio <= '
            f'{n_max}.')
    return counts


class _LongTailMixin:
    """Keeps ``n_i`` samples of each class ``i``, chosen as Cao et al. do."""

    def __init__(self, *args, imbalance_ratio: float = 100.0,
                 **kwargs) -> None:
        self.imbalance_ratio = imbalance_ratio
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        num_classes = len(self.metainfo['classes'])
        labels = np.array([int(info['gt_label']) for info in data_list])
        per_class = np.bincount(labels, minlength=num_classes).tolist()
        counts = long_tail_counts(max(per_class), num_classes,
                                  self.imbalance_ratio)
        short = [i for i in range(num_classes) if per_class[i] < counts[i]]
        if short:
            raise ValueError(
                f'{type(self).__name__}: classes {short} have fewer samples '
                f'({[per_class[i] for i in short]}) than the long tail needs '
                f'({[counts[i] for i in short]}); the split must be '
                f'balanced.')
        return [data_list[i] for i in long_tail_indices(labels, counts)]


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
