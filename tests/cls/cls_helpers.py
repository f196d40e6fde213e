"""EBV files, a tiny config and a tool runner for the mmpretrain-side
tests."""
import os
import subprocess
import sys
from pathlib import Path

import torch

from mmebv.core import save_ebvs
from tests_conftest import checkout_env

ROOT = Path(__file__).resolve().parents[2]


def random_ebvs(num_vectors: int, dim: int, seed: int = 0) -> torch.Tensor:
    """Unit rows (orthonormal when N <= d): a valid EBV file's content."""
    gen = torch.Generator().manual_seed(seed)
    rows = torch.randn(num_vectors, dim, generator=gen)
    if num_vectors <= dim:
        rows = torch.linalg.qr(rows.t())[0].t().contiguous()
    return torch.nn.functional.normalize(rows, dim=1)


def write_ebv_file(directory, num_vectors: int, dim: int,
                   seed: int = 0) -> str:
    """Write random EBVs to ``directory`` and return the file path."""
    path = os.path.join(str(directory), f'ebv_{num_vectors}x{dim}_s{seed}'
                        '.safetensors')
    if not os.path.exists(path):
        save_ebvs(path, random_ebvs(num_vectors, dim, seed))
    return path


#: A CIFAR ResNet-20 classifier on an image folder (``write_image_folder``),
#: 2 epochs with validation every epoch; ``{head}`` is the head's keyword
#: arguments, ``{model}`` more ``model`` entries (or nothing).
TINY_FOLDER_CONFIG = """
_base_ = ['mmpretrain::_base_/models/resnet18_cifar.py',
          'mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='CifarResNet', depth=20),
    head=dict(_delete_=True, in_channels=64, {head}){model})
data_preprocessor = dict(
    num_classes={num_classes}, mean=[127.5] * 3, std=[64.0] * 3, to_rgb=True)
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
pipeline = {train_pipeline}
train_dataloader = dict(
    batch_size={batch_size}, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='{data}',
                 data_prefix='train', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size={batch_size}, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='{data}',
                 data_prefix='val', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk={topk})
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9,
                                    weight_decay=2e-5))
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(type='CheckpointHook', interval=1))
"""


def tiny_folder_config(path, data, head: str, num_classes: int,
                       batch_size: int = 8, model: str = '',
                       train_pipeline: str = 'test_pipeline',
                       topk: tuple = (1, )) -> str:
    """Write :data:`TINY_FOLDER_CONFIG` for the image folder ``data`` to
    ``path``; return the path."""
    path.write_text(TINY_FOLDER_CONFIG.format(
        head=head, model=model, num_classes=num_classes,
        train_pipeline=train_pipeline, batch_size=batch_size, data=data,
        topk=topk))
    return path


def run_tool(*args) -> str:
    """Run a repository script with this Python; its stdout + stderr."""
    result = subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
        text=True, env=checkout_env(ROOT))
    assert result.returncode == 0, (result.stdout[-3000:] +
                                    result.stderr[-3000:])
    return result.stdout + result.stderr
