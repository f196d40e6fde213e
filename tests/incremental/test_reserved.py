"""Reserved EBVs: pre-allocated for future classes, masked or scored."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS as DET_MODELS
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample
from mmseg.registry import MODELS as SEG_MODELS

import mmebv.cls  # noqa: F401
import mmebv.det  # noqa: F401
import mmebv.seg  # noqa: F401
from mmebv.core import EBVClassifier, EBVFileError, save_ebvs
from mmebv.core.bounds import max_abs_cos

TAU = 0.07


def test_reserved_rows_are_held_and_masked():
    clf = EBVClassifier(5, 16, tau=TAU, num_reserved=4)
    assert clf.ebvs.shape == (9, 16)
    assert (clf.num_vectors, clf.num_reserved, clf.num_rows) == (5, 4, 9)
    x = torch.randn(3, 16)
    logits = clf(x)
    assert logits.shape == (3, 5)
    expected = F.normalize(x, dim=1) @ clf.ebvs[:5].t() / TAU
    torch.testing.assert_close(logits, expected)
    # feature maps: channels at dim 1
    maps = clf(torch.randn(2, 16, 3, 3), channel_dim=1)
    assert maps.shape == (2, 5, 3, 3)


def test_one_set_is_generated_for_active_and_reserved_rows():
    reserved = EBVClassifier(6, 16, num_reserved=4)
    whole = EBVClassifier(10, 16)  # the same generation arguments, N + K
    assert torch.equal(reserved.ebvs, whole.ebvs)
    assert torch.equal(reserved.ebv_recipe, whole.ebv_recipe)
    assert max_abs_cos(reserved.ebvs) < 1e-5  # 10 <= d: orthonormal
    crowded = EBVClassifier(6, 4, num_reserved=3)  # 9 rows in 4 dims
    assert crowded.ebvs.shape == (9, 4)
    assert len({tuple(r.tolist()) for r in crowded.ebvs}) == 9
    assert max_abs_cos(crowded.ebvs) < 0.6


def test_no_reserved_rows_is_the_default_set():
    default = EBVClassifier(5, 8)
    zero = EBVClassifier(5, 8, num_reserved=0)
    assert default.ebvs.shape == (5, 8)
    assert torch.equal(default.ebvs, zero.ebvs)
    assert default.state_dict().keys() == zero.state_dict().keys()
    for key, value in default.state_dict().items():
        assert torch.equal(value, zero.state_dict()[key])


def test_reserved_in_logits_scores_every_row():
    clf = EBVClassifier(5, 16, tau=TAU, num_reserved=4,
                        reserved_in_logits=True)
    x = torch.randn(3, 16)
    assert clf.num_outputs == 9
    torch.testing.assert_close(
        clf(x), F.normalize(x, dim=1) @ clf.ebvs.t() / TAU)


@pytest.mark.parametrize('bad', [-1, 1.5, True])
def test_num_reserved_must_be_a_count(bad):
    with pytest.raises(ValueError, match='num_reserved'):
        EBVClassifier(5, 8, num_reserved=bad)


def test_checkpoint_round_trip_and_shape_message():
    trained = EBVClassifier(5, 8, num_reserved=3)
    state = trained.state_dict()
    assert state['ebvs'].shape == (8, 8)
    fresh = EBVClassifier(5, 8, num_reserved=3)
    fresh.load_state_dict(state)
    assert torch.equal(fresh.ebvs, trained.ebvs)
    with pytest.raises(EBVFileError, match=r'holds 8 x 8 EBVs \(rows: '
                       r'num_classes \+ num_reserved\)'):
        EBVClassifier(5, 8).load_state_dict(state)


def test_ebv_file_holds_active_and_reserved_rows(tmp_path):
    ebvs = EBVClassifier(8, 8).ebvs
    path = str(tmp_path / 'ebvs.safetensors')
    save_ebvs(path, ebvs)
    clf = EBVClassifier(5, 8, ebv_file=path, num_reserved=3)
    assert torch.equal(clf.ebvs, ebvs)
    with pytest.raises(EBVFileError,
                       match=r'num_classes \+ num_reserved=5 \+ 2 = 7 rows'):
        EBVClassifier(5, 8, ebv_file=path, num_reserved=2)


def test_kerdock_reserved_rows_are_masked():
    clf = EBVClassifier(5, 16, method='kerdock', num_reserved=3)
    whole = EBVClassifier(8, 16, method='kerdock')
    x = torch.randn(2, 16)
    torch.testing.assert_close(clf(x), whole(x)[:, :5])


def cls_head(**kwargs):
    cfg = dict(type='EBVClsHead', num_classes=4, in_channels=6, ebv_dim=8)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return CLS_MODELS.build({**cfg, **kwargs})


def _samples(labels, soft=False):
    samples = []
    for label in labels:
        sample = DataSample().set_gt_label(label)
        if soft:
            sample.set_gt_score(F.one_hot(torch.tensor(label), 4).float())
        samples.append(sample)
    return samples


def test_default_ebv_dim_counts_the_reserved_rows():
    assert cls_head(ebv_dim=None, num_reserved=3).ebv.ebvs.shape == (7, 7)
    assert cls_head(ebv_dim=None).ebv.ebvs.shape == (4, 4)
    with pytest.raises(ValueError, match='num_reserved=-1'):
        cls_head(num_reserved=-1)


def test_cls_head_masked_reserved_rows():
    head = cls_head(num_reserved=3)
    assert head.ebv.ebvs.shape == (7, 8)
    feats = (torch.randn(5, 6), )
    assert head(feats).shape == (5, 4)
    losses = head.loss(feats, _samples([0, 1, 2, 3, 0]))
    assert torch.isfinite(losses['loss'])


def test_cls_head_reserved_in_logits():
    torch.manual_seed(0)
    head = cls_head(num_reserved=3, reserved_in_logits=True)
    feats = (torch.randn(5, 6), )
    logits = head(feats)
    assert logits.shape == (5, 7)
    labels = [0, 1, 2, 3, 0]
    hard = head.loss(feats, _samples(labels))['loss']
    expected = F.cross_entropy(logits, torch.tensor(labels))
    torch.testing.assert_close(hard, expected)
    soft = head.loss(feats, _samples(labels, soft=True))['loss']
    torch.testing.assert_close(soft, expected)
    predictions = head.predict(feats)
    assert predictions[0].pred_score.shape == (4, )
    assert all(int(p.pred_label) < 4 for p in predictions)


def test_dense_heads_accept_num_reserved():
    with DefaultScope.overwrite_default_scope('mmdet'):
        box = DET_MODELS.build(dict(
            type='EBVShared2FCBBoxHead', in_channels=8, fc_out_channels=16,
            roi_feat_size=7, num_classes=3, num_reserved=2))
        mask = DET_MODELS.build(dict(
            type='EBVFCNMaskHead', num_convs=1, in_channels=8,
            conv_out_channels=8, num_classes=3, ebv_dim=8, num_reserved=2))
    # 3 + background + 2 reserved; d defaults to the number of EBVs
    assert box.fc_cls.ebv.ebvs.shape == (6, 6)
    assert max_abs_cos(box.fc_cls.ebv.ebvs) < 1e-5
    cls_score, _ = box(torch.randn(2, 8, 7, 7))
    assert cls_score.shape == (2, 4)
    assert mask.conv_logits.ebv.ebvs.shape == (5, 8)
    assert mask(torch.randn(2, 8, 14, 14)).shape[1] == 3
    with DefaultScope.overwrite_default_scope('mmseg'):
        seg = SEG_MODELS.build(dict(
            type='EBVFCNHead', in_channels=8, channels=8, num_convs=1,
            num_classes=5, ebv_dim=8, num_reserved=3))
    assert seg.conv_seg.ebv.ebvs.shape == (8, 8)
    assert seg([torch.randn(2, 8, 4, 4)]).shape == (2, 5, 4, 4)


def test_dense_heads_refuse_reserved_in_logits():
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(ValueError, match='reserved_in_logits=True is '
                           'not supported by dense heads'):
            SEG_MODELS.build(dict(
                type='EBVFCNHead', in_channels=8, channels=8, num_convs=1,
                num_classes=5, num_reserved=3, reserved_in_logits=True))
