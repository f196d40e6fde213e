"""Scenes of held-out real digits: COCO instances and semantic label maps
that agree with each other, read by mmdet's and mmseg's datasets."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from digits_lab.digit_scenes import (SEG_CLASSES, compose_scene,
                                      write_digit_scenes)
from digits_lab.digits import split_digits


@pytest.fixture(scope='module')
def pool():
    return split_digits(10, test_per_class=20, scene_per_class=30)['scenes']


@pytest.fixture(scope='module')
def scenes(pool, tmp_path_factory):
    root = str(tmp_path_factory.mktemp('scenes') / 'scenes')
    meta = write_digit_scenes(root, pool, num_train=12, num_val=6, seed=3)
    return root, meta


def test_compose_scene_masks_are_visible_strokes(pool):
    rng = np.random.default_rng(0)
    image, labels, masks = compose_scene(pool, rng, image_size=96,
                                         num_digits=(3, 3),
                                         digit_size=(30, 40))
    assert image.shape == (96, 96, 3) and image.dtype == np.uint8
    assert 1 <= len(labels) == len(masks) <= 3
    for a in range(len(masks)):  # occluded pixels belong to one digit only
        for b in range(a + 1, len(masks)):
            assert not (masks[a] & masks[b]).any()
    ink = np.any(masks, axis=0)
    # digits are drawn bright on a dim background
    assert image[ink].mean() > image[~ink].mean() + 60


def test_files_agree(scenes):
    from pycocotools import mask as mask_utils

    root, meta = scenes
    assert meta['images'] == {'train': 12, 'val': 6}
    assert meta['seg_classes'] == list(SEG_CLASSES)
    for split in ('train', 'val'):
        with open(os.path.join(root, 'annotations',
                               f'instances_{split}.json')) as f:
            coco = json.load(f)
        assert [c['name'] for c in coco['categories']] == \
            [str(k) for k in range(10)]
        assert len(coco['images']) == meta['images'][split]
        assert np.bincount([a['category_id'] - 1 for a in
                            coco['annotations']], minlength=10).tolist() \
            == meta['instances'][split]
        for image in coco['images']:
            label_map = np.asarray(Image.open(os.path.join(
                root, 'semantic', split, image['file_name'])))
            assert Image.open(os.path.join(
                root, 'images', split, image['file_name'])).size == (96, 96)
            anns = [a for a in coco['annotations']
                    if a['image_id'] == image['id']]
            assert anns, 'every scene holds at least one digit'
            painted = np.zeros_like(label_map)
            for ann in anns:
                mask = mask_utils.decode(ann['segmentation']).astype(bool)
                assert mask.sum() == ann['area'] > 0
                ys, xs = np.nonzero(mask)
                x, y, w, h = ann['bbox']
                assert (x, y, x + w - 1, y + h - 1) == (
                    xs.min(), ys.min(), xs.max(), ys.max())
                painted[mask] = ann['category_id']
            # the label map is exactly the union of the instance masks
            assert np.array_equal(painted, label_map)


def test_train_and_val_use_disjoint_digits(pool):
    from digits_lab.digit_scenes import split_pool

    parts = split_pool(pool, 0.3)
    for label in range(10):
        train = {d.tobytes() for d in parts['train'][label]}
        assert not [d for d in parts['val'][label] if d.tobytes() in train]
        assert len(parts['val'][label]) == 9


def test_deterministic_and_atomic(pool, scenes, tmp_path):
    root, _ = scenes
    again = str(tmp_path / 'again')
    write_digit_scenes(again, pool, num_train=12, num_val=6, seed=3)
    for name in ('annotations/instances_val.json', 'images/train/00001.png',
                 'semantic/val/00013.png'):
        with open(os.path.join(root, name), 'rb') as a, \
                open(os.path.join(again, name), 'rb') as b:
            assert a.read() == b.read()
    with pytest.raises(FileExistsError):
        write_digit_scenes(again, pool, num_train=2, num_val=2)
    with pytest.raises(ValueError, match='too few'):
        write_digit_scenes(str(tmp_path / 'few'),
                           {k: v[:1] for k, v in pool.items()})
    with pytest.raises(ValueError, match='every label'):
        write_digit_scenes(str(tmp_path / 'bad'), {0: pool[0]})
    assert not [n for n in os.listdir(tmp_path) if n.startswith('.tmp')]


def test_mmdet_and_mmseg_datasets_read_them(scenes):
    from mmdet.datasets import CocoDataset
    from mmengine.registry import DefaultScope
    from mmseg.datasets import BaseSegDataset

    root, meta = scenes
    with DefaultScope.overwrite_default_scope('mmdet'):
        det = CocoDataset(
            data_root=root, ann_file='annotations/instances_val.json',
            data_prefix=dict(img='images/val/'),
            metainfo=dict(classes=tuple(meta['classes'])),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', with_bbox=True,
                           with_mask=True)])
        sample = det[0]
    assert sample['gt_masks'].masks.shape[0] == len(sample['gt_bboxes_labels'])
    assert sample['gt_masks'].masks.any(axis=(1, 2)).all()
    with DefaultScope.overwrite_default_scope('mmseg'):
        seg = BaseSegDataset(
            data_root=root, img_suffix='.png', seg_map_suffix='.png',
            data_prefix=dict(img_path='images/val',
                             seg_map_path='semantic/val'),
            metainfo=dict(classes=tuple(meta['seg_classes']),
                          palette=meta['seg_palette']),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', reduce_zero_label=False)])
        label_map = seg[0]['gt_seg_map']
    assert len(seg) == 6
    assert 0 < label_map.max() <= 10
