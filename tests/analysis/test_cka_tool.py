"""tools/analysis/cka.py on small real mmpretrain models."""
import json
import os
import sys
import textwrap

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools', 'analysis'))

import cka as cka_tool  # noqa: E402
from mmebv.analysis.models import build_model, load_config  # noqa: E402
from data_factory import write_image_folder  # noqa: E402

CONFIG = '''
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
data_preprocessor = dict(num_classes=4, mean=[128.0] * 3, std=[64.0] * 3)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=18, stem_channels=8,
                  base_channels=8, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='{head}', num_classes=4, in_channels=64{extra}))
test_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CustomDataset', data_root=r'{root}',
                 data_prefix='val',
                 pipeline=[dict(type='LoadImageFromFile'),
                           dict(type='PackInputs')]))
'''


def _model_files(tmp_path, head, extra, seed):
    root = tmp_path / 'images'
    if not root.exists():
        write_image_folder(str(root), num_classes=4, images_per_class=6)
    config = tmp_path / f'{head}.py'
    config.write_text(textwrap.dedent(
        CONFIG.format(head=head, extra=extra, root=root)))
    torch.manual_seed(seed)
    model = build_model(load_config(str(config)))
    checkpoint = tmp_path / f'{head}_{seed}.pth'
    torch.save({'state_dict': model.state_dict()}, str(checkpoint))
    return str(config), str(checkpoint)


def test_cka_tool_fc_vs_ebv(tmp_path, capsys):
    fc_cfg, fc_ckpt = _model_files(tmp_path, 'LinearClsHead', '', seed=0)
    ebv_cfg, ebv_ckpt = _model_files(tmp_path, 'EBVClsHead', ', ebv_dim=4',
                                     seed=1)
    out = tmp_path / 'cka'
    cka_tool.main([fc_cfg, fc_ckpt, '--compare', ebv_cfg, ebv_ckpt,
                   '--labels', 'FC', 'EBV', '--layers', 'stages',
                   '--out-dir', str(out)])
    assert 'cka.png' in capsys.readouterr().out
    with open(out / 'cka.json') as f:
        result = json.load(f)
    assert [m['layers'] for m in result['models']] == [
        [f'backbone.layer{i}' for i in range(1, 5)]] * 2
    fc = torch.tensor(result['cka']['FC'])
    cross = torch.tensor(result['cka']['FC vs EBV'])
    assert torch.allclose(fc.diagonal(), torch.ones(4, dtype=fc.dtype))
    assert (cross < 0.999).any()  # independently initialised networks
    assert (out / 'cka.png').stat().st_size > 10_000


def test_cka_tool_one_model_same_checkpoint(tmp_path):
    cfg, ckpt = _model_files(tmp_path, 'LinearClsHead', '', seed=0)
    out = tmp_path / 'cka'
    cka_tool.main([cfg, ckpt, '--compare', cfg, ckpt, '--layers',
                   r'backbone\.layer\d\.\d', '--pool',
                   'flatten', '--max-batches', '2', '--out-dir', str(out)])
    with open(out / 'cka.json') as f:
        result = json.load(f)
    label_a, label_b = [m['label'] for m in result['models']]
    assert label_a != label_b
    cross = torch.tensor(result['cka'][f'{label_a} vs {label_b}'])
    assert cross.shape == (8, 8)
    assert torch.allclose(cross, torch.tensor(result['cka'][label_a]))
    assert torch.allclose(cross.diagonal(), torch.ones(8, dtype=cross.dtype))


def test_build_model_merges_top_level_data_preprocessor(tmp_path):
    config, _ = _model_files(tmp_path, 'LinearClsHead', '', seed=0)
    model = build_model(load_config(config))
    assert not model.training
    assert torch.allclose(model.data_preprocessor.mean.flatten(),
                          torch.full((3, ), 128.0))
    assert torch.allclose(model.data_preprocessor.std.flatten(),
                          torch.full((3, ), 64.0))
