"""Every top-level dense config loads and builds its model as described;
tests as the authors did and switches to the authors' EBV files."""
import pickle

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmebv.det  # noqa: F401
import mmebv.engine.pretrained  # noqa: F401
import mmebv.seg  # noqa: F401
from mmebv.core import EBVPredictor

from cuda_pickles import saved_on_cuda
from dense_helpers import CONFIGS, PYTHON, run

#: Large-vocabulary configs (N > d, no authors' setting): tested in
#: test_large_vocab_configs.py.
LARGE_VOCABULARY = ('_lvis-v1', '_coco-stuff164k')
CONFIG_FILES = sorted(p for p in CONFIGS.glob('*.py')
                      if not p.stem.endswith(LARGE_VOCABULARY))


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
            'roi_head.mask_head.conv_logits': (80, 81)}  # d = 81
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
        arch = {'r18': 'resnet18', 'r50': 'resnet50', 'swin': 'swin-t'}[
            name.split('_')[2 if name.startswith('mask_rcnn') else 1]]
        assert init_cfg['checkpoint'].endswith(f'/{arch}_ebv_backbone.pth')
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


def test_slide_inference_only_where_the_authors_used_it():
    """The authors tested their R18 80k EBV-heads UperNet (39.13) with
    sliding 512 windows, stride 341; everything else on whole images."""
    for path in CONFIG_FILES:
        cfg = Config.fromfile(str(path))
        test_cfg = {k: v for k, v in cfg.model.test_cfg.items()
                    if k != '_scope_'}
        if path.name == 'upernet_r18_ebv-heads_80k_ade20k.py':
            assert test_cfg == dict(mode='slide', crop_size=(512, 512),
                                    stride=(341, 341))
        elif cfg.default_scope == 'mmseg':
            assert test_cfg == dict(mode='whole'), path.name


EBV_CONFIGS = [p for p in CONFIG_FILES
               if '_fc_' not in p.name and 'fc-heads' not in p.name]


def test_every_ebv_config_generates_its_ebvs_by_default():
    assert len(EBV_CONFIGS) == 17  # 6 COCO, 11 ADE20K
    for path in EBV_CONFIGS:
        assert 'ebv_file' not in Config.fromfile(str(path)).pretty_text, \
            path.name


@pytest.mark.slow
@pytest.mark.parametrize('name,pkl_name,heads', [
    ('mask_rcnn_r50_ebv_coco.py', 'eq_81_81', {
        'roi_head.bbox_head.fc_cls': slice(0, 81),
        'roi_head.mask_head.conv_logits': slice(0, 80)}),
    ('upernet_r18_ebv-heads_80k_ade20k.py', 'eq_150_150', {
        'decode_head.conv_seg': slice(0, 150),
        'auxiliary_head.conv_seg': slice(0, 150)}),
])
def test_authors_ebv_folder_loads_the_converted_pickles(
        tmp_path, name, pkl_name, heads):
    """The documented commands: convert the authors' pickle(s) into a folder,
    point each head's ebv_file at it (--cfg-options), and the heads hold
    exactly the pickle's rows."""
    size = int(pkl_name.split('_')[-1])
    gen = torch.Generator().manual_seed(0)
    rows = torch.nn.functional.normalize(
        torch.randn(size, size, generator=gen), dim=1)
    pkl = tmp_path / f'{pkl_name}.pkl'
    with saved_on_cuda(), open(pkl, 'wb') as f:
        pickle.dump(rows, f)
    authors = tmp_path / 'authors'
    tool = 'tools/model_converters/ebv_pickle_to_safetensors.py'
    run([PYTHON, tool, str(pkl), str(authors / f'{pkl_name}.safetensors')])
    if pkl_name == 'eq_81_81':
        run([PYTHON, tool, str(pkl), str(authors / 'eq_81_80.safetensors'),
             '--rows', '80'])
    cfg = Config.fromfile(str(CONFIGS / name))
    cfg.merge_from_dict({f'model.{head.rsplit(".", 1)[0]}.ebv_file':
                         str(authors) for head in heads})
    model = build_model(cfg)
    predictors = {n: m for n, m in model.named_modules()
                  if isinstance(m, EBVPredictor)}
    assert set(predictors) == set(heads)
    for head, rows_used in heads.items():
        assert torch.equal(predictors[head].ebv.ebvs, rows[rows_used]), head
