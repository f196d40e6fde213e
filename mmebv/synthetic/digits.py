"""Long-tailed handwritten digits as an image folder (scikit-learn's copy).

scikit-learn ships the UCI optical digits (1797 images of 8x8 pixels, 10
classes) inside its wheel, so the demo needs no download. The writer splits
them into a balanced test set and a long-tailed training set whose class
sizes fall exponentially from class 0 (head) to class 9 (tail), as in the
long-tailed CIFAR benchmarks (Cao et al., 2019), and writes them as
``<root>/{train,test}/<class>/<index>.png`` for mmpretrain's ``CustomDataset``.
"""
import json
import os
from typing import Dict

import numpy as np
from PIL import Image

from mmebv.cls.long_tail_cifar import long_tail_counts
from mmebv.fileio import staged_directory

META_FILE = 'meta.json'


def split_digits(imbalance_ratio: float, test_per_class: int = 50,
                 seed: int = 0) -> Dict[str, Dict[int, np.ndarray]]:
    """Deterministic balanced test / long-tailed train split of the digits.

    Returns ``{'train': {label: images}, 'test': {label: images}}`` with
    uint8 (n, 8, 8) image arrays.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)
    labels = digits.target
    classes = sorted(set(labels.tolist()))
    smallest = min(int((labels == c).sum()) for c in classes)
    if not 0 < test_per_class < smallest:
        raise ValueError(
            f'test_per_class must be in [1, {smallest - 1}] (the smallest '
            f'class has {smallest} images), got {test_per_class}.')
    counts = long_tail_counts(smallest - test_per_class, len(classes),
                              imbalance_ratio)
    if counts[-1] < 1:
        raise ValueError(
            f'imbalance_ratio {imbalance_ratio} leaves the tail class empty; '
            f'use a ratio <= {counts[0]}.')
    rng = np.random.RandomState(seed)
    split = {'train': {}, 'test': {}}
    for label, count in zip(classes, counts):
        order = rng.permutation(np.flatnonzero(labels == label))
        split['test'][label] = images[order[:test_per_class]]
        split['train'][label] = images[order[test_per_class:
                                             test_per_class + count]]
    return split


def write_digits(root: str, imbalance_ratio: float = 10,
                 test_per_class: int = 50, seed: int = 0) -> dict:
    """Write the split under ``root`` (reused when already written with the
    same settings) and return its metadata (settings and class sizes)."""
    settings = dict(imbalance_ratio=float(imbalance_ratio),
                    test_per_class=int(test_per_class), seed=int(seed))
    meta_path = os.path.join(root, META_FILE)
    if os.path.isfile(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta['settings'] == settings:
            return meta
        raise FileExistsError(
            f'{root} holds digits written with {meta["settings"]}, not '
            f'{settings}; remove it or choose another directory.')
    if os.path.isdir(root) and os.listdir(root):
        raise FileExistsError(
            f'{root} is not empty and holds no {META_FILE}; give a new or '
            f'empty directory.')
    split = split_digits(imbalance_ratio, test_per_class, seed)
    with staged_directory(root) as tmp:
        for subset, per_class in split.items():
            for label, images in per_class.items():
                folder = os.path.join(tmp, subset, str(label))
                os.makedirs(folder)
                for index, image in enumerate(images):
                    Image.fromarray(image).save(
                        os.path.join(folder, f'{index:04d}.png'))
        meta = dict(
            settings=settings,
            classes=[str(c) for c in sorted(split['train'])],
            train_counts=[len(v) for _, v in sorted(split['train'].items())],
            test_counts=[len(v) for _, v in sorted(split['test'].items())])
        with open(os.path.join(tmp, META_FILE), 'w') as f:
            json.dump(meta, f, indent=2)
    return meta
