"""EBVClsHead: forward, losses, predictions, optimisation, checkpoints."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmpretrain.models import ClsDataPreprocessor
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmebv.core.trust as trust_module
from mmebv.cls import EBVClsHead
from mmebv.core import EBVFileError
from cls_helpers import write_ebv_file

N, C, D, TAU = 5, 16, 8, 0.07


@pytest.fixture
def head(ebv_dir):
    torch.manual_seed(0)
    head = EBVClsHead(num_classes=N, in_channels=C, ebv_dim=D, tau=TAU,
                      ebv_file=write_ebv_file(ebv_dir, N, D), topk=(1, 2))
    head.init_weights()
    return head


def samples(labels):
    return [DataSample().set_gt_label(int(label)) for label in labels]


def test_registered_in_mmpretrain_and_buildable_with_scope(ebv_dir):
    from mmengine.registry import MODELS as ROOT_MODELS
    cfg = dict(num_classes=N, in_channels=C, ebv_dim=D,
               ebv_file=write_ebv_file(ebv_dir, N, D))
    assert isinstance(MODELS.build(dict(type='EBVClsHead', **cfg)),
                      EBVClsHead)
    assert isinstance(
        ROOT_MODELS.build(dict(type='mmpretrain.EBVClsHead', **cfg)),
        EBVClsHead)


def test_forward_is_cosine_against_ebvs_over_tau(head):
    feats = (torch.randn(3, 7), torch.randn(3, C))
    logits = head(feats)
    assert logits.shape == (3, N) and logits.dtype == torch.float32
    embedding = head.pre_logits(feats)
    assert embedding.shape == (3, D)
    expected = F.normalize(embedding, dim=1) @ head.ebv.ebvs.t() / TAU
    torch.testing.assert_close(logits, expected)
    assert logits.abs().max() <= 1 / TAU + 1e-4


def test_float32_logits_under_autocast(head):
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = head((torch.randn(2, C), ))
    assert logits.dtype == torch.float32


def test_predict_returns_scores_and_labels(head):
    feats = (torch.randn(4, C), )
    preds = head.predict(feats, samples([0, 1, 2, 3]))
    logits = head(feats)
    assert len(preds) == 4
    for pred, row in zip(preds, logits):
        torch.testing.assert_close(pred.pred_score, row.softmax(0))
        assert int(pred.pred_label) == int(row.argmax())
        assert pred.pred_score.shape == (N, )
    assert all(isinstance(p, DataSample) for p in head.predict(feats))


def toy_problem(num=64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(N, C, generator=gen) * 3
    labels = torch.arange(num) % N
    feats = centres[labels] + torch.randn(num, C, generator=gen)
    return feats, labels


def test_loss_decreases_and_ebvs_stay_fixed(head):
    wrapper = build_optim_wrapper(
        head, dict(optimizer=dict(type='AdamW', lr=0.01)))
    optimised = {id(p) for g in wrapper.optimizer.param_groups
                 for p in g['params']}
    assert id(head.ebv.ebvs) not in optimised
    assert optimised == {id(p) for p in head.parameters()}
    assert all('ebv' not in name for name, _ in head.named_parameters())
    ebvs_before = head.ebv.ebvs.clone()
    feats, labels = toy_problem()
    losses = []
    for _ in range(30):
        loss = head.loss((feats, ), samples(labels))['loss']
        wrapper.update_params(loss)
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.05 * losses[0]
    assert torch.equal(head.ebv.ebvs, ebvs_before)
    accuracy = (head(( feats, )).argmax(1) == labels).float().mean()
    assert accuracy == 1.0


@pytest.mark.parametrize('augment', [
    dict(type='Mixup', alpha=0.2),
    dict(type='CutMix', alpha=1.0),
])
@pytest.mark.parametrize('smooth', [0.0, 0.1])
def test_soft_labels_and_label_smoothing(ebv_dir, augment, smooth):
    """Mixup/CutMix ``gt_score`` and label smoothing give the soft CE."""
    loss = (dict(type='LabelSmoothLoss', label_smooth_val=smooth,
                 mode='original') if smooth else
            dict(type='CrossEntropyLoss', loss_weight=1.0))
    head = EBVClsHead(num_classes=N, in_channels=C, ebv_dim=D,
                      ebv_file=write_ebv_file(ebv_dir, N, D), loss=loss)
    preprocessor = ClsDataPreprocessor(
        num_classes=N, batch_augments=dict(augments=[augment]))
    torch.manual_seed(1)
    np.random.seed(1)  # Mixup / CutMix draw their ratio with NumPy
    data = preprocessor(
        dict(inputs=[torch.randint(0, 255, (3, 16, 16), dtype=torch.uint8)
                     for _ in range(4)],
             data_samples=samples([0, 1, 2, 3])), training=True)
    batch = data['data_samples']
    assert all('gt_score' in s for s in batch)
    target = torch.stack([s.gt_score for s in batch])
    assert not torch.equal(target, F.one_hot(torch.arange(4), N).float())
    feats = (torch.randn(4, C), )
    got = head.loss(feats, batch)['loss']
    target = target * (1 - smooth) + smooth / N
    expected = -(target * head(feats).log_softmax(1)).sum(1).mean()
    torch.testing.assert_close(got, expected)


def test_hard_label_smoothing(ebv_dir):
    head = EBVClsHead(
        num_classes=N, in_channels=C, ebv_dim=D,
        ebv_file=write_ebv_file(ebv_dir, N, D),
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                  mode='original'))
    feats, labels = (torch.randn(4, C), ), torch.tensor([0, 3, 1, 4])
    target = F.one_hot(labels, N) * 0.9 + 0.1 / N
    expected = -(target * head(feats).log_softmax(1)).sum(1).mean()
    torch.testing.assert_close(head.loss(feats, samples(labels))['loss'],
                               expected)


def test_state_dict_round_trip(head, ebv_dir):
    state = head.state_dict()
    assert {'projection.weight', 'projection.bias', 'ebv.ebvs',
            'ebv.ebv_fingerprint'} <= set(state)
    torch.manual_seed(5)
    other = EBVClsHead(num_classes=N, in_channels=C, ebv_dim=D,
                       ebv_file=write_ebv_file(ebv_dir, N, D))
    feats = (torch.randn(2, C), )
    assert not torch.allclose(other(feats), head(feats))
    other.load_state_dict(state)
    torch.testing.assert_close(other(feats), head(feats))


def test_checkpoint_with_other_ebvs_is_refused(head, ebv_dir):
    other = EBVClsHead(num_classes=N, in_channels=C, ebv_dim=D,
                       ebv_file=write_ebv_file(ebv_dir, N, D, seed=1))
    with pytest.raises(EBVFileError, match='other EBVs'):
        other.load_state_dict(head.state_dict())


def test_fingerprint_only_checkpoint_is_verified(ebv_dir, monkeypatch):
    """Above the size limit only the fingerprint is saved, and checked."""
    monkeypatch.setattr(trust_module, 'MAX_CHECKPOINTED_ELEMENTS', 10)
    head = EBVClsHead(num_classes=N, in_channels=C, ebv_dim=D,
                      ebv_file=write_ebv_file(ebv_dir, N, D))
    state = head.state_dict()
    assert 'ebv.ebvs' not in state and 'ebv.ebv_fingerprint' in state
    same = EBVClsHead(num_classes=N, in_channels=C, ebv_dim=D,
                      ebv_file=write_ebv_file(ebv_dir, N, D))
    same.load_state_dict(state)
    other = EBVClsHead(num_classes=N, in_channels=C, ebv_dim=D,
                       ebv_file=write_ebv_file(ebv_dir, N, D, seed=2))
    with pytest.raises(EBVFileError, match='other EBVs'):
        other.load_state_dict(state)


@pytest.mark.parametrize('shape', [(N + 1, D), (N, D + 1)])
def test_ebv_file_of_wrong_shape_fails_clearly(ebv_dir, shape):
    path = write_ebv_file(ebv_dir, *shape)
    with pytest.raises(EBVFileError) as info:
        EBVClsHead(num_classes=N, in_channels=C, ebv_dim=D, ebv_file=path)
    message = str(info.value)
    assert f'{shape[0]} x {shape[1]}' in message
    assert f'num_classes={N}' in message and f'ebv_dim={D}' in message
    assert 'generate_ebvs.py' in message


@pytest.mark.parametrize('kwargs', [
    dict(num_classes=0), dict(in_channels=-1), dict(ebv_dim=2.5)])
def test_bad_sizes_fail_clearly(kwargs):
    args = dict(num_classes=N, in_channels=C, ebv_dim=D)
    args.update(kwargs)
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        EBVClsHead(**args)


def test_generated_ebvs_when_no_file():
    """Without a file the EBVs are generated, deterministically by seed."""
    first = EBVClsHead(num_classes=6, in_channels=C, ebv_dim=8, seed=3)
    again = EBVClsHead(num_classes=6, in_channels=C, ebv_dim=8, seed=3)
    assert torch.equal(first.ebv.ebvs, again.ebv.ebvs)
    gram = first.ebv.ebvs @ first.ebv.ebvs.t()
    torch.testing.assert_close(gram.diagonal(), torch.ones(6))
    assert (gram - torch.eye(6)).abs().max() < 0.05
