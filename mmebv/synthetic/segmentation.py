"""A tiny ADE20K-format semantic segmentation set of coloured shapes.

Label maps are PNGs in ADE20K's encoding: 0 is "other" (ignored, as mmseg's
``reduce_zero_label=True`` maps it to 255) and ``k >= 1`` is ADE20K class
``k - 1``. Shapes of a few classes are drawn on a noisy background, so the
unmodified ADE20K configs (150 classes) train and evaluate on it. Layout:
``<root>/{images,annotations}/{training,validation}/<n>.{jpg,png}``.
"""
import os
from typing import Dict, Tuple

import numpy as np
from PIL import Image, ImageDraw

from mmebv.fileio import staged_directory

from .detection import noisy_background, random_polygon

#: (ADE20K label value in the PNG, shape drawn for it): wall, floor, tree.
CLASSES: Tuple[Tuple[int, str], ...] = ((1, 'square'), (4, 'circle'),
                                        (5, 'triangle'))
SPLITS = dict(train='training', val='validation')


def make_ade20k_shapes(root: str,
                       num_train: int = 8,
                       num_val: int = 4,
                       image_size: int = 96,
                       max_shapes: int = 4,
                       seed: int = 0) -> Dict[str, int]:
    """Write the dataset under ``root`` (absent or empty) atomically.

    Returns the number of images per split.
    """
    if min(num_train, num_val, max_shapes) < 1 or image_size < 32:
        raise ValueError(
            f'Need num_train, num_val, max_shapes >= 1 and image_size >= 32; '
            f'got {num_train}, {num_val}, {max_shapes}, {image_size}.')
    rng = np.random.default_rng(seed)
    counts = dict(train=num_train, val=num_val)
    with staged_directory(root) as staging:
        for split, count in counts.items():
            image_dir = os.path.join(staging, 'images', SPLITS[split])
            label_dir = os.path.join(staging, 'annotations', SPLITS[split])
            os.makedirs(image_dir)
            os.makedirs(label_dir)
            for index in range(count):
                image = noisy_background(image_size, rng)
                label = Image.new('L', (image_size, image_size), 0)
                for _ in range(int(rng.integers(1, max_shapes + 1))):
                    value, shape = CLASSES[int(rng.integers(len(CLASSES)))]
                    poly = random_polygon(shape, image_size, rng)
                    colour = tuple(
                        int(c) for c in rng.integers(120, 256, size=3))
                    ImageDraw.Draw(image).polygon(poly, fill=colour)
                    ImageDraw.Draw(label).polygon(poly, fill=value)
                name = f'{split}_{index:04d}'
                image.save(os.path.join(image_dir, name + '.jpg'), quality=95)
                label.save(os.path.join(label_dir, name + '.png'))
    return counts
