"""The pretraining configs measure what the authors measured (issue #9):
evaluation crops, best-epoch checkpoints, the Swin-T recipe, the head API,
and the corrected long-tailed CIFAR numbers of the model zoo. Every config's
evaluation pipeline and checkpoint hook are pinned in test_cls_configs.py,
which loads each config once."""
import copy
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmpretrain.registry import MODELS
from PIL import Image

from cls_helpers import write_ebv_file
from mmebv.cls import EBVClsHead
from mmebv.core import EBVPredictor, bounded_normalize

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'ebv_pretrain'


def test_eval_pipeline_equals_torchvision_presets(tmp_path):
    """Our 224 and 256 evaluation crops are pixel-identical to torchvision's
    Resize(s) + CenterCrop(s) on a PIL image (the authors' presets.py), for
    landscape and portrait images."""
    import numpy as np
    from torchvision import transforms
    cfg = Config.fromfile(str(
        CONFIG_DIR / 'resnet50_ebv_8xb128-sgd-a2-105e_in1k.py'))
    rng = np.random.default_rng(0)
    for height, width in ((375, 500), (500, 333), (257, 641)):
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        image = tmp_path / f'{height}x{width}.png'
        Image.fromarray(pixels).save(image)
        for pipeline, size in ((cfg.test_pipeline, 224),
                               (cfg.test_pipeline_256, 256)):
            ours = Compose([dict(s) for s in pipeline])(
                dict(img_path=str(image)))['inputs']  # (3, s, s) BGR
            theirs = transforms.Compose([
                transforms.Resize(size), transforms.CenterCrop(size),
                transforms.PILToTensor()])(Image.open(image).convert('RGB'))
            assert torch.equal(ours.flip(0), theirs), (height, width, size)


@pytest.mark.parametrize('setting', ['a1', 'a2'])
@pytest.mark.parametrize('head', ['ebv', 'fc'])
def test_swin_tiny_is_the_authors_timm_model(head, setting):
    cfg = Config.fromfile(str(
        CONFIG_DIR / f'swin-tiny_{head}_8xb128-adamw-{setting}-105e_in1k.py'))
    assert cfg.model.backbone.drop_path_rate == 0.1
    assert [{k: v for k, v in c.items() if k != '_scope_'}
            for c in cfg.model.init_cfg] == [
        dict(type='TruncNormal', layer='Linear', std=0.02, bias=0.),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.)]
    assert cfg.model.head.init_cfg is None


@pytest.mark.parametrize('head', ['ebv', 'fc'])
def test_swin_init_reaches_every_linear(head, ebv_dir):
    """A narrow Swin (embed 32, one block per stage) built from the config:
    after init_weights every Linear, the head's included, has std ~0.02 and
    zero bias (PyTorch's default would give std 0.036 to 0.10 and non-zero
    biases here), LayerNorms are (1, 0), and drop-path peaks at 0.1."""
    cfg = Config.fromfile(str(
        CONFIG_DIR / f'swin-tiny_{head}_8xb128-adamw-a2-105e_in1k.py'))
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone']['arch'] = dict(
        embed_dims=32, depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 8])
    model_cfg['head'].update(num_classes=10, in_channels=256)
    if head == 'ebv':
        model_cfg['head'].update(ebv_dim=16,
                                 ebv_file=write_ebv_file(ebv_dir, 10, 16))
    model_cfg['data_preprocessor'] = dict(num_classes=10)
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.init_weights()
    linears = {n: m for n, m in model.named_modules()
               if isinstance(m, torch.nn.Linear)}
    head_linear = 'head.projection' if head == 'ebv' else 'head.fc'
    assert head_linear in linears and len(linears) >= 10
    for name, layer in linears.items():
        if layer.bias is not None:  # PatchMerging's reduction has none
            assert torch.count_nonzero(layer.bias) == 0, name
        if layer.weight.numel() >= 2000:
            assert 0.017 < float(layer.weight.std()) < 0.023, name
    norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert norms and all(
        torch.all(m.weight == 1) and torch.all(m.bias == 0) for m in norms)
    drop = [m.drop_prob for m in model.modules()
            if type(m).__name__ == 'DropPath']
    assert max(drop) == pytest.approx(0.1)


def test_ebv_dim_defaults_to_num_classes_in_every_head():
    """One rule: d = N unless given, as LinearClsHead's arguments."""
    head = MODELS.build(dict(type='EBVClsHead', num_classes=5,
                             in_channels=10))
    assert head.ebv_dim == 5 and head.ebv.ebvs.shape == (5, 5)
    dense = EBVPredictor(10, 5, spatial=True)
    assert dense.ebv.ebvs.shape == (5, 5)
    feats = (torch.rand(4, 10), torch.rand(4, 10))
    assert head(feats).shape == (4, 5)


