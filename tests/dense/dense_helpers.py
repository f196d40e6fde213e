"""Shared pieces of the dense (mmdet/mmseg) and tools tests."""
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List, Optional

import pytest
import torch

from tests_conftest import checkout_env

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
PYTHON = sys.executable

#: mmpretrain backbones of the tiny EBV classifiers, by name.
BACKBONES = {
    'resnet18': (dict(type='ResNet', depth=18, out_indices=(3, )), 512),
    'resnet50': (dict(type='ResNet', depth=50, out_indices=(3, )), 2048),
    'swin-t': (dict(type='SwinTransformer', arch='tiny', img_size=224), 768),
}


def write_ebv_classifier(path: Path, arch: str, seed: int = 0) -> Path:
    """An mmpretrain ImageClassifier with an EBV head (random weights),
    saved like an mmengine checkpoint."""
    import mmebv.cls  # noqa: F401
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    backbone, channels = BACKBONES[arch]
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(
            dict(type='ImageClassifier', backbone=backbone,
                 neck=dict(type='GlobalAveragePooling'),
                 head=dict(type='EBVClsHead', num_classes=10,
                           in_channels=channels, ebv_dim=16)))
    # Non-trivial BN statistics, so that "loaded" is not "default".
    for name, buf in model.named_buffers():
        if name.endswith(('running_mean', 'running_var')):
            buf.uniform_(0.5, 1.5)
    torch.save({'meta': {'epoch': 1}, 'state_dict': model.state_dict()},
               str(path))
    return path


def convert_to_backbone(classifier: Path, out: Path) -> Path:
    """Run tools/model_converters/ebv_to_backbone.py (the real CLI)."""
    run([PYTHON, 'tools/model_converters/ebv_to_backbone.py',
         str(classifier), str(out)])
    return out


def backbone_state(path: Path) -> Dict[str, torch.Tensor]:
    """The converted checkpoint's tensors, ``backbone.`` prefix removed."""
    state = torch.load(str(path), map_location='cpu',
                       weights_only=True)['state_dict']
    return {k[len('backbone.'):]: v for k, v in state.items()}


