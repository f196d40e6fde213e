"""EBV box, mask and decode heads: forward, losses, predictions, errors."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS as DET_MODELS
from mmengine.registry import DefaultScope
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData
from mmseg.registry import MODELS as SEG_MODELS
from mmseg.structures import SegDataSample

import mmebv.det  # noqa: F401
import mmebv.seg  # noqa: F401
from mmebv.core import EBVFileError
from mmebv.core import EBVPredictor

TAU = 0.07


def box_head(**kwargs):
    cfg = dict(type='EBVShared2FCBBoxHead', in_channels=8, fc_out_channels=32,
               roi_feat_size=7, num_classes=3)
    with DefaultScope.overwrite_default_scope('mmdet'):
        head = DET_MODELS.build({**cfg, **kwargs})
    head.init_weights()
    return head


def mask_head(**kwargs):
    cfg = dict(type='EBVFCNMaskHead', num_convs=1, in_channels=8,
               conv_out_channels=8, num_classes=3)
    with DefaultScope.overwrite_default_scope('mmdet'):
        head = DET_MODELS.build({**cfg, **kwargs})
    head.init_weights()
    return head


def test_predictor_is_cosine_over_tau():
    torch.manual_seed(0)
    for spatial, x in ((False, torch.randn(5, 12)),
                       (True, torch.randn(2, 12, 4, 3))):
        pred = EBVPredictor(12, 6, spatial=spatial, ebv_dim=8, tau=TAU)
        embedding = F.normalize(pred.projection(x), dim=1)
        expected = torch.einsum('bd...,nd->bn...', embedding,
                                pred.ebv.ebvs) / TAU
        torch.testing.assert_close(pred(x), expected)
        assert pred.ebv.ebvs.shape == (6, 8)
        assert not any(p is pred.ebv.ebvs for p in pred.parameters())


def test_box_head_forward_loss_predict():
    torch.manual_seed(0)
    head = box_head()
    assert isinstance(head.fc_cls, EBVPredictor)
    # 3 classes + background, d defaults to the number of EBVs.
    assert head.fc_cls.ebv.ebvs.shape == (4, 4)
    cls_score, bbox_pred = head(torch.randn(6, 8, 7, 7))
    assert cls_score.shape == (6, 4) and bbox_pred.shape == (6, 12)
    assert cls_score.abs().max() <= 1 / TAU + 1e-4
    rois = torch.tensor([[0, 2., 2., 20., 20.]]).repeat(6, 1)
    labels = torch.tensor([0, 1, 2, 3, 3, 3])
    losses = head.loss(cls_score, bbox_pred, rois, labels, torch.ones(6),
                       torch.zeros(6, 4), torch.ones(6, 4))
    assert torch.isfinite(losses['loss_cls']) and losses['loss_cls'] > 0
    (losses['loss_cls'] + losses['loss_bbox']).backward()
    assert head.fc_cls.projection.weight.grad.abs().sum() > 0
    assert head.shared_fcs[0].weight.grad.abs().sum() > 0
    results = head.predict_by_feat(
        rois=(rois, ), cls_scores=(cls_score.detach(), ),
        bbox_preds=(bbox_pred.detach(), ),
        batch_img_metas=[dict(img_shape=(32, 32), scale_factor=(1., 1.))],
        rcnn_test_cfg=ConfigDict(score_thr=0.0, max_per_img=5,
                                 nms=dict(type='nms', iou_threshold=0.5)))
    assert len(results[0]) > 0 and results[0].labels.max() < 3


def test_mask_head_forward_loss_predict():
    torch.manual_seed(0)
    head = mask_head()
    assert isinstance(head.conv_logits, EBVPredictor)
    assert head.conv_logits.ebv.ebvs.shape == (3, 3)
    mask_preds = head(torch.randn(2, 8, 14, 14))
    assert mask_preds.shape == (2, 3, 28, 28)
    assert mask_preds.abs().max() <= 1 / TAU + 1e-4
    targets = (torch.rand(2, 28, 28) > 0.5).float()
    loss = head.loss_mask(mask_preds, targets, torch.tensor([0, 2]))
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert head.conv_logits.projection.weight.grad.abs().sum() > 0
    instances = InstanceData(
        bboxes=torch.tensor([[2., 2., 20., 20.], [4., 4., 30., 30.]]),
        labels=torch.tensor([0, 2]), scores=torch.tensor([0.9, 0.8]))
    results = head.predict_by_feat(
        (mask_preds.detach(), ), [instances],
        [dict(ori_shape=(32, 32), img_shape=(32, 32), scale_factor=(1., 1.))],
        ConfigDict(mask_thr_binary=0.5))
    assert results[0].masks.shape == (2, 32, 32)


def test_class_agnostic_mask_head_is_rejected():
    with pytest.raises(ValueError, match='Class-agnostic'):
        mask_head(class_agnostic=True)


def test_box_head_without_classifier_is_rejected():
    with pytest.raises(TypeError, match='fc_cls'):
        box_head(with_cls=False)


SEG_HEADS = {
    'EBVUPerHead': (dict(in_channels=[8, 16, 32, 64], in_index=[0, 1, 2, 3],
                         pool_scales=(1, 2)), 4),
    'EBVFCNHead': (dict(in_channels=32, in_index=2, num_convs=1,
                        concat_input=False), 16),
    'EBVFPNHead': (dict(in_channels=[8, 8, 8, 8], in_index=[0, 1, 2, 3],
                        feature_strides=[4, 8, 16, 32]), 4),
}


def seg_head(name, **kwargs):
    extra, _ = SEG_HEADS[name]
    cfg = dict(type=name, channels=16, num_classes=5, dropout_ratio=0.1,
               norm_cfg=dict(type='BN'), align_corners=False, **extra)
    with DefaultScope.overwrite_default_scope('mmseg'):
        head = SEG_MODELS.build({**cfg, **kwargs})
    head.init_weights()
    return head


def seg_inputs(name):
    extra, _ = SEG_HEADS[name]
    channels = extra['in_channels']
    if name == 'EBVFPNHead':
        return [torch.randn(2, c, 32 // 2**i, 32 // 2**i)
                for i, c in enumerate(channels)]
    return [torch.randn(2, c, 32 // 2**i, 32 // 2**i)
            for i, c in enumerate([8, 16, 32, 64])]


def seg_samples(labels):
    samples = []
    for label in labels:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label[None])
        samples.append(sample)
    return samples


@pytest.mark.parametrize('name', sorted(SEG_HEADS))
def test_seg_head_forward_and_loss(name):
    torch.manual_seed(0)
    head = seg_head(name)
    assert isinstance(head.conv_seg, EBVPredictor)
    assert head.conv_seg.ebv.ebvs.shape == (5, 5)
    logits = head(seg_inputs(name))
    assert logits.shape[:2] == (2, 5)
    assert logits.abs().max() <= 1 / TAU + 1e-4
    labels = torch.randint(0, 5, (2, 32, 32))
    labels[:, :4] = 255
    losses = head.loss_by_feat(logits, seg_samples(labels))
    assert torch.isfinite(losses['loss_ce']) and losses['loss_ce'] > 0
    losses['loss_ce'].backward()
    assert head.conv_seg.projection.weight.grad.abs().sum() > 0
    # ignore_index keeps its meaning: an all-ignored map gives no loss.
    ignored = head.loss_by_feat(logits.detach(),
                                seg_samples(torch.full((2, 32, 32), 255)))
    assert ignored['loss_ce'] == 0


@pytest.mark.parametrize('name', sorted(SEG_HEADS))
def test_seg_head_changes_only_the_classifier(name):
    ebv = seg_head(name).state_dict()
    upstream = seg_head(name, type=name[len('EBV'):]).state_dict()
    rest = {k: v.shape for k, v in ebv.items() if not k.startswith('conv_seg')}
    assert rest == {k: v.shape for k, v in upstream.items()
                    if not k.startswith('conv_seg')}
    assert ebv['conv_seg.projection.weight'].shape == (5, 16, 1, 1)


def test_seg_head_ebv_options_and_binary_rejected():
    head = seg_head('EBVUPerHead', ebv_dim=7, tau=0.1)
    assert head.conv_seg.ebv.ebvs.shape == (5, 7)
    assert head.conv_seg.ebv.tau == 0.1
    with pytest.raises(ValueError, match='binary'):
        seg_head('EBVFCNHead', num_classes=2, out_channels=1)


def test_checkpoint_with_other_ebvs_is_refused():
    trained = seg_head('EBVFCNHead', seed=0)
    other = seg_head('EBVFCNHead', seed=1)
    assert not torch.equal(trained.conv_seg.ebv.ebvs, other.conv_seg.ebv.ebvs)
    seg_head('EBVFCNHead', seed=0).load_state_dict(trained.state_dict())
    with pytest.raises(EBVFileError):
        other.load_state_dict(trained.state_dict())
