"""The demo's check that a transferred backbone really holds its weights
(:func:`mmebv.engine.pretrained.check_pretrained_loaded`, all of it)."""
import os
import sys

import pytest
import torch
from torch import nn

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'tools'))

from digits_lab.experiments import check_backbone_loaded  # noqa: E402
from mmebv.engine.pretrained import PretrainedLoadError  # noqa: E402
from run_demo import parse_args  # noqa: E402

RESNET = dict(depth=18, stem_channels=16, base_channels=16,
              out_indices=(0, 1, 2, 3))


class _Detector(nn.Module):
    """Holds an mmdet ResNet as ``backbone``, as every mmdet detector."""

    def __init__(self, init_cfg=None):
        super().__init__()
        from mmdet.models.backbones import ResNet
        self.backbone = ResNet(**RESNET, init_cfg=init_cfg)


@pytest.fixture
def pretrained(tmp_path):
    from mmpretrain.models.backbones import ResNet
    torch.manual_seed(0)
    backbone = ResNet(**RESNET)
    for module in backbone.modules():  # make BN statistics non-trivial too
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_()
    path = str(tmp_path / 'backbone.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               backbone.state_dict().items()}}, path)
    return path


def test_mmpretrain_backbone_loads_into_mmdet(pretrained):
    detector = _Detector(dict(type='Pretrained', checkpoint=pretrained,
                              prefix='backbone.'))
    detector.backbone.init_weights()
    result = check_backbone_loaded(detector, pretrained)
    assert result['matched'] == result['total'] == len(
        detector.backbone.state_dict())


def test_unloaded_backbone_is_caught(pretrained):
    detector = _Detector()
    detector.backbone.init_weights()
    with pytest.raises(PretrainedLoadError, match='does not hold the weights'):
        check_backbone_loaded(detector, pretrained)


def test_extra_checkpoint_tensors_are_caught(pretrained, tmp_path):
    """A checkpoint of a larger backbone: every model tensor loads, but the
    architecture differs from the classifier's."""
    saved = torch.load(pretrained, weights_only=True)
    saved['state_dict']['backbone.extra.weight'] = torch.ones(3)
    bigger = str(tmp_path / 'bigger.pth')
    torch.save(saved, bigger)
    detector = _Detector(dict(type='Pretrained', checkpoint=bigger,
                              prefix='backbone.'))
    detector.backbone.init_weights()
    with pytest.raises(PretrainedLoadError, match='1 checkpoint tensors'):
        check_backbone_loaded(detector, bigger)


def test_parse_args_presets_and_errors():
    default, full = parse_args([]), parse_args(['--full'])
    assert default.epochs < full.epochs
    assert default.det_iters < full.det_iters
    assert parse_args(['--full', '--epochs', '3']).epochs == 3
    with pytest.raises(SystemExit):
        parse_args(['--epochs', '0'])
    with pytest.raises(SystemExit):
        parse_args(['--imbalance-ratio', '0.5'])