def run(cmd: List[str], env: Optional[dict] = None, timeout: int = 900,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the repository; fail with its output when ``check``."""
    full_env = checkout_env(REPO, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
                            **(env or {}))
    proc = subprocess.run(cmd, cwd=str(REPO), env=full_env, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{" ".join(cmd)} exited {proc.returncode}:\n'
            f'{proc.stdout[-6000:]}')
    return proc


def write_config(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


def tiny_mask_rcnn_config(
        path: Path, coco_root: Path, backbone: Path,
        base: str = 'mask_rcnn_r50_ebv_coco.py',
        val_ann: str = 'annotations/instances_val2017.json',
        wrapped_train_set: bool = False) -> Path:
    """Our Mask R-CNN config ``base`` on a tiny set at ``coco_root``:
    ResNet-18 backbone from ``backbone``, 96 px images, one short epoch,
    the config's own metric on ``val_ann``. ``wrapped_train_set``: the
    config's training set wraps the dataset (LVIS: ClassBalancedDataset)."""
    train_set = 'dict(data_root=data_root, pipeline=train_pipeline)'
    if wrapped_train_set:
        train_set = f'dict(dataset={train_set})'
    return write_config(path, f"""
        _base_ = '{CONFIGS / base}'
        data_root = '{coco_root}/'
        model = dict(
            backbone=dict(depth=18, init_cfg=dict(checkpoint='{backbone}')),
            neck=dict(in_channels=[64, 128, 256, 512]),
            train_cfg=dict(
                rpn_proposal=dict(nms_pre=200, max_per_img=100),
                rcnn=dict(sampler=dict(num=64))),
            test_cfg=dict(
                rpn=dict(nms_pre=200, max_per_img=100),
                rcnn=dict(score_thr=0.0, max_per_img=20)))
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='Resize', scale=(96, 96), keep_ratio=True),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackDetInputs'),
        ]
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(96, 96), keep_ratio=True),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='PackDetInputs',
                 meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                            'scale_factor')),
        ]
        train_dataloader = dict(
            batch_size=2, num_workers=0, persistent_workers=False,
            dataset={train_set})
        val_dataloader = dict(
            batch_size=2, num_workers=0, persistent_workers=False,
            dataset=dict(data_root=data_root, pipeline=test_pipeline))
        test_dataloader = val_dataloader
        val_evaluator = dict(ann_file=data_root + '{val_ann}')
        test_evaluator = val_evaluator
        train_cfg = dict(max_epochs=1, val_interval=1)
        param_scheduler = [
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                 end=2)
        ]
        default_hooks = dict(logger=dict(interval=1))
        """)


def tiny_seg_config(path: Path, ade_root: Path, backbone: Path,
                    base: str = 'upernet_r18_ebv_ade20k.py',
                    model: str = '', depth: Optional[int] = 18,
                    reduce_zero_label: bool = True) -> Path:
    """Our segmentation config ``base`` (ADE20K by default) on a tiny set
    at ``ade_root``: backbone weights from ``backbone`` (ResNet ``depth``;
    None: keep the config's backbone), 64 px crops, 4 iterations with
    validation (mIoU) at the end; ``model`` adds ``model`` entries;
    ``reduce_zero_label``: label 0 is 'other' (ADE20K), not a class."""
    depth_arg = '' if depth is None else f'depth={depth}, '
    return write_config(path, f"""
        _base_ = '{CONFIGS / base}'
        data_root = '{ade_root}'
        crop_size = (64, 64)
        model = dict(
            data_preprocessor=dict(size=crop_size),
            backbone=dict({depth_arg}init_cfg=dict(checkpoint='{backbone}')),
            {model})
        train_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations',
                 reduce_zero_label={reduce_zero_label}),
            dict(type='RandomResize', scale=(128, 64), ratio_range=(0.75, 1.5),
                 keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
            dict(type='RandomFlip', prob=0.5),
            dict(type='PackSegInputs'),
        ]
        test_pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(128, 64), keep_ratio=True),
            dict(type='LoadAnnotations',
                 reduce_zero_label={reduce_zero_label}),
            dict(type='PackSegInputs'),
        ]
        train_dataloader = dict(
            batch_size=2, num_workers=0, persistent_workers=False,
            dataset=dict(data_root=data_root, pipeline=train_pipeline))
        val_dataloader = dict(
            batch_size=1, num_workers=0, persistent_workers=False,
            dataset=dict(data_root=data_root, pipeline=test_pipeline))
        test_dataloader = val_dataloader
        train_cfg = dict(max_iters=4, val_interval=4)
        param_scheduler = [
            dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=4,
                 by_epoch=False)
        ]
        default_hooks = dict(
            logger=dict(interval=1), checkpoint=dict(interval=4),
            visualization=dict(draw=False))
        """)


# Fixtures (imported by tests/dense/conftest.py and tests/tools/conftest.py).


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory):
    """The synthetic COCO-format shapes set (8 train / 4 val images)."""
    from data_factory import make_coco_shapes
    root = tmp_path_factory.mktemp('data') / 'coco'
    make_coco_shapes(str(root))
    return root


@pytest.fixture(scope='session')
def ade_root(tmp_path_factory):
    """The synthetic ADE20K-format shapes set (8 train / 4 val images)."""
    from data_factory import make_ade20k_shapes
    root = tmp_path_factory.mktemp('data') / 'ade'
    make_ade20k_shapes(str(root))
    return root


@pytest.fixture(scope='session')
def ebv_backbone(tmp_path_factory):
    """``ebv_backbone(arch)``: a tiny EBV classifier of that mmpretrain
    backbone, converted by tools/model_converters/ebv_to_backbone.py."""
    folder = tmp_path_factory.mktemp('ebv_backbones')
    made = {}

    def get(arch: str):
        if arch not in made:
            classifier = write_ebv_classifier(folder / f'{arch}_cls.pth', arch)
            made[arch] = convert_to_backbone(classifier,
                                             folder / f'{arch}_backbone.pth')
        return made[arch]

    return get
