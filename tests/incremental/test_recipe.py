"""Class-incremental recipe components: losses, trunk freezing, replay."""
import subprocess
import sys
from collections import Counter
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapper
from mmengine.registry import HOOKS, DefaultScope
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS, MODELS
from mmpretrain.structures import DataSample

import mmebv.cls  # noqa: F401
from mmebv.incremental import (DotRegressionLoss, ERACELoss, FreezeTrunkHook,
                               ReplayDataset)
from mmebv.incremental.herding import herding_order
from tests_conftest import REPO, checkout_env


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


# DotRegressionLoss


def test_dot_regression_on_hand_made_cosines():
    cos = torch.tensor([[1.0, 0.0, 0.0],
                        [0.5, 0.0, 0.0],
                        [0.0, -1.0, 0.0]])
    label = torch.tensor([0, 0, 1])
    loss = MODELS.build(dict(type='DotRegressionLoss'))
    # 0.5 * ((1-1)^2 + (0.5-1)^2 + (-1-1)^2) / 3
    assert float(loss(cos, label)) == pytest.approx((0 + .125 + 2) / 3)
    assert float(DotRegressionLoss(loss_weight=2.0, reduction='sum')(
        cos, label)) == pytest.approx(2 * 2.125)
    soft = torch.tensor([[1.0, 0, 0], [0.5, 0.5, 0], [0, 1.0, 0]])
    # sample 2: 0.5 * (0.5 * 0.25 + 0.5 * 1) = 0.3125
    assert float(loss(cos, soft)) == pytest.approx((0 + .3125 + 2) / 3)


def test_ebv_head_feeds_cosines_to_dot_regression():
    torch.manual_seed(0)
    head = MODELS.build(dict(
        type='EBVClsHead', num_classes=4, in_channels=6, ebv_dim=8,
        tau=0.1, loss=dict(type='DotRegressionLoss')))
    feats = (torch.randn(5, 6), )
    labels = torch.tensor([0, 1, 2, 3, 1])
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    loss = head.loss(feats, samples)['loss']
    h = F.normalize(head.projection(feats[0]), dim=1)
    dots = (h * head.ebv.ebvs[labels]).sum(dim=1)  # w_y . h
    torch.testing.assert_close(loss, 0.5 * ((dots - 1)**2).mean())


# ERACELoss


def test_er_ace_masks_old_classes_for_incoming_samples():
    logits = torch.tensor([[2.0, 1.0, 0.5, -1.0],
                           [0.3, -0.2, 1.5, 0.7]], requires_grad=True)
    label = torch.tensor([3, 0])  # incoming (new class 3), replayed (0)
    loss = MODELS.build(dict(type='ERACELoss', num_old_classes=2))(
        logits, label, reduction_override='none')
    incoming = torch.logsumexp(torch.tensor([0.5, -1.0]), 0) + 1.0
    replayed = torch.logsumexp(logits[1].detach(), 0) - 0.3
    torch.testing.assert_close(loss, torch.stack([incoming, replayed]))
    loss.sum().backward()
    assert torch.equal(logits.grad[0, :2], torch.zeros(2))  # old untouched
    assert (logits.grad[1] != 0).all()


def test_er_ace_masks_unseen_columns_for_everyone():
    logits = torch.tensor([[0.0, 1.0, 2.0, 9.0]])
    loss = ERACELoss(num_old_classes=1, num_classes=3)
    for label, columns in ((0, [0, 1, 2]), (2, [1, 2])):
        expected = torch.logsumexp(logits[0, columns], 0) - logits[0, label]
        torch.testing.assert_close(loss(logits, torch.tensor([label])),
                                   expected)
    with pytest.raises(ValueError, match='beyond the 3 classes seen'):
        loss(logits, torch.tensor([3]))
    with pytest.raises(ValueError, match='class indices'):
        loss(logits, torch.ones(1, 4) / 4)
    with pytest.raises(ValueError, match='num_classes=2 must be an integer'):
        ERACELoss(num_old_classes=2, num_classes=2)


# FreezeTrunkHook


def tiny_classifier(num_classes: int = 3):
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8, num_stages=1, strides=(1, ),
                      dilations=(1, ), out_indices=(0, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='EBVClsHead', num_classes=num_classes, in_channels=8,
                  ebv_dim=4)))