@pytest.mark.parametrize('kwargs,message', [
    (dict(num_classes=-5), 'num_classes=-5 must be a positive integer'),
    (dict(num_classes=0), 'num_classes=0 must be a positive integer'),
    (dict(ebv_dim=0), 'ebv_dim=0 must be a positive integer'),
    (dict(in_channels=-1), 'in_channels=-1 must be a positive integer')])
def test_bad_sizes_fail_as_upstream(kwargs, message):
    args = dict(num_classes=5, in_channels=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=re.escape(message)):
        EBVClsHead(**args)
    if 'num_classes' in kwargs:  # the same words as mmpretrain's own head
        with pytest.raises(ValueError, match=re.escape(message)):
            MODELS.build(dict(type='LinearClsHead', **args))
    if 'ebv_dim' in kwargs:
        with pytest.raises(ValueError, match=re.escape(message)):
            EBVPredictor(10, 5, spatial=False, ebv_dim=0)


def test_pre_logits_is_the_ebv_space_embedding(ebv_dir):
    """extract_feat(stage='pre_logits') gives the (B, d) embedding whose
    nearest EBV by cosine is the prediction: usable for k-NN / probes."""
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='CifarResNet', depth=20),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='EBVClsHead', num_classes=4, in_channels=64,
                  ebv_dim=8, ebv_file=write_ebv_file(ebv_dir, 4, 8)))).eval()
    x = torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        embedding = model.extract_feat(x, stage='pre_logits')
        neck = model.extract_feat(x, stage='neck')
        logits = model(x, mode='tensor')
    assert embedding.shape == (6, 8)
    torch.testing.assert_close(embedding, model.head.projection(neck[-1]))
    # the cosine as scored: F.normalize's direction, bounded near zero
    # (lengths differ by a factor 1 - eps^2 / |x|^2)
    cosine = bounded_normalize(embedding, 1) @ model.head.ebv.ebvs.t()
    torch.testing.assert_close(logits, cosine / model.head.ebv.tau)
    assert torch.equal(cosine.argmax(1), logits.argmax(1))


def readme_row(label: str) -> list:
    text = (ROOT / 'docs' / 'en' / 'model_zoo.md').read_text()
    row = next(line for line in text.splitlines()
               if line.startswith(f'| {label} |'))
    return [cell.strip() for cell in row.strip('|').split('|')]


def test_readme_long_tailed_cifar_columns_corrected():
    """The slides swap CIFAR-10-LT and CIFAR-100-LT; 38.32 at imbalance 100
    is the CIFAR-100-LT cross-entropy baseline (docs/reference.md)."""
    assert readme_row('CIFAR-10-LT')[1:3] == [
        '70.36 / 74.81 / 86.39', '73.31 / 78.97 / 87.9']
    assert readme_row('CIFAR-100-LT')[1:3] == [
        '38.32 / 43.85 / 55.71', '40.41 / 44.68 / 57.82']


@pytest.mark.slow
def test_best_and_last_checkpoints_kept(tmp_path, ebv_dir):
    """A real pretraining config (ResNet-32 long-tailed CIFAR, EBV), run for
    three epochs on a tiny image folder: validation every epoch, the best
    epoch's checkpoint and only the last epoch's are left."""
    from mmengine.runner import Runner
    from data_factory import write_image_folder
    data = tmp_path / 'data'
    write_image_folder(str(data), num_classes=4, images_per_class=6, size=32)
    cfg = Config.fromfile(str(
        CONFIG_DIR / 'resnet32_ebv_1xb128-200e_cifar10-lt-r100.py'))
    cfg.model.head.update(num_classes=4, ebv_dim=4,
                          ebv_file=write_ebv_file(ebv_dir, 4, 4))
    cfg.model.setdefault('data_preprocessor', copy.deepcopy(
        cfg.data_preprocessor))
    cfg.model.data_preprocessor.num_classes = 4
    pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    for name, split in (('train_dataloader', 'train'),
                        ('val_dataloader', 'val'),
                        ('test_dataloader', 'val')):
        cfg[name].update(batch_size=8, num_workers=0, persistent_workers=False)
        cfg[name].dataset = dict(type='CustomDataset', data_root=str(data),
                                 data_prefix=split, pipeline=pipeline)
    cfg.train_cfg.max_epochs = 3
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer = dict(type='UniversalVisualizer', vis_backends=[])
    Runner.from_cfg(cfg).train()
    names = sorted(p.name for p in (tmp_path / 'work').glob('*.pth'))
    best = [n for n in names if n.startswith('best_accuracy_top1_epoch_')]
    assert len(best) == 1, names
    assert set(names) == {'epoch_3.pth', best[0]}
