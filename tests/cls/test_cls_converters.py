"""Checkpoint converters: classifier -> backbone, authors' release -> ours."""
import argparse
import os
import pickle
import runpy
import sys
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.logging import MessageHub
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS

from mmebv.cls.checkpoint_io import restricted_torch_load
from mmebv.cls.converters import classifier_to_backbone, official_to_mmpretrain
from mmebv.core import load_ebvs
from cls_helpers import random_ebvs, write_ebv_file
from cuda_pickles import pickle_like_cuda

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
TOOLS = os.path.join(ROOT, 'tools', 'model_converters')
N, D, TAU = 10, 16, 0.07


def classifier_cfg(ebv_file, depth=18, in_channels=512):
    return dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=depth),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='EBVClsHead', num_classes=N, in_channels=in_channels,
                  ebv_dim=D, tau=TAU, ebv_file=ebv_file))


@pytest.fixture
def run_tool(monkeypatch, capsys):
    """Run a converter's command line in this process; return its output."""

    def run(script, *args):
        path = os.path.join(TOOLS, script)
        monkeypatch.setattr(sys, 'argv', [path, *map(str, args)])
        runpy.run_path(path, run_name='__main__')
        return capsys.readouterr().out

    return run


def test_classifier_to_backbone_cli(tmp_path, ebv_dir, run_tool):
    model = MODELS.build(classifier_cfg(write_ebv_file(ebv_dir, N, D)))
    model.init_weights()
    hub = MessageHub.get_instance('mmebv-converter-test')
    hub.update_scalar('train/loss', 1.5)
    src, dst = tmp_path / 'epoch_1.pth', tmp_path / 'backbone.pth'
    # The layout mmengine's Runner saves, non-tensor objects included.
    torch.save({'meta': {'epoch': 1, 'seed': 42},
                'state_dict': model.state_dict(),
                'message_hub': hub.state_dict(),
                'optimizer': {'state': {}, 'param_groups': []}}, src)
    out = run_tool('ebv_to_backbone.py', src, dst)
    assert 'dropped' in out and 'head.projection.weight' in out

    saved = torch.load(dst, weights_only=True)
    assert set(saved) == {'state_dict'}
    expected = {k: v for k, v in model.state_dict().items()
                if k.startswith('backbone.')}
    assert set(saved['state_dict']) == set(expected)
    for key, value in expected.items():
        assert torch.equal(saved['state_dict'][key], value)

    fresh = MODELS.build(dict(type='ResNet', depth=18, init_cfg=dict(
        type='Pretrained', checkpoint=str(dst), prefix='backbone.')))
    fresh.init_weights()
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, expected['backbone.' + key]), key
    assert not [p for p in tmp_path.iterdir() if p.suffix == '.tmp']


def test_classifier_to_backbone_rejects_other_checkpoints(tmp_path):
    src = tmp_path / 'other.pth'
    torch.save({'state_dict': {'fc.weight': torch.zeros(2, 2)}}, src)
    with pytest.raises(ValueError, match="no 'backbone.' keys"):
        classifier_to_backbone(str(src), str(tmp_path / 'out.pth'))
    assert not (tmp_path / 'out.pth').exists()


def released_model(tmp_path, layout):
    """A torchvision ResNet-50 projecting to D (timm's ResNet-50 has the same
    keys), saved in one of the layouts a release may have.

    ``authors``: what their training script saves,
    ``nn.DataParallel(Net()).state_dict()`` with the ResNet at
    ``Net.backbone`` (``module.backbone.conv1.weight`` ...); ``wrapped``: a
    DataParallel state dict inside a training checkpoint; ``bare``: the
    ResNet's own keys.
    """
    torch.manual_seed(0)
    net = torchvision.models.resnet50(num_classes=D).eval()
    with torch.no_grad():  # non-trivial BN statistics
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    state = net.state_dict()
    if layout == 'authors':
        state = OrderedDict(
            ('module.backbone.' + k, v) for k, v in state.items())
    elif layout == 'wrapped':
        state = {'model': {'module.' + k: v for k, v in state.items()},
                 'args': argparse.Namespace(lr=0.5), 'epoch': 604}
    path = tmp_path / 'EBV_ResNet.pth'
    torch.save(state, path)
    return net, path


@pytest.mark.parametrize('layout,transpose', [
    ('authors', False), ('wrapped', False), ('bare', True)])
def test_official_release_converts_to_an_equivalent_model(
        tmp_path, layout, transpose, run_tool):
    net, ckpt = released_model(tmp_path, layout)
    ebvs = random_ebvs(N, D, seed=4)
    pkl = tmp_path / 'eq_10_16.pkl'
    pickle_like_cuda(ebvs.t().contiguous() if transpose else ebvs, pkl)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='CUDA'), open(pkl, 'rb') as f:
            pickle.load(f)  # the reason for the restricted CPU loader

    out, out_ebv = tmp_path / 'converted.pth', tmp_path / 'ebvs.safetensors'
    printed = run_tool('ebv_official_to_mmpretrain.py', ckpt, pkl, out,
                       out_ebv)
    assert f'{N} EBVs of d = {D}' in printed
    loaded, _ = load_ebvs(str(out_ebv), num_vectors=N, dim=D)
    torch.testing.assert_close(loaded, ebvs)

    model = MODELS.build(classifier_cfg(str(out_ebv), 50, 2048)).eval()
    load_checkpoint(model, str(out), map_location='cpu', strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = F.normalize(net(x), dim=1) @ ebvs.t() / TAU
        got = model(x, mode='tensor')
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_official_ebvs_of_wrong_dimension_fail(tmp_path):
    _, ckpt = released_model(tmp_path, 'bare')
    pkl = tmp_path / 'eq.pkl'
    pickle_like_cuda(random_ebvs(N, D + 1), pkl)
    with pytest.raises(ValueError, match='do not belong together'):
        official_to_mmpretrain(str(ckpt), str(pkl), str(tmp_path / 'o.pth'),
                               str(tmp_path / 'o.safetensors'))
    assert not (tmp_path / 'o.pth').exists()


class _Exploit:
    """A pickle payload that would create a file when unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, 'w'))


@pytest.mark.parametrize('as_torch', [False, True])
def test_restricted_loader_runs_no_pickled_code(tmp_path, as_torch):
    target = tmp_path / 'pwned'
    path = tmp_path / 'evil.pkl'
    payload = {'w': torch.ones(2), 'x': _Exploit(str(target))}
    if as_torch:
        torch.save(payload, path)
    else:
        with open(path, 'wb') as f:
            pickle.dump(payload, f)
    loaded = restricted_torch_load(str(path))
    assert torch.equal(loaded['w'], torch.ones(2))
    assert 'open' in repr(loaded['x'])
    assert not target.exists()