def test_freeze_trunk_hook_trains_only_the_head():
    torch.manual_seed(0)
    model = tiny_classifier()
    hook = HOOKS.build(dict(type='FreezeTrunkHook'))
    runner = SimpleNamespace(model=model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    hook.before_train(runner)
    optim = OptimWrapper(torch.optim.SGD(
        model.parameters(), lr=0.5, momentum=0.9, weight_decay=0.1))
    inputs = torch.randn(4, 3, 16, 16)
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    for step in range(3):
        model.train()  # as the train loop does every epoch
        hook.before_train_iter(runner, step)
        losses = model(inputs, samples, mode='loss')
        optim.update_params(losses['loss'])
    after = model.state_dict()
    trunk = [k for k in before if not k.startswith('head.')]
    assert any(k.endswith('running_mean') for k in trunk)
    for key in trunk:
        assert torch.equal(after[key], before[key]), key
    assert not torch.equal(after['head.projection.weight'],
                           before['head.projection.weight'])
    assert torch.equal(after['head.ebv.ebvs'], before['head.ebv.ebvs'])


def test_freeze_trunk_hook_names_missing_submodules():
    with pytest.raises(ValueError, match="no submodule 'heads'"):
        FreezeTrunkHook(trainable='heads').freeze(tiny_classifier())


# ReplayDataset


class LabelList(BaseDataset):
    """Samples that are just their labels."""

    def __init__(self, labels, **kwargs):
        self.labels = list(labels)
        super().__init__(ann_file='', metainfo=dict(
            classes=[str(c) for c in range(max(self.labels) + 1)]), **kwargs)

    def load_data_list(self):
        return [dict(gt_label=label, index=i)
                for i, label in enumerate(self.labels)]


def test_replay_mixes_exemplars_at_the_ratio():
    old = LabelList([c for c in range(3) for _ in range(10)] + [3, 3])
    new = LabelList([4, 5] * 7)
    replay = DATASETS.build(dict(type='ReplayDataset', dataset=new,
                                 memory=old, exemplars_per_class=4))
    assert (replay.num_new, replay.num_replayed, len(replay)) == (14, 14, 28)
    chosen = Counter(old.get_cat_ids(i)[0] for i in replay.exemplars)
    assert chosen == {0: 4, 1: 4, 2: 4, 3: 2}  # class 3 has 2 samples
    assert len(set(replay.exemplars)) == 14
    labels = [replay.get_cat_ids(i)[0] for i in range(len(replay))]
    assert Counter(labels[:14]) == {4: 7, 5: 7}
    assert Counter(replay.source(i)[1] for i in range(14, 28)) == Counter(
        replay.exemplars)  # 1:1, each exemplar once
    assert replay[14]['gt_label'] == old[replay.exemplars[0]]['gt_label']

    double = ReplayDataset(new, old, exemplars_per_class=4, ratio=2.5)
    assert len(double) == 14 + 35
    replayed = Counter(double.source(i)[1] for i in range(14, 49))
    # 35 samples cycle through the 14 exemplars: each 2 or 3 times
    assert set(replayed) == set(double.exemplars)
    assert set(replayed.values()) <= {2, 3}
    assert ReplayDataset(new, old, exemplars_per_class=4, seed=1).exemplars \
        != replay.exemplars


def test_replay_warns_when_exemplars_are_never_replayed():
    old, new = LabelList([0, 0, 1, 1, 2, 2]), LabelList([3, 4])
    with pytest.warns(UserWarning, match='the last 4 are never replayed'):
        ReplayDataset(new, old, exemplars_per_class=2, ratio=1.0)


def test_replay_refuses_herding_and_points_to_the_hook():
    old, new = LabelList([0, 1]), LabelList([2])
    with pytest.raises(ValueError,
                       match="selection='herding' is not.*HerdingExempl"):
        ReplayDataset(new, old, selection='herding')


@pytest.mark.parametrize('bad', [[], [0, 0], [7], [-1]])
def test_set_exemplars_refuses_bad_indices(bad):
    replay = ReplayDataset(LabelList([2]), LabelList([0, 0, 1, 1]),
                           exemplars_per_class=1)
    with pytest.raises(ValueError, match='distinct indices of the memory'):
        replay.set_exemplars(bad)


def test_herding_order_on_hand_made_features():
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    # mean (0.533, 0.6): row 2 is nearest; then row 0 keeps the running
    # mean (0.8, 0.4) nearer than row 1's (0.3, 0.9)
    assert herding_order(features, 3) == [2, 0, 1]
    assert herding_order(features, 1) == [2]
    assert herding_order(features, 5) == [2, 0, 1]


def test_import_mmebv_registers_the_components():
    code = (
        'import mmebv\n'
        'from mmengine.registry import DefaultScope, HOOKS\n'
        'from mmpretrain.registry import DATASETS, MODELS\n'
        "with DefaultScope.overwrite_default_scope('mmpretrain'):\n"
        "    assert MODELS.get('DotRegressionLoss') is not None\n"
        "    assert MODELS.get('ERACELoss') is not None\n"
        "    assert DATASETS.get('ReplayDataset') is not None\n"
        "    assert HOOKS.build(dict(type='FreezeTrunkHook'))\n")
    subprocess.run([sys.executable, '-c', code], check=True,
                   env=checkout_env(), cwd=str(REPO))


class ImageList(LabelList):
    """Random 16 x 16 images with their labels."""

    def load_data_list(self):
        gen = torch.Generator().manual_seed(len(self.labels))
        return [dict(img=torch.rand(16, 16, 3, generator=gen).mul(255)
                     .to(torch.uint8).numpy(), gt_label=label)
                for label in self.labels]


def test_recipe_trains_in_a_runner(tmp_path):
    """The step adding classes 2-3: replayed exemplars of classes 0-1,
    ER-ACE, the trunk frozen by the hook."""
    from mmengine.runner import Runner
    pipeline = [dict(type='PackInputs')]
    old = ImageList([0, 1] * 6, pipeline=pipeline)
    new = ImageList([2, 3] * 4, pipeline=pipeline)
    model = tiny_classifier(num_classes=4)
    model.head.loss_module = ERACELoss(num_old_classes=2)
    runner = Runner(
        model=model, work_dir=str(tmp_path), default_scope='mmpretrain',
        train_dataloader=dict(
            dataset=ReplayDataset(new, old, exemplars_per_class=2),
            sampler=dict(type='DefaultSampler', shuffle=True), batch_size=4,
            num_workers=0),
        train_cfg=dict(by_epoch=False, max_iters=3),
        optim_wrapper=dict(optimizer=dict(
            type='SGD', lr=0.1, momentum=0.9, weight_decay=0.01)),
        custom_hooks=[dict(type='FreezeTrunkHook')],
        default_hooks=dict(checkpoint=None, logger=None),
        experiment_name='replay', log_level='WARNING')
    runner.model.init_weights()  # the runner's own call is then a no-op
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    assert len(runner.train_dataloader.dataset) == 16
    for key in before:
        if not key.startswith('head.'):
            assert torch.equal(after[key], before[key]), key
    assert not torch.equal(after['head.projection.weight'],
                           before['head.projection.weight'])


def test_herding_hook_replaces_the_exemplars_in_a_runner(tmp_path):
    """Before the first step, the exemplars become herding's choice on the
    loaded model's features, per class; the ratio is unchanged."""
    from mmengine.runner import Runner
    pipeline = [dict(type='PackInputs')]
    old = ImageList([0, 1] * 6, pipeline=pipeline)
    new = ImageList([2, 3] * 4, pipeline=pipeline)
    model = tiny_classifier(num_classes=4)
    runner = Runner(
        model=model, work_dir=str(tmp_path), default_scope='mmpretrain',
        train_dataloader=dict(
            dataset=ReplayDataset(new, old, exemplars_per_class=3),
            sampler=dict(type='DefaultSampler'),
            batch_size=4, num_workers=0),
        train_cfg=dict(by_epoch=False, max_iters=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)),
        custom_hooks=[dict(type='HerdingExemplarsHook', batch_size=5)],
        default_hooks=dict(checkpoint=None, logger=None),
        experiment_name='herding', log_level='WARNING')
    runner.model.init_weights()
    model.eval()
    with torch.no_grad():  # the features, computed here by hand
        feats = []
        for i in range(len(old)):
            data = model.data_preprocessor(
                dict(inputs=[old[i]['inputs']]), False)
            feats.append(model.neck(model.backbone(data['inputs']))[-1])
        feats = F.normalize(torch.cat(feats), dim=1)
    expected = []
    for label in (0, 1):
        indices = [i for i in range(len(old)) if old.labels[i] == label]
        expected += sorted(indices[j]
                           for j in herding_order(feats[indices], 3))
    replay = runner.train_dataloader.dataset  # the runner's (deep) copy
    random_choice = list(replay.exemplars)
    runner.train()
    assert replay.exemplars == expected != random_choice
    assert len(replay) == 16  # 8 new + 8 replayed, as before
