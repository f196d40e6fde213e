"""Scenes of real handwritten digits for instance and semantic segmentation.

Each scene places a few held-out digits (``split_digits(...)['scenes']``) at
random sizes and positions, with limited overlap, on a cluttered background
(a smooth colour field, noise and thin random strokes). Every digit is one
instance whose mask is its (visible) stroke pixels; the semantic label map
paints background 0 and digit ``k`` as ``k + 1``. Train and val scenes are
composed from disjoint digits. One folder holds both tasks:

- ``images/{train,val}/<id>.png``: the RGB scenes;
- ``annotations/instances_{train,val}.json``: COCO instances (boxes, RLE
  masks, categories ``'0'``..``'9'``) for mmdet's ``CocoDataset``;
- ``semantic/{train,val}/<id>.png``: label maps for mmseg's
  ``BaseSegDataset`` (classes :data:`SEG_CLASSES`, :data:`SEG_PALETTE`);
- ``meta.json``: settings, classes, palette and counts.
"""
import json
import os
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from mmebv.fileio import staged_directory

DIGIT_CLASSES: Tuple[str, ...] = tuple(str(k) for k in range(10))
SEG_CLASSES: Tuple[str, ...] = ('background', ) + DIGIT_CLASSES
SEG_PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (0, 0, 0), (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
    (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
    (188, 189, 34), (23, 190, 207))
META_FILE = 'meta.json'
SPLITS = ('train', 'val')


def cluttered_background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A dim float RGB (size, size, 3) image: a smooth colour field, noise
    and a few thin random strokes (thinner and dimmer than the digits)."""
    field = rng.uniform(15, 100, size=(4, 4, 3)).astype(np.uint8)
    image = Image.fromarray(field).resize((size, size), Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 10))):
        points = [tuple(float(v) for v in rng.uniform(0, size, 2))
                  for _ in range(int(rng.integers(2, 4)))]
        colour = tuple(int(c) for c in rng.integers(40, 150, size=3))
        draw.line(points, fill=colour, width=int(rng.integers(1, 3)))
    pixels = np.asarray(image, dtype=np.float32)
    return pixels + rng.normal(0, 8, size=pixels.shape)


def digit_alpha(digit: np.ndarray, height: int, width: int,
                bold: int = 3) -> np.ndarray:
    """The digit's ink as an alpha map in [0, 1] of the given size, strokes
    thickened by a ``bold`` x ``bold`` max filter (1: unchanged)."""
    image = Image.fromarray(digit).resize((width, height), Image.BILINEAR)
    if bold > 1:
        image = image.filter(ImageFilter.MaxFilter(bold))
    return np.asarray(image, dtype=np.float32) / 255


def _box(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """x0, y0, x1, y1 (exclusive) of a non-empty mask."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _overlap(a: Sequence[int], b: Sequence[int]) -> float:
    """Intersection of two boxes over the smaller one's area."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / smaller


def compose_scene(pool: Dict[int, np.ndarray], rng: np.random.Generator,
                  image_size: int = 96, num_digits: Tuple[int, int] = (2, 4),
                  digit_size: Tuple[int, int] = (32, 60),
                  max_overlap: float = 0.15, bold: int = 5
                  ) -> Tuple[np.ndarray, List[int], List[np.ndarray]]:
    """One scene from the digits in ``pool`` ({label: images}).

    Returns the uint8 RGB image, the labels and the boolean visible-stroke
    mask of each placed digit (later digits occlude earlier ones).
    """
    image = cluttered_background(image_size, rng)
    labels, masks, boxes = [], [], []
    for _ in range(int(rng.integers(num_digits[0], num_digits[1] + 1))):
        label = int(rng.integers(len(pool)))
        digit = pool[label][int(rng.integers(len(pool[label])))]
        height = int(rng.integers(digit_size[0], digit_size[1] + 1))
        width = int(round(height * rng.uniform(0.85, 1.15)))
        alpha = digit_alpha(digit, height, width, bold)
        ink = alpha >= 0.5
        if not ink.any():
            continue
        x0, y0, x1, y1 = _box(ink)
        for _attempt in range(20):  # a place that overlaps little
            left = int(rng.integers(-x0, image_size - x1 + 1))
            top = int(rng.integers(-y0, image_size - y1 + 1))
            box = (left + x0, top + y0, left + x1, top + y1)
            if all(_overlap(box, other) <= max_overlap for other in boxes):
                break
        else:
            continue
        canvas = np.zeros((image_size, image_size), np.float32)
        rows = slice(max(top, 0), min(top + height, image_size))
        cols = slice(max(left, 0), min(left + width, image_size))
        canvas[rows, cols] = alpha[rows.start - top:rows.stop - top,
                                   cols.start - left:cols.stop - left]
        colour = rng.uniform(170, 255, size=3).astype(np.float32)
        image = image * (1 - canvas[..., None]) + colour * canvas[..., None]
        mask = canvas >= 0.5
        masks = [m & ~mask for m in masks]
        labels.append(label)
        masks.append(mask)
        boxes.append(box)
    keep = [i for i, m in enumerate(masks) if m.sum() >= 20]
    return (np.clip(np.round(image), 0, 255).astype(np.uint8),
            [labels[i] for i in keep], [masks[i] for i in keep])


def _instance(mask: np.ndarray, label: int, ann_id: int,
              image_id: int) -> dict:
    """A COCO annotation with a compressed RLE mask."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    x0, y0, x1, y1 = _box(mask)
    return dict(id=ann_id, image_id=image_id, category_id=label + 1,
                segmentation=dict(size=[int(v) for v in rle['size']],
                                  counts=rle['counts'].decode('ascii')),
                area=int(mask.sum()), bbox=[x0, y0, x1 - x0, y1 - y0],
                iscrowd=0)


def split_pool(pool: Dict[int, np.ndarray], val_fraction: float
               ) -> Dict[str, Dict[int, np.ndarray]]:
    """Disjoint train / val digits of every class."""
    parts = {'train': {}, 'val': {}}
    for label, images in pool.items():
        num_val = int(round(len(images) * val_fraction))
        if num_val < 1 or num_val >= len(images):
            raise ValueError(
                f'Class {label} has {len(images)} scene digits: too few to '
                f'give both train and val scenes (val_fraction '
                f'{val_fraction}); hold out more digits for scenes.')
        parts['val'][label] = images[:num_val]
        parts['train'][label] = images[num_val:]
    return parts


def write_digit_scenes(root: str, pool: Dict[int, np.ndarray],
                       num_train: int = 400, num_val: int = 100,
                       image_size: int = 96,
                       num_digits: Tuple[int, int] = (2, 4),
                       digit_size: Tuple[int, int] = (32, 60),
                       bold: int = 5, val_fraction: float = 0.3,
                       seed: int = 0) -> dict:
    """Write train / val scenes from ``pool`` ({label: digit images}, e.g.
    ``split_digits(...)['scenes']``) under ``root`` (absent or empty),
    atomically; return the metadata (also in ``meta.json``). ``bold``: the
    odd size of the max filter that thickens the strokes (1: as written)."""
    if min(num_train, num_val) < 1 or image_size < 32:
        raise ValueError(f'Need num_train, num_val >= 1 and image_size >= '
                         f'32; got {num_train}, {num_val}, {image_size}.')
    if not 1 <= num_digits[0] <= num_digits[1]:
        raise ValueError(f'num_digits must be (low, high) with 1 <= low <= '
                         f'high, got {num_digits}.')
    if not 8 <= digit_size[0] <= digit_size[1] <= image_size:
        raise ValueError(f'digit_size must be (low, high) with 8 <= low <= '
                         f'high <= image_size, got {digit_size}.')
    if bold < 1 or bold % 2 == 0:
        raise ValueError(f'bold must be an odd size >= 1, got {bold}.')
    if sorted(pool) != list(range(len(DIGIT_CLASSES))):
        raise ValueError(f'pool must map every label 0..9 to its digits, '
                         f'got labels {sorted(pool)}.')
    rng = np.random.default_rng(seed)
    parts = split_pool(pool, val_fraction)
    counts = dict(train=num_train, val=num_val)
    meta = dict(
        settings=dict(num_train=num_train, num_val=num_val,
                      image_size=image_size, num_digits=list(num_digits),
                      digit_size=list(digit_size), bold=bold,
                      val_fraction=val_fraction,
                      seed=seed),
        classes=list(DIGIT_CLASSES), seg_classes=list(SEG_CLASSES),
        seg_palette=[list(c) for c in SEG_PALETTE], images={}, instances={})
    with staged_directory(root) as staging:
        os.makedirs(os.path.join(staging, 'annotations'))
        first_id = 1
        for split in SPLITS:
            image_dir = os.path.join(staging, 'images', split)
            label_dir = os.path.join(staging, 'semantic', split)
            os.makedirs(image_dir)
            os.makedirs(label_dir)
            images, annotations = [], []
            per_class = [0] * len(DIGIT_CLASSES)
            for image_id in range(first_id, first_id + counts[split]):
                scene, labels, masks = compose_scene(
                    parts[split], rng, image_size, num_digits, digit_size,
                    bold=bold)
                semantic = np.zeros((image_size, image_size), np.uint8)
                for label, mask in zip(labels, masks):
                    semantic[mask] = label + 1
                    annotations.append(_instance(
                        mask, label, len(annotations) + 1, image_id))
                    per_class[label] += 1
                name = f'{image_id:05d}.png'
                Image.fromarray(scene).save(os.path.join(image_dir, name))
                Image.fromarray(semantic).save(os.path.join(label_dir, name))
                images.append(dict(id=image_id, file_name=name,
                                   width=image_size, height=image_size))
            first_id += counts[split]
            coco = dict(images=images, annotations=annotations,
                        categories=[dict(id=k + 1, name=name,
                                         supercategory='digit')
                                    for k, name in enumerate(DIGIT_CLASSES)])
            with open(os.path.join(staging, 'annotations',
                                   f'instances_{split}.json'), 'w') as f:
                json.dump(coco, f)
            meta['images'][split] = counts[split]
            meta['instances'][split] = per_class
        with open(os.path.join(staging, META_FILE), 'w') as f:
            json.dump(meta, f, indent=2)
    return meta


def write_digits_and_scenes(root: str, imbalance_ratio: float,
                            scene_per_class: int, num_train: int,
                            num_val: int, seed: int = 0) -> dict:
    """The data of the transfer experiments under ``root``: the long-tailed
    digit set (``digits-lt``, :func:`write_digits`) and scenes of the
    held-out digits (``scenes``), each written once. Returns the digit
    set's metadata with ``digits`` and ``scenes`` (folders, the latter with
    a trailing separator, as mmdet / mmseg ``data_root``) and the scenes'
    metadata as ``scene_meta``."""
    from .digits import split_digits, write_digits

    digits = os.path.join(root, 'digits-lt')
    meta = write_digits(digits, imbalance_ratio,
                        scene_per_class=scene_per_class, seed=seed)
    scenes = os.path.join(root, 'scenes')
    if not os.path.isfile(os.path.join(scenes, 'meta.json')):
        pool = split_digits(imbalance_ratio, scene_per_class=scene_per_class,
                            seed=seed)['scenes']
        write_digit_scenes(scenes, pool, num_train, num_val, seed=seed)
    with open(os.path.join(scenes, 'meta.json')) as f:
        scene_meta = json.load(f)
    return dict(meta, digits=digits, scenes=scenes + os.sep,
                scene_meta=scene_meta)
