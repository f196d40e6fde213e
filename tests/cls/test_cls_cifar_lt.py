"""CifarResNet (ResNet-32) and the exponentially long-tailed CIFAR sets."""
import pickle

import numpy as np
import pytest
import torch
from mmpretrain.registry import DATASETS, MODELS

from mmebv.cls import LongTailCIFAR10, LongTailCIFAR100, long_tail_counts


@pytest.mark.parametrize('n_max,classes,ratio,total', [
    (5000, 10, 100, 12406), (5000, 10, 50, 13996), (5000, 10, 10, 20431),
    (500, 100, 100, 10847), (500, 100, 50, 12608), (500, 100, 10, 19573),
])
def test_long_tail_counts_match_the_literature(n_max, classes, ratio, total):
    counts = long_tail_counts(n_max, classes, ratio)
    assert counts[0] == n_max and counts[-1] == n_max // ratio
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    assert sum(counts) == total


def test_long_tail_counts_cifar10_r100():
    assert long_tail_counts(5000, 10, 100) == [
        5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_bad_ratio_fails():
    with pytest.raises(ValueError, match='imbalance_ratio'):
        long_tail_counts(100, 10, 0.5)
    with pytest.raises(ValueError, match='empty'):
        long_tail_counts(50, 10, 100)


def write_cifar(root, folder, train_name, key, classes, per_class, seed=0):
    """A small CIFAR-format split; pixel [0] encodes each image's index.

    ``per_class`` is one count for all classes or a count per class.
    """
    rng = np.random.default_rng(seed)
    per_class = np.broadcast_to(per_class, (classes, ))
    labels = rng.permutation(np.repeat(np.arange(classes), per_class))
    data = np.zeros((len(labels), 3072), dtype=np.uint8)
    data[:, 0] = np.arange(len(labels)) % 256
    data[:, 1] = np.arange(len(labels)) // 256
    (root / folder).mkdir(parents=True)
    for name in (train_name, 'test_batch' if key == 'labels' else 'test'):
        with open(root / folder / name, 'wb') as f:
            pickle.dump({'data': data, key: labels.tolist()}, f)
    return labels


class TinyLongTailCIFAR10(LongTailCIFAR10):
    """Our fake files: one batch each, no md5 of the real archives."""
    train_list = [['data_batch_1', None]]
    test_list = [['test_batch', None]]


class TinyLongTailCIFAR100(LongTailCIFAR100):
    train_list = [['train', None]]
    test_list = [['test', None]]


def cao_selection(labels, counts):
    """Cao et al.'s LDAM-DRW selection, written out as their code does it:
    the global NumPy generator seeded once with 0, then per class, in label
    order, ``np.random.shuffle`` of its indices and the first n_i kept."""
    state = np.random.get_state()
    try:
        np.random.seed(0)
        selected = []
        for the_class, the_img_num in zip(np.unique(labels), counts):
            idx = np.where(labels == the_class)[0]
            np.random.shuffle(idx)
            selected.extend(idx[:the_img_num].tolist())
    finally:
        np.random.set_state(state)
    return selected


@pytest.mark.parametrize('cls,folder,name,key,classes', [
    (TinyLongTailCIFAR10, 'cifar-10-batches-py', 'data_batch_1', 'labels',
     10),
    (TinyLongTailCIFAR100, 'cifar-100-python', 'train', 'fine_labels', 100),
])
def test_long_tail_dataset_is_cao_et_al_subset(tmp_path, cls, folder, name,
                                               key, classes):
    labels = write_cifar(tmp_path, folder, name, key, classes, per_class=20)
    dataset = cls(data_root=str(tmp_path), split='train', download=False,
                  imbalance_ratio=10)
    counts = [int(20 * 0.1**(i / (classes - 1.0))) for i in range(classes)]
    assert counts == long_tail_counts(20, classes, 10)
    kept = [int(dataset.get_data_info(i)['img'][0, 0, 0]) +
            256 * int(dataset.get_data_info(i)['img'][0, 1, 0])
            for i in range(len(dataset))]
    expected = cao_selection(labels, counts)
    assert kept == expected
    # Not simply the first n_i of each class in file order (the old subset).
    first = [i for i, label in enumerate(labels)
             if (labels[:i] == label).sum() < counts[label]]
    assert sorted(kept) != first
    assert [dataset.get_data_info(i)['gt_label'] for i in
            range(len(dataset))] == labels[expected].tolist()
    again = cls(data_root=str(tmp_path), split='train', download=False,
                imbalance_ratio=10)
    assert [again.get_data_info(i)['img'][0, 0, 0] for i in range(
        len(again))] == [dataset.get_data_info(i)['img'][0, 0, 0]
                         for i in range(len(dataset))]


def test_long_tail_dataset_needs_enough_samples(tmp_path):
    per_class = [20] * 9 + [1]  # the tail class needs 2
    write_cifar(tmp_path, 'cifar-10-batches-py', 'data_batch_1', 'labels',
                10, per_class=per_class)
    with pytest.raises(ValueError, match='fewer samples'):
        TinyLongTailCIFAR10(data_root=str(tmp_path), split='train',
                            download=False, imbalance_ratio=10)


def test_long_tail_datasets_are_registered():
    assert DATASETS.get('LongTailCIFAR10') is LongTailCIFAR10
    assert DATASETS.get('LongTailCIFAR100') is LongTailCIFAR100


def test_resnet32_layout():
    net = MODELS.build(dict(type='CifarResNet', depth=32))
    net.init_weights()
    stages = [getattr(net, name) for name in net.res_layers]
    assert [len(stage) for stage in stages] == [5, 5, 5]
    assert [stage[-1].conv2.out_channels for stage in stages] == [16, 32, 64]
    out = net(torch.randn(2, 3, 32, 32))
    assert len(out) == 1 and out[0].shape == (2, 64, 8, 8)
    params = sum(p.numel() for p in net.parameters())
    # He et al.: 0.46M with identity (option A) shortcuts; the two 1x1
    # projection shortcuts used here add 2.6k.
    assert 0.46e6 < params < 0.47e6


def test_cifar_resnet_rejects_other_depths():
    with pytest.raises(ValueError, match='6n\\+2'):
        MODELS.build(dict(type='CifarResNet', depth=50))
