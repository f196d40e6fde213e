"""UnbiasedCrossEntropyLoss: MiB's unbiased cross-entropy in mmseg."""
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmseg.registry import MODELS
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmebv.seg  # noqa: F401
from mmebv.incremental import UnbiasedCrossEntropyLoss
from tests_conftest import REPO, checkout_env


@pytest.fixture(autouse=True)
def _mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def pixels(*rows):
    """(1, C, 1, W) logits from one list of C logits per pixel."""
    return torch.tensor(rows, dtype=torch.float).t()[None, :, None, :]


def test_background_pixel_scores_background_or_any_old_class():
    # channels: 0 background, 1-2 old classes, 3-4 new classes
    logits = pixels([0.5, 2.0, -1.0, 1.0, 0.0])
    q = torch.softmax(logits[0, :, 0, 0], dim=0)
    loss = UnbiasedCrossEntropyLoss(num_old_classes=3)
    value = loss(logits, torch.zeros(1, 1, 1, dtype=torch.long))
    assert float(value) == pytest.approx(-math.log(float(q[:3].sum())))
    # an old-class pixel labelled background costs little: its class counts
    assert float(value) < -math.log(float(q[0]))


def test_new_and_old_class_pixels_keep_the_ordinary_cross_entropy():
    logits = pixels([0.5, 2.0, -1.0, 1.0, 0.0], [1.0, 0.0, 0.0, -2.0, 3.0],
                    [0.0, 0.0, 1.0, 0.0, 0.0])
    label = torch.tensor([[[3, 4, 2]]])
    loss = UnbiasedCrossEntropyLoss(num_old_classes=3, reduction='none')
    torch.testing.assert_close(
        loss(logits, label), F.cross_entropy(logits, label,
                                             reduction='none'))


def test_ignored_pixels_count_nothing_and_mean_is_over_the_others():
    logits = pixels([0.5, 2.0, -1.0, 1.0, 0.0], [1.0, 0.0, 0.0, -2.0, 3.0],
                    [9.0, -9.0, 4.0, 0.0, 7.0])
    loss = UnbiasedCrossEntropyLoss(num_old_classes=3)
    both = loss(logits[..., :2], torch.tensor([[[0, 4]]]))
    ignored = loss(logits, torch.tensor([[[0, 4, 255]]]))
    assert float(ignored) == pytest.approx(float(both))
    other = loss(logits, torch.tensor([[[0, 4, -1]]]), ignore_index=-1)
    assert float(other) == pytest.approx(float(both))
    per_pixel = UnbiasedCrossEntropyLoss(
        num_old_classes=3, reduction='none')(logits,
                                             torch.tensor([[[0, 4, 255]]]))
    assert float(per_pixel[0, 0, 2]) == 0
    assert float(UnbiasedCrossEntropyLoss(
        num_old_classes=3, reduction='sum', loss_weight=2.0)(
            logits, torch.tensor([[[0, 4, 255]]]))) == pytest.approx(
                4 * float(both))
    # every pixel ignored: zero, not NaN
    assert float(loss(logits, torch.full((1, 1, 3), 255))) == 0


def test_one_old_class_is_plain_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 5, 7)
    label = torch.randint(0, 6, (2, 5, 7))
    label[0, 0, :3] = 255
    loss = UnbiasedCrossEntropyLoss(num_old_classes=1)
    torch.testing.assert_close(
        loss(logits, label), F.cross_entropy(logits, label,
                                             ignore_index=255))


def test_weight_multiplies_each_pixel():
    logits = pixels([0.5, 2.0, -1.0, 1.0], [1.0, 0.0, 0.0, -2.0])
    label = torch.tensor([[[0, 3]]])
    loss = UnbiasedCrossEntropyLoss(num_old_classes=2, reduction='none')
    weight = torch.tensor([[[0.0, 2.0]]])
    torch.testing.assert_close(loss(logits, label, weight=weight),
                               loss(logits, label) * weight)


@pytest.mark.parametrize('bad', [0, -1, 1.5, True, None])
def test_bad_num_old_classes(bad):
    with pytest.raises(ValueError, match='num_old_classes'):
        UnbiasedCrossEntropyLoss(num_old_classes=bad)


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match='reduction'):
        UnbiasedCrossEntropyLoss(2, reduction='avg')
    with pytest.raises(ValueError, match="start with 'loss_'"):
        UnbiasedCrossEntropyLoss(2, loss_name='unbiased')
    loss = UnbiasedCrossEntropyLoss(num_old_classes=4)
    with pytest.raises(ValueError, match='more channels'):
        loss(torch.zeros(1, 4, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match=r'\[0, 5\)'):
        loss(torch.zeros(1, 5, 1, 1), torch.full((1, 1, 1), 5))


def test_registered_with_mmseg_and_named_as_a_loss():
    loss = MODELS.build(dict(type='UnbiasedCrossEntropyLoss',
                             num_old_classes=2, loss_name='loss_mib'))
    assert isinstance(loss, UnbiasedCrossEntropyLoss)
    assert loss.loss_name == 'loss_mib'
    assert UnbiasedCrossEntropyLoss(2).loss_name == 'loss_unbiased_ce'


@pytest.mark.parametrize('head', ['FCNHead', 'EBVFCNHead'])
def test_decode_head_trains_with_it(head):
    torch.manual_seed(0)
    decode = MODELS.build(dict(
        type=head, in_channels=8, channels=8, num_convs=1, num_classes=5,
        loss_decode=dict(type='UnbiasedCrossEntropyLoss',
                         num_old_classes=3)))
    feats = [torch.randn(2, 8, 6, 6)]
    samples = []
    for _ in range(2):
        sample = SegDataSample(gt_sem_seg=PixelData(
            data=torch.randint(0, 5, (1, 12, 12))))
        sample.set_metainfo(dict(img_shape=(12, 12), pad_shape=(12, 12)))
        samples.append(sample)
    samples[0].gt_sem_seg.data[0, :2] = 255
    losses = decode.loss(feats, samples, train_cfg=dict())
    loss = losses['loss_unbiased_ce']
    assert torch.isfinite(loss) and float(loss.detach()) > 0
    loss.backward()
    grad = decode.conv_seg.projection.weight.grad if head.startswith(
        'EBV') else decode.conv_seg.weight.grad
    assert grad is not None and torch.isfinite(grad).all()
    assert float(grad.abs().sum()) > 0


def test_import_mmebv_registers_it_with_mmseg():
    code = (
        'import mmebv\n'
        'from mmengine.registry import DefaultScope\n'
        'from mmseg.registry import MODELS\n'
        "with DefaultScope.overwrite_default_scope('mmseg'):\n"
        "    loss = MODELS.build(dict(type='UnbiasedCrossEntropyLoss',\n"
        "                             num_old_classes=2))\n"
        "    print(type(loss).__name__)\n")
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, env=checkout_env(), cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-1] == 'UnbiasedCrossEntropyLoss'
