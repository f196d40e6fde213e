"""Upstream models build from inherited upstream configs and run on CPU."""
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData


def test_mask_rcnn_from_inherited_mmdet_config(write_config):
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    from mmdet.structures.mask import BitmapMasks
    cfg = write_config("""
        _base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
        model = dict(backbone=dict(init_cfg=None))
        """)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    sample = DetDataSample(metainfo=dict(
        img_shape=(96, 128), ori_shape=(96, 128), pad_shape=(96, 128),
        scale_factor=(1.0, 1.0), batch_input_shape=(96, 128)))
    mask = torch.zeros(1, 96, 128, dtype=torch.uint8)
    mask[0, 20:60, 30:90] = 1
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[30., 20., 90., 60.]]),
        labels=torch.tensor([3]),
        masks=BitmapMasks(mask.numpy(), 96, 128))
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 255, (3, 96, 128), dtype=torch.uint8)],
             data_samples=[sample]), training=True)
    losses = model(**data, mode='loss')
    assert {'loss_cls', 'loss_bbox', 'loss_mask', 'loss_rpn_cls'} <= set(losses)
    model.eval()
    with torch.no_grad():
        (result, ) = model(**data, mode='predict')
    assert 'masks' in result.pred_instances


def test_upernet_from_inherited_mmseg_config(write_config):
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    cfg = write_config("""
        _base_ = 'mmseg::upernet/upernet_r50_4xb4-80k_ade20k-512x512.py'
        norm_cfg = dict(type='BN', requires_grad=True)
        model = dict(
            pretrained=None,
            data_preprocessor=dict(size=(64, 64)),
            backbone=dict(norm_cfg=norm_cfg),
            decode_head=dict(norm_cfg=norm_cfg),
            auxiliary_head=dict(norm_cfg=norm_cfg))
        """)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    sample = SegDataSample(metainfo=dict(img_shape=(64, 64),
                                         ori_shape=(64, 64)))
    sample.gt_sem_seg = PixelData(
        data=torch.randint(0, 150, (1, 64, 64), dtype=torch.long))
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] *
             2, data_samples=[sample, sample.clone()]), training=True)
    losses = model(**data, mode='loss')
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    model.eval()
    with torch.no_grad():
        results = model(**data, mode='predict')
    assert results[0].pred_sem_seg.data.shape == (1, 64, 64)


def test_resnet50_and_swin_t_classifiers_from_inherited_configs(write_config):
    from mmpretrain.registry import MODELS
    init_default_scope('mmpretrain')
    for name, base, size in [
        ('resnet', 'resnet/resnet50_8xb32_in1k.py', 64),
        ('swin', 'swin_transformer/swin-tiny_16xb64_in1k.py', 224),
    ]:
        cfg = write_config(f"_base_ = 'mmpretrain::{base}'\n", f'{name}.py')
        model = MODELS.build(cfg.model).eval()
        with torch.no_grad():
            scores = model(torch.rand(1, 3, size, size), mode='tensor')
        assert scores.shape == (1, 1000), name
