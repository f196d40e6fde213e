"""Every top-level dense config loads and builds its model as described."""
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmebv.det  # noqa: F401
import mmebv.engine.pretrained  # noqa: F401
import mmebv.seg  # noqa: F401
from mmebv.core import EBVPredictor

from dense_helpers import CONFIGS

CONFIG_FILES = sorted(CONFIGS.glob('*.py'))


def build_model(cfg: Config):
    if cfg.default_scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return MODELS.build(cfg.model)


def test_all_reference_settings_have_configs():
    names = {p.name for p in CONFIG_FILES}
    for kind in ('fc', 'ebv-heads', 'ebv'):
        for det in ('r50_{}', 'r50_{}_ms-poly-3x', 'swin_t_{}'):
            assert f'mask_rcnn_{det.format(kind)}_coco.py' in names
        for seg in ('r18_{}_80k', 'r18_{}', 'r50_{}_80k', 'r50_{}',
                    'swin_t_{}'):
            assert f'upernet_{seg.format(kind)}_ade20k.py' in names
    assert {'fpn_r50_ebv_ade20k.py', 'fpn_r50_fc_ade20k.py'} <= names


@pytest.mark.parametrize('path', CONFIG_FILES, ids=lambda p: p.name)
def test_config_builds(path):
    cfg = Config.fromfile(str(path))
    name = path.name
    model = build_model(cfg)
    predictors = {n: m for n, m in model.named_modules()
                  if isinstance(m, EBVPredictor)}
    ebv_heads = '_fc_' not in name and 'fc-heads' not in name
    if not ebv_heads:
        assert not predictors
    elif cfg.default_scope == 'mmdet':
        assert {n: p.ebv.ebvs.shape for n, p in predictors.items()} == {
            'roi_head.bbox_head.fc_cls': (81, 81),
            'roi_head.mask_head.conv_logits': (80, 80)}
    else:
        expected = {'decode_head.conv_seg': (150, 150)}
        if name.startswith('upernet'):
            expected['auxiliary_head.conv_seg'] = (150, 150)
        assert {n: p.ebv.ebvs.shape
                for n, p in predictors.items()} == expected
    for predictor in predictors.values():
        assert predictor.ebv.tau == 0.07

    init_cfg = model.backbone.init_cfg
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    if '_ebv_' in name or 'ebv-backbone' in name:
        assert init_cfg['type'] == 'Pretrained'
        assert init_cfg['prefix'] == 'backbone.'
        assert init_cfg['checkpoint'].startswith('work_dirs/ebv_pretrain/')
        assert cfg.ebv_backbone == init_cfg['checkpoint']
        assert hooks == ['PretrainedCheckHook']
        assert cfg.custom_imports['imports'] == ['mmebv']
        backbone = type(model.backbone)
        if 'swin' in name:
            assert backbone.__module__.startswith('mmpretrain.')
        else:
            # torchvision-style ResNet (no deep stem), like mmpretrain's.
            assert backbone.__name__ == 'ResNet' and hasattr(
                model.backbone, 'conv1')
    else:
        assert 'ebv_pretrain' not in str(init_cfg) and not hooks

    per_gpu = cfg.train_dataloader.batch_size
    if 'swin' in name or name.startswith('mask_rcnn'):
        assert per_gpu == 2  # x 8 GPUs
    else:
        assert per_gpu == 4  # x 8 GPUs (EBV) / x 4 GPUs (mmseg FC)
    if name.startswith('upernet_r') and '_fc_' not in name:
        assert cfg.auto_scale_lr.base_batch_size == 32  # the authors' 8 x 4
