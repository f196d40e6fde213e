"""LwFClassifier: the distillation term on hand-made logits, the frozen copy
of the previous model, its checkpoint."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmebv.cls  # noqa: F401
from mmebv.incremental import LwFClassifier
from mmebv.incremental.distill import distillation_loss


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def test_distillation_loss_on_hand_made_logits():
    teacher = torch.tensor([[math.log(3.0), 0.0]])  # softmax 0.75, 0.25
    student = torch.zeros(1, 2)  # softmax 0.5, 0.5
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert float(distillation_loss(student, teacher, 1.0)) == \
        pytest.approx(expected)
    # T = 2: logits halved, KL scaled by T^2
    p = math.sqrt(3) / (1 + math.sqrt(3))
    halved = p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p))
    assert float(distillation_loss(student, teacher, 2.0)) == \
        pytest.approx(4 * halved)
    assert float(distillation_loss(teacher, teacher, 2.0)) == 0.0


def lwf_classifier(**kwargs) -> LwFClassifier:
    return MODELS.build(dict(
        type='LwFClassifier', num_old_classes=2,
        backbone=dict(type='ResNet', depth=18, stem_channels=8,
                      base_channels=8, num_stages=1, strides=(1, ),
                      dilations=(1, ), out_indices=(0, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=8),
        **kwargs))


def batch():
    inputs = torch.randn(6, 3, 16, 16, generator=torch.Generator()
                         .manual_seed(0))
    return inputs, [DataSample().set_gt_label(c) for c in (0, 1, 2, 3, 2, 3)]


def test_the_copy_is_the_model_at_the_first_step_and_stays_frozen():
    torch.manual_seed(0)
    model = lwf_classifier(distill_weight=2.0)
    inputs, samples = batch()
    model.eval()  # BatchNorm as in the copy (always in eval mode)
    first = model.loss(inputs, samples)['loss_distill'].detach()
    assert float(first) == pytest.approx(0.0, abs=1e-6)
    model.train()
    assert not any(k.startswith('_teacher') for k in model.state_dict())
    teacher = model.teacher()
    frozen = {k: v.clone() for k, v in teacher.state_dict().items()}
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.5))
    for _ in range(3):
        model.train_step(dict(inputs=inputs, data_samples=samples), wrapper)
    assert model.teacher() is teacher and not teacher.training
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, frozen[key]), key
    model.eval()
    assert float(model.loss(inputs, samples)['loss_distill'].detach()) > 1e-4
    assert not any(p.requires_grad for p in teacher.parameters())


def test_teacher_checkpoint_is_loaded(tmp_path):
    torch.manual_seed(0)
    previous = lwf_classifier()
    path = tmp_path / 'grown.pth'
    torch.save(dict(state_dict=previous.state_dict()), path)
    torch.manual_seed(1)
    model = lwf_classifier(teacher_checkpoint=str(path))
    inputs, _ = batch()
    previous.eval()
    expected = previous(inputs, mode='tensor')
    torch.testing.assert_close(model.teacher()(inputs, mode='tensor'),
                               expected)
    assert not torch.equal(model.head.fc.weight, previous.head.fc.weight)


@pytest.mark.parametrize('bad', [dict(num_old_classes=0),
                                 dict(num_old_classes=2, temperature=0.0),
                                 dict(num_old_classes=2,
                                      distill_weight=-1.0)])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        MODELS.build(dict(type='LwFClassifier', backbone=dict(
            type='LeNet5', num_classes=-1), **bad))
