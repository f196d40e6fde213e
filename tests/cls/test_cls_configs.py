"""Every config under configs/ebv_pretrain/ loads, builds and runs; recipes
match docs/reference.md; FC baselines differ from their EBV twins only in the head.
"""
import copy
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample

from cls_helpers import write_ebv_file

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'ebv_pretrain'
CONFIGS = sorted(
    p for p in CONFIG_DIR.rglob('*.py') if '_base_' not in p.parts)
IDS = [str(p.relative_to(CONFIG_DIR)) for p in CONFIGS]
#: Class counts too large for a quick test are reduced (the head's code
#: path does not depend on N; test_cls_param_counts.py checks the real N).
MAX_TEST_CLASSES = 1000


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / name))


def shrink_for_test(cfg: Config, ebv_dir) -> int:
    """Small-N and an EBV file instead of generation; returns N."""
    head = cfg.model.head
    num_classes = min(head.num_classes, MAX_TEST_CLASSES)
    head.num_classes = num_classes
    cfg.model.setdefault('data_preprocessor', copy.deepcopy(
        cfg.get('data_preprocessor', {})))
    cfg.model.data_preprocessor.num_classes = num_classes
    # A Kerdock head is built from its construction in no time (and takes
    # no file); the others read a random file instead of generating.
    if head.type == 'EBVClsHead' and head.get('method') != 'kerdock':
        head.ebv_file = write_ebv_file(ebv_dir, num_classes, head.ebv_dim)
    return num_classes


def test_all_configs_found():
    assert len(CONFIGS) >= 50


#: Model configs already built and run (after shrinking), by their repr:
#: configs that differ only in data or schedule share one model check.
_RUN_MODELS = {}


def build_and_run(model_cfg: dict, num_classes: int) -> None:
    """Build the model, one training loss and one prediction on 2 images."""
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(model_cfg))
    size = 224 if model_cfg['backbone']['type'] == 'SwinTransformer' else 32
    data = dict(
        inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8)
                for _ in range(2)],
        data_samples=[DataSample().set_gt_label(i) for i in (0, 1)])
    with torch.no_grad():
        model.train()
        batch = model.data_preprocessor(copy.deepcopy(data), training=True)
        assert torch.isfinite(model(**batch, mode='loss')['loss'])
        model.eval()
        preds = model(**model.data_preprocessor(data), mode='predict')
    assert preds[0].pred_score.shape == (num_classes, )
    assert float(preds[0].pred_score.sum()) == pytest.approx(1.0)


def authors_evaluation(size: int) -> list:
    """torchvision ``Resize(size)`` (short edge, PIL bilinear) +
    ``CenterCrop(size)``: the authors' evaluation, in mmpretrain terms."""
    return [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=size, edge='short', backend='pillow',
             interpolation='bilinear'),
        dict(type='CenterCrop', crop_size=size),
        dict(type='PackInputs'),
    ]


def check_measured_as_the_authors(cfg: Config, path: Path) -> None:
    """Validation every epoch, best and last checkpoints kept; ImageNet-style
    data evaluated at resize s / crop s (s = 224, or 256 in eval256/)."""
    assert cfg.train_cfg.val_interval == 1
    assert plain(cfg.default_hooks.checkpoint) == dict(
        type='SafeCheckpointHook', interval=1, save_best='accuracy/top1',
        rule='greater', max_keep_ckpts=1)
    assert cfg.val_evaluator.type == 'Accuracy'
    assert 1 in tuple(cfg.val_evaluator.get('topk', (1, )))
    if 'cifar' not in path.name:
        size = 256 if 'eval256' in path.parts else 224
        for loader in (cfg.val_dataloader, cfg.test_dataloader):
            assert [plain(s) for s in loader.dataset.pipeline
                    ] == authors_evaluation(size)


def test_imagenet_style_and_eval256_configs_found():
    assert sum('cifar' not in p.name for p in CONFIGS) >= 35
    assert sum('eval256' in p.parts for p in CONFIGS) >= 17


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_config_builds_and_runs(path, ebv_dir):
    cfg = Config.fromfile(str(path))
    assert 'mmebv' in cfg.custom_imports.imports
    check_measured_as_the_authors(cfg, path)
    num_classes = shrink_for_test(cfg, ebv_dir)
    model_cfg = cfg.model.to_dict()
    key = repr(model_cfg)
    if key not in _RUN_MODELS:
        build_and_run(model_cfg, num_classes)
        _RUN_MODELS[key] = path.name
    # The pipelines are made of registered mmpretrain transforms.
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[loader].dataset.pipeline:
            assert TRANSFORMS.get(step['type']) is not None, step['type']


