"""Trainable parameters of the 100,000-class models (authors: 33.8M EBV with
d = 5000 vs 228.4M FC).

The FC model is built at full size (0.9 GB of float32). The EBV model is
built for real too, but with fewer classes: its EBVs
are a fixed buffer, so N never enters the trainable count -- which the test
checks by building it for two values of N -- and materialising 100,000 x
5,000 EBVs (1.9 GiB) would only slow the test down.
"""
from pathlib import Path

from mmengine.config import Config
from mmpretrain.registry import MODELS

from cls_helpers import write_ebv_file

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'ebv_pretrain'


def trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_fc_100k_has_228_4m_trainable_parameters():
    cfg = Config.fromfile(
        str(CONFIG_DIR / 'resnet50_fc_8xb128-sgd-105e_100k-classes.py'))
    assert cfg.model.head.num_classes == 100000
    model = MODELS.build(cfg.model)
    assert model.head.fc.weight.shape == (100000, 2048)
    assert round(trainable(model) / 1e6, 1) == 228.4


def test_ebv_100k_has_33_8m_trainable_parameters(ebv_dir):
    cfg = Config.fromfile(
        str(CONFIG_DIR / 'resnet50_ebv-d5000_8xb128-sgd-105e_100k-classes.py'))
    assert cfg.model.head.num_classes == 100000
    counts = []
    for num_classes in (10, 20):
        cfg.model.head.num_classes = num_classes
        cfg.model.head.ebv_file = write_ebv_file(ebv_dir, num_classes, 5000)
        model = MODELS.build(cfg.model)
        assert model.head.ebv.ebvs.shape == (num_classes, 5000)
        assert not model.head.ebv.ebvs.requires_grad
        counts.append(trainable(model))
    assert counts[0] == counts[1]
    # 23.51M ResNet-50 + 2048 x 5000 + 5000 projection = 33.75M.
    assert round(counts[0] / 1e6, 1) == 33.8
    fc_head = 100000 * 2048 + 100000
    ebv_head = 2048 * 5000 + 5000
    assert ebv_head * 20 <= fc_head
