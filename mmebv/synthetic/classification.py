"""A tiny folder-per-class image dataset (PNG), for tests and the demo.

Writes ``<root>/<split>/<class_name>/<index>.png``, the layout of
mmpretrain's ``CustomDataset`` (``data_prefix='<split>'``). Each class has
its own colour and stripe orientation plus noise, so a small network can
learn it in a few iterations.
"""
import os
from typing import Dict, Sequence

import numpy as np
from PIL import Image

from mmebv.fileio import staged_directory


def class_name(index: int) -> str:
    """The folder name of class ``index``."""
    return f'class_{index:03d}'


def _draw(label: int, num_classes: int, size: int,
          rng: np.random.Generator) -> np.ndarray:
    """One RGB uint8 image of class ``label``."""
    hue = label / num_classes
    colour = 127 + 100 * np.cos(2 * np.pi * (hue + np.array([0, 1, 2]) / 3))
    angle = np.pi * label / num_classes
    yy, xx = np.mgrid[0:size, 0:size] / size
    stripes = np.sin(2 * np.pi * 3 * (xx * np.cos(angle) + yy * np.sin(angle)))
    image = colour[None, None, :] * (0.75 + 0.25 * stripes[..., None])
    image = image + rng.normal(0, 12, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_image_folder(root: str,
                       num_classes: int = 4,
                       images_per_class: int = 6,
                       size: int = 32,
                       splits: Sequence[str] = ('train', 'val'),
                       seed: int = 0) -> Dict[str, int]:
    """Write the dataset under ``root`` (absent or empty) atomically.

    Returns the number of images written per split.
    """
    if num_classes < 1 or images_per_class < 1 or size < 8:
        raise ValueError(
            f'Need num_classes >= 1, images_per_class >= 1 and size >= 8; '
            f'got {num_classes}, {images_per_class}, {size}.')
    rng = np.random.default_rng(seed)
    with staged_directory(root) as staging:
        for split in splits:
            for label in range(num_classes):
                folder = os.path.join(staging, split, class_name(label))
                os.makedirs(folder)
                for index in range(images_per_class):
                    Image.fromarray(_draw(label, num_classes, size, rng)).save(
                        os.path.join(folder, f'{index:04d}.png'))
    return {split: num_classes * images_per_class for split in splits}
