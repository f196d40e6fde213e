"""tools/train.py -> --resume -> tools/test.py -> backbone converter, on a
tiny synthetic image folder with the EBV head (A2-style: label smoothing,
Mixup/CutMix soft labels)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmpretrain.registry import MODELS

from mmebv.synthetic.classification import write_image_folder

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
_base_ = ['mmpretrain::_base_/models/resnet18_cifar.py',
          'mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='CifarResNet', depth=20),
    head=dict(
        _delete_=True,
        type='EBVClsHead',
        num_classes=4,
        in_channels=64,
        ebv_dim=4,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                  mode='original')),
    train_cfg=dict(augments=[dict(type='Mixup', alpha=0.2),
                             dict(type='CutMix', alpha=1.0)]))
data_preprocessor = dict(
    num_classes=4, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True)
pipeline = [dict(type='LoadImageFromFile'),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='PackInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='{data}',
                 data_prefix='train', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='{data}',
                 data_prefix='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                                    weight_decay=2e-5))
param_scheduler = dict(type='CosineAnnealingLR', T_max=2, by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=1))
"""


def run(*args):
    result = subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
        text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def latest_log(work_dir: Path) -> str:
    logs = sorted(work_dir.glob('*/*.log'))
    return logs[-1].read_text()


@pytest.mark.slow
def test_train_resume_test_and_convert(tmp_path):
    if not (ROOT / 'tools' / 'train.py').exists():
        pytest.fail('tools/train.py is missing')
    data = tmp_path / 'data'
    write_image_folder(str(data), num_classes=4, images_per_class=8, size=32)
    config = tmp_path / 'tiny_ebv.py'
    config.write_text(CONFIG.replace('{data}', str(data)))
    work = tmp_path / 'work'

    run('tools/train.py', config, '--work-dir', work, '--cfg-options',
        'train_cfg.max_epochs=1')
    assert (work / 'epoch_1.pth').exists()
    assert not (work / 'epoch_2.pth').exists()
    first_log = latest_log(work)
    assert 'accuracy/top1' in first_log

    run('tools/train.py', config, '--work-dir', work, '--resume')
    resumed_log = latest_log(work)
    assert resumed_log != first_log
    assert 'resumed epoch: 1' in resumed_log
    assert re.search(r'Epoch\(train\)\s*\[2\]', resumed_log)
    assert not re.search(r'Epoch\(train\)\s*\[1\]', resumed_log)
    assert (work / 'epoch_2.pth').exists()

    out = run('tools/test.py', config, work / 'epoch_2.pth', '--work-dir',
              tmp_path / 'test')
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', out).group(1))
    assert 0 <= top1 <= 100

    backbone = tmp_path / 'backbone.pth'
    out = run('tools/model_converters/ebv_to_backbone.py',
              work / 'epoch_2.pth', backbone)
    assert 'head.ebv.ebvs' in out
    saved = torch.load(backbone, weights_only=True)['state_dict']
    assert saved and all(k.startswith('backbone.') for k in saved)
    net = MODELS.build(dict(type='CifarResNet', depth=20, init_cfg=dict(
        type='Pretrained', checkpoint=str(backbone), prefix='backbone.')))
    net.init_weights()
    for key, value in net.state_dict().items():
        assert torch.equal(value, saved['backbone.' + key]), key