def head_free(cfg: Config) -> dict:
    """The config without the head's type and EBV-only arguments."""
    out = copy.deepcopy(cfg.to_dict())
    for key in ('type', 'ebv_dim', 'tau', 'ebv_file', 'method', 'alpha',
                'seed'):
        out['model']['head'].pop(key, None)
    return out


FC_CONFIGS = [p for p in CONFIGS if '_fc_' in p.name]


@pytest.mark.parametrize(
    'fc_path', [p for p in FC_CONFIGS
                if p.with_name(p.name.replace('_fc_', '_ebv_')).exists()],
    ids=lambda p: p.name)
def test_fc_baseline_differs_from_ebv_twin_only_in_head(fc_path):
    fc = Config.fromfile(str(fc_path))
    ebv = Config.fromfile(str(fc_path.with_name(
        fc_path.name.replace('_fc_', '_ebv_'))))
    assert fc.model.head.type == 'LinearClsHead'
    assert ebv.model.head.type == 'EBVClsHead'
    assert ebv.model.head.tau == 0.07
    fc_dict, ebv_dict = head_free(fc), head_free(ebv)
    fc_dict.pop('filename', None), ebv_dict.pop('filename', None)
    assert fc_dict == ebv_dict


def plain(cfg_dict) -> dict:
    """A config dict without mmengine's ``_scope_`` bookkeeping."""
    return {k: v for k, v in dict(cfg_dict).items() if k != '_scope_'}


def scheduler(cfg, kind):
    return next(s for s in cfg.param_scheduler if s.type == kind)


@pytest.mark.parametrize('setting', ['a1', 'a2'])
def test_resnet50_sgd_recipe(setting):
    cfg = load(f'resnet50_ebv_8xb128-sgd-{setting}-105e_in1k.py')
    assert cfg.train_dataloader.batch_size * 8 == 1024
    assert cfg.auto_scale_lr.base_batch_size == 1024
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert plain(cfg.optim_wrapper.optimizer) == dict(
        type='SGD', lr=0.5, momentum=0.9, weight_decay=2e-5)
    assert 'paramwise_cfg' not in cfg.optim_wrapper  # decay on all params
    warmup, cosine = (scheduler(cfg, 'LinearLR'),
                      scheduler(cfg, 'CosineAnnealingLR'))
    assert (warmup.begin, warmup.end) == (0, 5)
    assert (cosine.begin, cosine.end, cosine.T_max) == (5, 105, 100)
    assert cfg.train_cfg.max_epochs == 105
    steps = {s['type']: s for s in cfg.train_pipeline}
    assert 'torchvision/TrivialAugmentWide' in steps
    assert steps['RandomErasing']['erase_prob'] == 0.1
    assert cfg.model.head.ebv_dim == 1000 and cfg.model.head.tau == 0.07
    test_steps = {s['type']: s for s in cfg.test_pipeline}
    assert test_steps['ResizeEdge']['scale'] == 224  # the authors' 224
    assert test_steps['CenterCrop']['crop_size'] == 224
    if setting == 'a1':
        assert cfg.model.head.loss.type == 'CrossEntropyLoss'
        assert 'augments' not in (cfg.model.get('train_cfg') or {})
    else:
        assert cfg.model.head.loss.type == 'LabelSmoothLoss'
        assert cfg.model.head.loss.label_smooth_val == 0.1
        assert [plain(a) for a in cfg.model.train_cfg.augments] == [
            dict(type='Mixup', alpha=0.2), dict(type='CutMix', alpha=1.0)]


@pytest.mark.parametrize('head', ['ebv', 'fc'])
def test_600_epoch_schedule(head):
    cfg = load(f'resnet50_{head}_8xb128-sgd-a2-605e_in1k.py')
    cosine = scheduler(cfg, 'CosineAnnealingLR')
    assert (cosine.begin, cosine.end, cosine.T_max) == (5, 605, 600)
    assert cfg.train_cfg.max_epochs == 605


