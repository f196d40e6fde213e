"""Tiny synthetic datasets the tests write to disk, all from here.

- :func:`write_image_folder`: a folder-per-class PNG set,
  ``<root>/<split>/<class_name>/<index>.png`` (mmpretrain's
  ``CustomDataset`` with ``data_prefix='<split>'``); each class has its own
  colour and stripe orientation plus noise, so a small network learns it in
  a few iterations.
- :func:`make_coco_shapes`: COCO-format instance segmentation of filled
  polygons (squares, triangles, 16-gon "circles") on a noisy background;
  every shape is one instance whose mask is its polygon. The annotation
  files list all 80 COCO categories with COCO's ids and names (a model of
  the unmodified COCO configs may predict any of them); shapes are drawn
  for three (:data:`CATEGORIES`). Layout:
  ``<root>/annotations/instances_{train,val}2017.json`` and
  ``<root>/{train,val}2017/<id>.jpg``.
- :func:`make_ade20k_shapes`: ADE20K-format semantic segmentation of the
  same shapes. Label PNGs use ADE20K's encoding: 0 is "other" (ignored with
  ``reduce_zero_label=True``), ``k >= 1`` is ADE20K class ``k - 1``, so the
  unmodified 150-class configs train on it. Layout:
  ``<root>/{images,annotations}/{training,validation}/<n>.{jpg,png}``.

Every writer fills ``root`` (absent or empty) atomically.
"""
import json
import math
import os
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

from mmebv.fileio import staged_directory

# Classification: an image folder -------------------------------------------


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


# Detection: COCO-format shapes ---------------------------------------------


#: (COCO category id, COCO class name, shape drawn for it).
CATEGORIES: Tuple[Tuple[int, str, str], ...] = (
    (37, 'sports ball', 'circle'),
    (72, 'tv', 'square'),
    (38, 'kite', 'triangle'),
)

#: COCO's ids 1..90 leave out these ten.
_UNUSED_COCO_IDS = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)


def coco_categories() -> List[dict]:
    """All 80 COCO categories (id, name), as in COCO's annotation files."""
    from mmdet.datasets import CocoDataset
    ids = [i for i in range(1, 91) if i not in _UNUSED_COCO_IDS]
    return [dict(id=i, name=n, supercategory='none')
            for i, n in zip(ids, CocoDataset.METAINFO['classes'])]


def random_polygon(shape: str, image_size: int,
                   rng: np.random.Generator) -> List[float]:
    """A random ``shape`` ('circle', 'square', 'triangle') inside the image
    as a flat [x0, y0, x1, y1, ...] polygon (at least 1/8 of the side)."""
    radius = rng.uniform(image_size / 8, image_size / 4)
    cx, cy = rng.uniform(radius, image_size - radius, size=2)
    corners = {'circle': 16, 'square': 4, 'triangle': 3}[shape]
    start = rng.uniform(0, 2 * math.pi)
    points = []
    for k in range(corners):
        angle = start + 2 * math.pi * k / corners
        points += [cx + radius * math.cos(angle),
                   cy + radius * math.sin(angle)]
    return [round(p, 2) for p in points]


def noisy_background(image_size: int, rng: np.random.Generator) -> Image.Image:
    """A dim RGB noise image."""
    pixels = rng.integers(0, 80, size=(image_size, image_size, 3))
    return Image.fromarray(pixels.astype(np.uint8))


def _polygon_area(poly: Sequence[float]) -> float:
    xs, ys = np.asarray(poly[0::2]), np.asarray(poly[1::2])
    twice_area = np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))
    return float(abs(twice_area) / 2)


def _split(num_images: int, first_id: int, image_size: int, max_shapes: int,
           folder: str, rng: np.random.Generator) -> dict:
    images, annotations = [], []
    for image_id in range(first_id, first_id + num_images):
        image = noisy_background(image_size, rng)
        draw = ImageDraw.Draw(image)
        for _ in range(int(rng.integers(1, max_shapes + 1))):
            cat_id, _, shape = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
            poly = random_polygon(shape, image_size, rng)
            colour = tuple(int(c) for c in rng.integers(120, 256, size=3))
            draw.polygon(poly, fill=colour)
            xs, ys = poly[0::2], poly[1::2]
            annotations.append(
                dict(id=len(annotations) + 1, image_id=image_id,
                     category_id=cat_id,
                     segmentation=[poly], area=_polygon_area(poly),
                     bbox=[round(v, 2) for v in (min(xs), min(ys),
                           max(xs) - min(xs), max(ys) - min(ys))],
                     iscrowd=0))
        file_name = f'{image_id:06d}.jpg'
        image.save(os.path.join(folder, file_name), quality=95)
        images.append(dict(id=image_id, file_name=file_name,
                           width=image_size, height=image_size))
    return dict(images=images, annotations=annotations,
                categories=coco_categories())


def make_coco_shapes(root: str,
                     num_train: int = 8,
                     num_val: int = 4,
                     image_size: int = 96,
                     max_shapes: int = 3,
                     seed: int = 0) -> Dict[str, int]:
    """Write the dataset under ``root`` (absent or empty) atomically.

    Overlapping shapes occlude each other, like real objects; masks stay
    the full polygons. Returns the number of images per split.
    """
    if min(num_train, num_val, max_shapes) < 1 or image_size < 32:
        raise ValueError(
            f'Need num_train, num_val, max_shapes >= 1 and image_size >= 32; '
            f'got {num_train}, {num_val}, {max_shapes}, {image_size}.')
    rng = np.random.default_rng(seed)
    counts = dict(train=num_train, val=num_val)
    with staged_directory(root) as staging:
        os.makedirs(os.path.join(staging, 'annotations'))
        first_id = 1
        for split, count in counts.items():
            folder = os.path.join(staging, f'{split}2017')
            os.makedirs(folder)
            coco = _split(count, first_id, image_size, max_shapes, folder, rng)
            first_id += count
            with open(os.path.join(staging, 'annotations',
                                   f'instances_{split}2017.json'), 'w') as f:
                json.dump(coco, f)
    return counts


# Segmentation: ADE20K-format shapes -----------------------------------------


#: (ADE20K label value in the PNG, shape drawn for it): wall, floor, tree.
ADE_CLASSES: Tuple[Tuple[int, str], ...] = ((1, 'square'), (4, 'circle'),
                                            (5, 'triangle'))
ADE_SPLITS = dict(train='training', val='validation')


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
            image_dir = os.path.join(staging, 'images', ADE_SPLITS[split])
            label_dir = os.path.join(staging, 'annotations', ADE_SPLITS[split])
            os.makedirs(image_dir)
            os.makedirs(label_dir)
            for index in range(count):
                image = noisy_background(image_size, rng)
                label = Image.new('L', (image_size, image_size), 0)
                for _ in range(int(rng.integers(1, max_shapes + 1))):
                    value, shape = ADE_CLASSES[int(
                        rng.integers(len(ADE_CLASSES)))]
                    poly = random_polygon(shape, image_size, rng)
                    colour = tuple(
                        int(c) for c in rng.integers(120, 256, size=3))
                    ImageDraw.Draw(image).polygon(poly, fill=colour)
                    ImageDraw.Draw(label).polygon(poly, fill=value)
                name = f'{split}_{index:04d}'
                image.save(os.path.join(image_dir, name + '.jpg'), quality=95)
                label.save(os.path.join(label_dir, name + '.png'))
    return counts
