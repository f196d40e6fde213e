"""Checkpoint converters: classifier -> backbone, authors' release -> ours."""
import argparse
import contextlib
import io
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


def _run_script(monkeypatch, script, *args):
    """Run a converter's command line in this process: (exit code,
    stderr). Only stderr is captured: mmengine's logger, when created
    here, keeps the session's stdout, not a capture closed after the
    test."""
    path = os.path.join(TOOLS, script)
    monkeypatch.setattr(sys, 'argv', [path, *map(str, args)])
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), \
            pytest.raises(SystemExit) as exit_info:
        runpy.run_path(path, run_name='__main__')
    return exit_info.value.code, stderr.getvalue()


@pytest.fixture
def run_tool(monkeypatch, capsys):
    """Run a converter's command line in this process; return its output."""

    def run(script, *args):
        path = os.path.join(TOOLS, script)
        monkeypatch.setattr(sys, 'argv', [path, *map(str, args)])
        with pytest.raises(SystemExit) as exit_info:
            runpy.run_path(path, run_name='__main__')
        assert exit_info.value.code == 0, capsys.readouterr().err
        return capsys.readouterr().out

    return run


@pytest.fixture
def refused(monkeypatch):
    """Run a converter's command line that must fail: exit code 2 and one
    ``error:`` line, which is returned."""

    def run(script, *args):
        code, err = _run_script(monkeypatch, script, *args)
        lines = [line for line in err.splitlines()
                 if line.strip() and 'Warning' not in line
                 and not line.startswith('  ')]  # torch's pickle warnings
        assert code == 2, err
        assert len(lines) == 1 and f'{script}: error:' in lines[0], err
        assert 'Traceback' not in err
        return lines[0]

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


# Bad inputs: one line, exit code 2, nothing written.


def bad_file(tmp_path, kind):
    """A file that is no checkpoint: ``empty``, ``missing``, ``code`` (a
    pickle whose loading would run code), ``garbage`` bytes, a ``damaged``
    pickle (a tensor rebuilt without arguments), ``no-tensors``."""
    path = tmp_path / f'{kind}.pth'
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'code':
        with open(path, 'wb') as f:
            pickle.dump(_Exploit(str(tmp_path / 'pwned')), f)
    elif kind == 'garbage':
        path.write_bytes(b'not a checkpoint\n' * 8)
    elif kind == 'damaged':
        path.write_bytes(b'ctorch._utils\n_rebuild_tensor_v2\n(tR.')
    elif kind == 'no-tensors':
        torch.save({'state_dict': {'epoch': 3}}, path)
    return path


BAD_FILES = ['empty', 'missing', 'code', 'garbage', 'damaged', 'no-tensors']


@pytest.mark.parametrize('kind', BAD_FILES)
def test_backbone_converter_refuses_bad_input(tmp_path, kind, refused):
    """These exited 1 with a traceback (EOFError, UnpicklingError,
    ValueError...)."""
    src, dst = bad_file(tmp_path, kind), tmp_path / 'out.pth'
    line = refused('ebv_to_backbone.py', src, dst)
    assert str(src) in line
    assert not dst.exists() and not (tmp_path / 'pwned').exists()


@pytest.mark.parametrize('kind', BAD_FILES)
@pytest.mark.parametrize('bad', ['checkpoint', 'ebv_pickle'])
def test_official_converter_refuses_bad_input(tmp_path, kind, bad, refused):
    _, ckpt = released_model(tmp_path, 'bare')
    pkl = tmp_path / 'eq.pkl'
    pickle_like_cuda(random_ebvs(N, D), pkl)
    inputs = dict(checkpoint=ckpt, ebv_pickle=pkl)
    inputs[bad] = bad_file(tmp_path, kind)
    out, out_ebv = tmp_path / 'o.pth', tmp_path / 'o.safetensors'
    line = refused('ebv_official_to_mmpretrain.py', inputs['checkpoint'],
                   inputs['ebv_pickle'], out, out_ebv)
    assert str(inputs[bad]) in line
    assert not out.exists() and not out_ebv.exists()
    assert not (tmp_path / 'pwned').exists()


def test_official_converter_refuses_another_model(tmp_path, ebv_dir,
                                                  refused):
    """An mmpretrain classifier is not the authors' ResNet."""
    model = MODELS.build(classifier_cfg(write_ebv_file(ebv_dir, N, D)))
    src = tmp_path / 'mmpretrain.pth'
    torch.save({'state_dict': model.state_dict()}, src)
    pkl = tmp_path / 'eq.pkl'
    pickle_like_cuda(random_ebvs(N, D), pkl)
    line = refused('ebv_official_to_mmpretrain.py', src, pkl,
                   tmp_path / 'o.pth', tmp_path / 'o.safetensors')
    assert "Key 'conv1.weight' missing" in line


def test_outputs_never_replace_inputs(tmp_path, ebv_dir, refused):
    model = MODELS.build(classifier_cfg(write_ebv_file(ebv_dir, N, D)))
    src = tmp_path / 'classifier.pth'
    torch.save({'state_dict': model.state_dict()}, src)
    before = src.read_bytes()
    line = refused('ebv_to_backbone.py', src, src)
    assert 'same file' in line and src.read_bytes() == before

    _, ckpt = released_model(tmp_path, 'bare')
    pkl = tmp_path / 'eq.pkl'
    pickle_like_cuda(random_ebvs(N, D), pkl)
    line = refused('ebv_official_to_mmpretrain.py', ckpt, pkl, ckpt,
                   tmp_path / 'o.safetensors')
    assert 'same file' in line
    line = refused('ebv_official_to_mmpretrain.py', ckpt, pkl,
                   tmp_path / 'o.pth', pkl)
    assert 'same file' in line


def test_unwritable_outputs_name_the_path_given(tmp_path, ebv_dir, refused):
    """No file can be created in /proc/self, even by root; the message used
    to name a hidden temporary file, in a traceback."""
    model = MODELS.build(classifier_cfg(write_ebv_file(ebv_dir, N, D)))
    src = tmp_path / 'classifier.pth'
    torch.save({'state_dict': model.state_dict()}, src)
    dst = '/proc/self/backbone.pth'
    line = refused('ebv_to_backbone.py', src, dst)
    assert dst in line and '.tmp-' not in line

    _, ckpt = released_model(tmp_path, 'bare')
    pkl = tmp_path / 'eq.pkl'
    pickle_like_cuda(random_ebvs(N, D), pkl)
    out_ebv = tmp_path / 'o.safetensors'
    line = refused('ebv_official_to_mmpretrain.py', ckpt, pkl,
                   '/proc/self/o.pth', out_ebv)
    assert '/proc/self/o.pth' in line
    assert not out_ebv.exists()  # no EBV file without its checkpoint