@pytest.mark.parametrize('lr', ['1e-3', '1e-2'])
@pytest.mark.parametrize('setting', ['a1', 'a2'])
@pytest.mark.parametrize('head', ['ebv', 'fc'])
def test_adamw_variants(head, setting, lr):
    cfg = load(f'resnet50_{head}_8xb128-adamw-lr{lr}-{setting}-105e_in1k.py')
    assert plain(cfg.optim_wrapper.optimizer) == dict(
        type='AdamW', lr=float(lr), weight_decay=2e-5)
    assert cfg.train_cfg.max_epochs == 105


@pytest.mark.parametrize('setting', ['a1', 'a2'])
def test_swin_tiny(setting):
    cfg = load(f'swin-tiny_ebv_8xb128-adamw-{setting}-105e_in1k.py')
    assert cfg.model.backbone.type == 'SwinTransformer'
    assert cfg.model.backbone.arch == 'tiny'
    assert cfg.model.head.in_channels == 768
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-3


@pytest.mark.parametrize('dim', [100, 200, 300, 400, 500, 2000])
def test_dimension_ablation(dim):
    cfg = load(f'resnet50_ebv-d{dim}_8xb128-sgd-a2-105e_in1k.py')
    assert cfg.model.head.ebv_dim == dim
    assert cfg.model.head.num_classes == 1000
    assert 'ebv_file' not in cfg.model.head  # generated by default
    at_256 = load(f'eval256/resnet50_ebv-d{dim}_8xb128-sgd-a2-105e_in1k'
                  '_256px.py')
    for loader in (at_256.val_dataloader, at_256.test_dataloader):
        crop = [s for s in loader.dataset.pipeline if s.type == 'CenterCrop']
        assert crop[0].crop_size == 256


@pytest.mark.parametrize('dataset,classes', [('cifar10', 10),
                                             ('cifar100', 100)])
@pytest.mark.parametrize('ratio', [100, 50, 10])
def test_long_tailed_cifar(dataset, classes, ratio):
    for head in ('ebv', 'fc'):
        cfg = load(f'resnet32_{head}_1xb128-200e_{dataset}-lt-r{ratio}.py')
        assert plain(cfg.model.backbone) == dict(type='CifarResNet', depth=32)
        assert cfg.model.head.num_classes == classes
        assert cfg.data_preprocessor.num_classes == classes
        train = cfg.train_dataloader.dataset
        assert train.type == f'LongTailCIFAR{classes}'
        assert train.imbalance_ratio == ratio
        assert cfg.test_dataloader.dataset.type == f'CIFAR{classes}'
        if head == 'ebv':
            assert cfg.model.head.ebv_dim == classes


def test_inat_and_100k_class_counts():
    for head in ('ebv', 'fc'):
        inat = load(f'resnet50_{head}_8xb128-sgd-105e_inat2018.py')
        assert inat.model.head.num_classes == 8142
        assert inat.data_preprocessor.num_classes == 8142
    big = load('resnet50_ebv-d5000_8xb128-sgd-105e_100k-classes.py')
    assert big.model.head.num_classes == 100000
    assert big.model.head.ebv_dim == 5000
    assert math.isclose(big.optim_wrapper.optimizer.lr, 0.5)


def test_a1_train_pipeline_and_256_evaluation_run(tmp_path):
    """The A1 pipeline (TrivialAugment-Wide via PIL, RandomErasing) and the
    evaluation pipelines run on a real image file."""
    from mmengine.dataset import Compose
    from PIL import Image
    image = tmp_path / 'image.png'
    Image.fromarray(torch.randint(0, 256, (300, 400, 3),
                                  dtype=torch.uint8).numpy()).save(image)
    cfg = load('eval256/resnet50_ebv_8xb128-sgd-a1-105e_in1k_256px.py')
    torch.manual_seed(0)
    for pipeline, size in ((cfg.train_pipeline, 224),
                           (cfg.test_pipeline, 224),
                           (cfg.test_dataloader.dataset.pipeline, 256)):
        out = Compose([dict(step) for step in pipeline])(
            dict(img_path=str(image)))
        assert tuple(out['inputs'].shape) == (3, size, size)
