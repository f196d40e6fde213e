"""Tiny LVIS v1 and COCO-Stuff 164k sets in the datasets' own formats."""
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from data_factory import noisy_background, random_polygon

#: LVIS v1: 1203 categories, ids 1..1203 in the order of mmdet's class names.
LVIS_NUM_CLASSES = 1203
#: Categories the tiny LVIS set draws (ids), one per frequency group.
LVIS_DRAWN = {1: 'circle', 600: 'square', 1203: 'triangle'}
COCO_STUFF_NUM_CLASSES = 171


def _lvis_split(root: Path, split: str, first_id: int, num_images: int,
                rng: np.random.Generator, size: int = 96) -> dict:
    from mmdet.datasets import LVISV1Dataset
    names = LVISV1Dataset.METAINFO['classes']
    folder = root / f'{split}2017'
    folder.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(first_id, first_id + num_images):
        image = noisy_background(size, rng)
        draw = ImageDraw.Draw(image)
        for cat_id, shape in LVIS_DRAWN.items():
            poly = random_polygon(shape, size, rng)
            draw.polygon(poly, fill=tuple(int(c) for c in
                                          rng.integers(120, 256, size=3)))
            xs, ys = poly[0::2], poly[1::2]
            box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            annotations.append(dict(
                id=len(annotations) + 1 + first_id * 100, image_id=image_id,
                category_id=cat_id, segmentation=[poly], bbox=box,
                area=box[2] * box[3] / 2))
        file_name = f'{image_id:012d}.jpg'
        image.save(folder / file_name, quality=95)
        images.append(dict(
            id=image_id, width=size, height=size,
            coco_url=f'http://images.cocodataset.org/{split}2017/{file_name}',
            neg_category_ids=[2, 3], not_exhaustive_category_ids=[]))
    frequency = {1: 'r', 600: 'c', 1203: 'f'}
    categories = [
        dict(id=i, name=names[i - 1], synset=f'{names[i - 1]}.n.01',
             frequency=frequency.get(i, 'c'),
             image_count=num_images if i in LVIS_DRAWN else 0)
        for i in range(1, LVIS_NUM_CLASSES + 1)
    ]
    return dict(images=images, annotations=annotations, categories=categories)


def write_lvis(root: Path, seed: int = 0) -> Path:
    """``root/annotations/lvis_v1_{train,val}.json`` (with the
    ``frequency`` and ``image_count`` category fields) and the images under
    ``root/{train,val}2017``, as mmdet's LVIS v1 configs read them."""
    rng = np.random.default_rng(seed)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    for split, first_id, count in (('train', 1, 4), ('val', 100, 2)):
        data = _lvis_split(root, split, first_id, count, rng)
        (root / 'annotations' / f'lvis_v1_{split}.json').write_text(
            json.dumps(data))
    return root


def write_coco_stuff(root: Path, seed: int = 0, size: int = 64) -> Path:
    """COCO-Stuff 164k layout: ``images/{train,val}2017/<id>.jpg`` and
    ``annotations/{train,val}2017/<id>_labelTrainIds.png`` (labels 0..170,
    255 = ignore), each image a few filled rectangles of random classes."""
    rng = np.random.default_rng(seed)
    for split, count in (('train', 4), ('val', 2)):
        images = root / 'images' / f'{split}2017'
        labels = root / 'annotations' / f'{split}2017'
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        for index in range(count):
            pixels = np.asarray(noisy_background(size, rng)).copy()
            label = np.full((size, size), 255, dtype=np.uint8)
            for cls in rng.choice(COCO_STUFF_NUM_CLASSES, size=3,
                                  replace=False):
                x0, y0 = rng.integers(0, size // 2, size=2)
                x1, y1 = x0 + rng.integers(8, size // 2, size=2)
                pixels[y0:y1, x0:x1] = rng.integers(60, 256, size=3)
                label[y0:y1, x0:x1] = cls
            name = f'{index:012d}'
            Image.fromarray(pixels).save(images / f'{name}.jpg', quality=95)
            Image.fromarray(label).save(labels / f'{name}_labelTrainIds.png')
    return root
