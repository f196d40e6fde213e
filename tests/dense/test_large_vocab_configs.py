"""Large-vocabulary configs (N > d): LVIS v1 Mask R-CNN and COCO-Stuff 164k
UperNet build with the EBV sets the README states, and train and evaluate
one short round on tiny sets in the datasets' own formats."""
import pytest
from mmengine.config import Config

from mmebv.core import EBVPredictor
from mmebv.core.bounds import lower_bound, max_abs_cos
from mmebv.engine.add_classes import build_model, dense_ebvs

from dense_helpers import (CONFIGS, PYTHON, run, tiny_mask_rcnn_config,
                           tiny_seg_config)
from large_vocab_data import write_coco_stuff, write_lvis

LVIS = ['mask_rcnn_r50_fc_lvis-v1.py', 'mask_rcnn_r50_ebv-heads_lvis-v1.py',
        'mask_rcnn_r50_ebv_lvis-v1.py',
        'mask_rcnn_r50_ebv-backbone_fc-heads_lvis-v1.py']
COCO_STUFF = ['upernet_r50_fc_coco-stuff164k.py',
              'upernet_r50_ebv-heads_coco-stuff164k.py',
              'upernet_r50_ebv_coco-stuff164k.py']
#: (N, d) of each EBV predictor, and the max |cos| the README states.
EXPECTED = {
    'lvis': ({'roi_head.bbox_head.fc_cls': (1204, 256),
              'roi_head.mask_head.conv_logits': (1203, 256)}, 0.0625),
    'coco-stuff': ({'decode_head.conv_seg': (171, 128),
                    'auxiliary_head.conv_seg': (171, 128)}, 0.05),
}


def trainable(module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


@pytest.mark.parametrize('name', LVIS + COCO_STUFF)
def test_config_builds_with_many_classes_in_few_dims(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    model = build_model(cfg)
    predictors = {n: m for n, m in model.named_modules()
                  if isinstance(m, EBVPredictor)}
    shapes, worst = EXPECTED['lvis' if 'lvis' in name else 'coco-stuff']
    ebv_heads = '_fc_' not in name and 'fc-heads' not in name
    if not ebv_heads:
        assert not predictors
    else:
        sets = {n: dense_ebvs(p.ebv) for n, p in predictors.items()}
        assert {n: tuple(e.shape) for n, e in sets.items()} == shapes
        for ebvs in sets.values():
            mu = max_abs_cos(ebvs)
            assert lower_bound(*ebvs.shape) <= mu + 1e-6
            assert mu <= worst + 1e-6, mu
    ebv_backbone = '_ebv_' in name or 'ebv-backbone' in name
    init_cfg = model.backbone.init_cfg or {}
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])]
    if ebv_backbone:
        assert init_cfg['type'] == 'Pretrained'
        assert init_cfg['checkpoint'] == (
            'work_dirs/ebv_pretrain/resnet50_ebv_backbone.pth')
        assert hooks == ['PretrainedCheckHook']
    else:  # the upstream ImageNet backbone
        assert 'ebv_pretrain' not in str(init_cfg) and not hooks


def test_lvis_ebv_classifiers_are_smaller_than_fc():
    """The parameter counts of the config comment: 1024 x 1204 -> 1024 x 256
    (box) and 256 x 1203 -> 256 x 256 (mask), plus biases."""
    fc = build_model(Config.fromfile(str(CONFIGS / LVIS[0]))).roi_head
    ebv = build_model(Config.fromfile(str(CONFIGS / LVIS[1]))).roi_head
    assert trainable(fc.bbox_head.fc_cls) == 1024 * 1204 + 1204
    assert trainable(ebv.bbox_head.fc_cls) == 1024 * 256 + 256
    assert trainable(fc.mask_head.conv_logits) == 256 * 1203 + 1203
    assert trainable(ebv.mask_head.conv_logits) == 256 * 256 + 256


def test_lvis_dataset_reads_the_tiny_set(tmp_path):
    from mmdet.datasets import LVISV1Dataset
    root = write_lvis(tmp_path / 'lvis')
    dataset = LVISV1Dataset(
        data_root=f'{root}/', ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''), pipeline=[])
    assert len(dataset) == 4
    labels = {i['bbox_label'] for i in dataset[0]['instances']}
    assert labels == {0, 599, 1202}  # category ids 1, 600, 1203


def test_lvis_eval_sees_the_float_alias_numpy_removed():
    """PyPI's LVIS API calls np.float (gone since NumPy 1.24): mmebv.det
    gives lvis.eval alone the alias; NumPy itself stays without it."""
    import numpy as np
    lvis_eval = pytest.importorskip('lvis.eval')
    import mmebv.det  # noqa: F401
    assert lvis_eval.np.float is float
    assert lvis_eval.np.cumsum is np.cumsum
    assert not hasattr(np, 'float') or np.__version__ < '1.24'


@pytest.mark.slow
def test_lvis_config_trains_and_evaluates(tmp_path, ebv_backbone):
    root = write_lvis(tmp_path / 'lvis')
    config = tiny_mask_rcnn_config(
        tmp_path / 'lvis.py', root, ebv_backbone('resnet18'),
        base='mask_rcnn_r50_ebv_lvis-v1.py',
        val_ann='annotations/lvis_v1_val.json', wrapped_train_set=True)
    out = run([PYTHON, 'tools/train.py', str(config), '--work-dir',
               str(tmp_path / 'work')]).stdout
    assert 'PretrainedCheckHook: backbone holds 100.00%' in out
    assert 'loss_mask' in out and 'loss_cls' in out
    for metric in ('lvis/bbox_AP', 'lvis/segm_AP', 'lvis/segm_APr'):
        assert metric in out, out[-3000:]
    tested = run([PYTHON, 'tools/test.py', str(config),
                  str(tmp_path / 'work' / 'epoch_1.pth'), '--work-dir',
                  str(tmp_path / 'test')]).stdout
    assert 'lvis/segm_AP' in tested


@pytest.mark.slow
def test_coco_stuff_config_trains_and_evaluates(tmp_path, ebv_backbone):
    root = write_coco_stuff(tmp_path / 'coco_stuff')
    config = tiny_seg_config(
        tmp_path / 'stuff.py', root, ebv_backbone('resnet18'),
        base='upernet_r50_ebv_coco-stuff164k.py', reduce_zero_label=False,
        model='decode_head=dict(in_channels=[64, 128, 256, 512], '
        'channels=64), auxiliary_head=dict(in_channels=256, channels=32)')
    out = run([PYTHON, 'tools/train.py', str(config), '--work-dir',
               str(tmp_path / 'work')]).stdout
    assert 'PretrainedCheckHook: backbone holds 100.00%' in out
    assert 'mIoU' in out, out[-3000:]
    tested = run([PYTHON, 'tools/test.py', str(config),
                  str(tmp_path / 'work' / 'iter_4.pth'), '--work-dir',
                  str(tmp_path / 'test')]).stdout
    assert 'mIoU' in tested
