"""mmebv.engine.pretrained: what counts as 'loaded' and what raises."""
import pytest
import torch
from mmengine.model import BaseModule
from torch import nn

from mmebv.engine.pretrained import (PretrainedCheckHook, PretrainedLoadError,
                                     check_pretrained_loaded,
                                     pretrained_modules)


class Tiny(BaseModule):

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 2)


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    source = Tiny()
    path = tmp_path / 'backbone.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in source.state_dict().items()}},
               str(path))
    return path


def test_loaded_module_passes(checkpoint):
    module = Tiny(init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint),
                                prefix='backbone.'))
    with pytest.raises(PretrainedLoadError):
        check_pretrained_loaded(module, str(checkpoint), 'backbone.')
    module.init_weights()
    report = check_pretrained_loaded(module, str(checkpoint), 'backbone.')
    assert report.loaded_fraction == 1.0 and not report.missing


def test_overwritten_values_are_caught(checkpoint):
    """Like an init_weights that re-initialises after loading."""
    module = Tiny(init_cfg=dict(type='Pretrained', checkpoint=str(checkpoint),
                                prefix='backbone.'))
    module.init_weights()
    with torch.no_grad():
        module.conv.weight.zero_()
    with pytest.raises(PretrainedLoadError, match=r'1 with other values'):
        check_pretrained_loaded(module, str(checkpoint), 'backbone.')
    report = check_pretrained_loaded(module, str(checkpoint), 'backbone.',
                                     min_loaded=0.1)
    assert report.value_mismatch == ['conv.weight']


def test_pretrained_modules_are_found(checkpoint):
    model = nn.Module()
    model.backbone = Tiny(init_cfg=[
        dict(type='Kaiming', layer='Conv2d'),
        dict(type='Pretrained', checkpoint=str(checkpoint)),
    ])
    model.head = Tiny(init_cfg=dict(type='Normal', layer='Linear'))
    found = pretrained_modules(model)
    assert [(name, cfg['checkpoint']) for name, _, cfg in found] == [
        ('backbone', str(checkpoint))]


def test_hook_arguments_are_checked():
    with pytest.raises(ValueError, match='min_loaded'):
        PretrainedCheckHook(min_loaded=0)
