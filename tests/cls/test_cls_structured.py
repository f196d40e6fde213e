"""EBVClsHead with structured Kerdock EBVs: equal to dense, the 100k-class
config, and generate -> train -> resume -> test through the tools."""
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from mmebv.core import generate_ebvs, save_ebvs
from data_factory import write_image_folder

from cls_helpers import run_tool, tiny_folder_config

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / 'configs' / 'ebv_pretrain'
KERDOCK_100K = 'resnet50_ebv-kerdock-d4096_8xb128-sgd-105e_100k-classes.py'


def head(**kwargs):
    return MODELS.build(dict(type='EBVClsHead', num_classes=100,
                             in_channels=12, ebv_dim=16, **kwargs))


def test_structured_head_equals_dense_head(tmp_path):
    dense_file = str(tmp_path / 'dense.safetensors')
    save_ebvs(dense_file, generate_ebvs(100, 16, method='kerdock'))
    fast, dense = head(method='kerdock'), head(ebv_file=dense_file)
    assert fast.ebv.kerdock is not None and dense.ebv.kerdock is None
    dense.projection.load_state_dict(fast.projection.state_dict())
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(6, 12, generator=gen)
    labels = torch.randint(0, 100, (6, ), generator=gen)
    samples = [DataSample().set_gt_label(int(i)) for i in labels]
    losses = [model.loss((feats, ), samples)['loss'] for model in (fast,
                                                                   dense)]
    for loss in losses:
        loss.backward()
    assert abs(float(losses[0] - losses[1])) <= 1e-4 * float(losses[1])
    grads = [m.projection.weight.grad for m in (fast, dense)]
    assert float((grads[0] - grads[1]).abs().max()) <= 1e-4 * float(
        grads[1].abs().max())
    assert torch.equal(fast.predict((feats, ))[0].pred_label,
                       dense.predict((feats, ))[0].pred_label)


def test_100k_class_kerdock_config_builds_without_an_n_by_d_buffer():
    cfg = Config.fromfile(str(CONFIG_DIR / KERDOCK_100K))
    dense = Config.fromfile(
        str(CONFIG_DIR / 'resnet50_ebv-d5000_8xb128-sgd-105e_100k-classes.py'))
    assert cfg.model.head.num_classes == 100000
    assert (cfg.model.head.ebv_dim, cfg.model.head.method) == (4096,
                                                               'kerdock')
    assert cfg.model.head.ebv_file is None
    assert cfg.optim_wrapper == dense.optim_wrapper
    assert cfg.train_dataloader == dense.train_dataloader
    model = MODELS.build(cfg.model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    # 23.51M ResNet-50 + 2048 x 4096 + 4096 projection
    assert round(trainable / 1e6, 2) == 31.90
    buffers = sum(b.numel() * b.element_size()
                  for b in model.head.buffers())
    assert buffers < 2**20
    logits = model.head((torch.randn(2, 2048), ))
    assert logits.shape == (2, 100000)


@pytest.mark.slow
def test_generate_train_resume_test_with_40_classes_in_16_dims(tmp_path):
    ebvs = tmp_path / 'kerdock_40x16.safetensors'
    out = run_tool('tools/generate_ebvs.py', '--method', 'kerdock',
              '--num-classes', 40, '--dim', 16, '--out', ebvs)
    assert 'max |cos| = 0.25 by construction' in out
    data = tmp_path / 'data'
    write_image_folder(str(data), num_classes=40, images_per_class=2, size=16)
    config = tiny_folder_config(
        tmp_path / 'tiny_kerdock.py', data, num_classes=40, batch_size=16,
        head=f"type='EBVClsHead', num_classes=40, ebv_dim=16, "
        f"ebv_file='{ebvs}'", topk=(1, 5))
    work = tmp_path / 'work'

    run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
        'train_cfg.max_epochs=1')
    state = torch.load(work / 'epoch_1.pth', weights_only=False)['state_dict']
    assert state['head.ebv.kerdock.signs'].shape == (2, 16)
    assert not any(key.endswith('ebv.ebvs') for key in state)

    run_tool('tools/train.py', config, '--work-dir', work, '--resume')
    log = sorted(work.glob('*/*.log'))[-1].read_text()
    assert 'resumed epoch: 1' in log
    assert re.search(r'Epoch\(train\)\s*\[2\]', log)

    out = run_tool('tools/test.py', config, work / 'epoch_2.pth', '--work-dir',
              tmp_path / 'test')
    top5 = float(re.search(r'accuracy/top5: ([\d.]+)', out).group(1))
    assert 0 <= top5 <= 100
