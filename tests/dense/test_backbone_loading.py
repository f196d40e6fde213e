"""EBV classifier -> ebv_to_backbone.py -> detector / segmentor backbone,
and loud failures for bad backbone checkpoints."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmebv.det  # noqa: F401
import mmebv.seg  # noqa: F401
from mmebv.engine.pretrained import (PretrainedLoadError,
                                     check_pretrained_loaded)

from dense_helpers import CONFIGS, backbone_state

R18_DET = dict(backbone=dict(depth=18),
               neck=dict(in_channels=[64, 128, 256, 512]))


def build(config: str, checkpoint, model_overrides: dict = None):
    """Build the config's model with its backbone checkpoint replaced."""
    cfg = Config.fromfile(str(CONFIGS / config))
    cfg.merge_from_dict(dict(model=model_overrides or {}))
    cfg.model.backbone.init_cfg.checkpoint = str(checkpoint)
    if cfg.default_scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def assert_holds(backbone, checkpoint):
    expected = backbone_state(checkpoint)
    state = backbone.state_dict()
    loaded = [k for k in expected if k in state]
    # Swin's extra output norms (norm0-2) are not in a classifier.
    missing = set(state) - set(loaded)
    assert all(k.startswith(('norm0.', 'norm1.', 'norm2.')) for k in missing)
    for key in loaded:
        assert torch.equal(state[key], expected[key]), key
    report = check_pretrained_loaded(backbone, str(checkpoint), 'backbone.')
    assert report.loaded_fraction > 0.99


@pytest.mark.parametrize('config, overrides', [
    ('mask_rcnn_r50_ebv_coco.py', R18_DET),
    ('upernet_r18_ebv_ade20k.py', None),
])
def test_resnet_ebv_backbone_loads(ebv_backbone, config, overrides):
    checkpoint = ebv_backbone('resnet18')
    model = build(config, checkpoint, overrides)
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    with pytest.raises(PretrainedLoadError):
        check_pretrained_loaded(model.backbone, str(checkpoint), 'backbone.')
    model.init_weights()
    assert_holds(model.backbone, checkpoint)
    assert any(not torch.equal(before[k], v)
               for k, v in model.backbone.state_dict().items())


@pytest.mark.slow
@pytest.mark.parametrize(
    'config', ['mask_rcnn_swin_t_ebv_coco.py', 'upernet_swin_t_ebv_ade20k.py'])
def test_swin_ebv_backbone_loads(ebv_backbone, config):
    checkpoint = ebv_backbone('swin-t')
    model = build(config, checkpoint)
    model.init_weights()
    assert_holds(model.backbone, checkpoint)


def test_missing_checkpoint_fails(tmp_path):
    model = build('upernet_r18_ebv_ade20k.py', tmp_path / 'absent.pth')
    with pytest.raises(FileNotFoundError):
        model.init_weights()


def test_checkpoint_without_backbone_keys_fails(tmp_path):
    wrong = tmp_path / 'wrong.pth'
    torch.save({'state_dict': {'head.fc.weight': torch.zeros(2, 2)}},
               str(wrong))
    model = build('upernet_r18_ebv_ade20k.py', wrong)
    with pytest.raises(AssertionError, match='backbone'):
        model.init_weights()  # mmengine's own check
    with pytest.raises(PretrainedLoadError, match='no key starting'):
        check_pretrained_loaded(model.backbone, str(wrong), 'backbone.')


def test_mismatched_checkpoint_fails(ebv_backbone):
    """A ResNet-50 backbone into the ResNet-18 segmentor: upstream only
    warns; the check raises and names the mismatches."""
    checkpoint = ebv_backbone('resnet50')
    model = build('upernet_r18_ebv_ade20k.py', checkpoint)
    model.init_weights()
    with pytest.raises(PretrainedLoadError, match='another shape'):
        check_pretrained_loaded(model.backbone, str(checkpoint), 'backbone.')
