"""The real-digit split (pretraining / test / scene pool) and its folder."""
import json
import os

import numpy as np
import pytest

from digits_lab.digits import split_digits, write_digits


@pytest.mark.parametrize('source', ['mnist', 'sklearn'])
def test_split_is_long_tailed_balanced_disjoint_and_deterministic(source):
    split = split_digits(imbalance_ratio=10, test_per_class=30,
                         scene_per_class=40, source=source, seed=0)
    train = [len(split['train'][c]) for c in range(10)]
    assert [len(split['test'][c]) for c in range(10)] == [30] * 10
    assert [len(split['scenes'][c]) for c in range(10)] == [40] * 10
    assert train == sorted(train, reverse=True)
    assert train[0] / train[-1] == pytest.approx(10, rel=0.1)
    again = split_digits(10, 30, 40, source, seed=0)
    other = split_digits(10, 30, 40, source, seed=1)
    assert np.array_equal(again['scenes'][9], split['scenes'][9])
    assert not np.array_equal(other['train'][9], split['train'][9])
    for c in range(10):  # the three parts never share an image
        seen = {}
        for part in ('train', 'test', 'scenes'):
            for img in split[part][c]:
                seen.setdefault(img.tobytes(), set()).add(part)
        # the sklearn digits hold a few exact duplicates; they stay rare
        assert sum(len(parts) > 1 for parts in seen.values()) <= 1
    assert split['train'][0].dtype == np.uint8
    assert split['train'][0].max() > 200
    side = {'mnist': 28, 'sklearn': 8}[source]
    assert split['scenes'][3].shape[1:] == (side, side)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match='imbalance_ratio'):
        split_digits(imbalance_ratio=0.5)
    with pytest.raises(ValueError, match='test_per_class'):
        split_digits(imbalance_ratio=10, test_per_class=300,
                     scene_per_class=250)
    with pytest.raises(ValueError, match='Unknown digit source'):
        split_digits(imbalance_ratio=10, source='emnist')


def test_write_digits_folder_reuse_and_mismatch(tmp_path):
    root = str(tmp_path / 'digits')
    meta = write_digits(root, imbalance_ratio=5, scene_per_class=100, seed=0)
    assert meta['classes'] == [str(c) for c in range(10)]
    assert meta['train_counts'][0] == 500 - 50 - 100
    files = sorted(os.listdir(os.path.join(root, 'train', '9')))
    assert len(files) == meta['train_counts'][9]
    assert sum(len(os.listdir(os.path.join(root, 'test', c)))
               for c in meta['classes']) == 500
    stamp = os.path.getmtime(os.path.join(root, 'meta.json'))
    assert write_digits(root, imbalance_ratio=5, scene_per_class=100) == meta
    assert os.path.getmtime(os.path.join(root, 'meta.json')) == stamp
    with pytest.raises(FileExistsError, match='written with'):
        write_digits(root, imbalance_ratio=10, scene_per_class=100)
    with open(os.path.join(root, 'meta.json')) as f:
        assert json.load(f)['settings']['source'] == 'mnist'
    assert not [n for n in os.listdir(tmp_path) if n.startswith('.tmp')]


def test_custom_dataset_reads_the_folder(tmp_path):
    from mmpretrain.datasets import CustomDataset

    root = str(tmp_path / 'digits')
    meta = write_digits(root, imbalance_ratio=10)
    train = CustomDataset(data_root=root, data_prefix='train',
                          pipeline=[dict(type='LoadImageFromFile')])
    assert len(train) == sum(meta['train_counts'])
    assert train.metainfo['classes'] == tuple(meta['classes'])
    labels = np.bincount([train.get_data_info(i)['gt_label']
                          for i in range(len(train))])
    assert labels.tolist() == meta['train_counts']
    assert train[0]['img'].shape == (28, 28, 3)
