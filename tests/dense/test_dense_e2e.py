"""End to end through tools/train.py and tools/test.py on synthetic data:
Mask R-CNN (COCO metrics), UperNet and Semantic FPN (mIoU)."""
import pytest

from dense_helpers import (PYTHON, run, tiny_mask_rcnn_config,
                           tiny_seg_config)

pytestmark = pytest.mark.slow


def train(config, work_dir, *extra, check=True):
    return run([PYTHON, 'tools/train.py', str(config), '--work-dir',
                str(work_dir), *extra], check=check)


def test_mask_rcnn_trains_and_evaluates(tmp_path, coco_root, ebv_backbone):
    config = tiny_mask_rcnn_config(tmp_path / 'mask_rcnn.py', coco_root,
                                   ebv_backbone('resnet18'))
    out = train(config, tmp_path / 'work').stdout
    assert 'PretrainedCheckHook: backbone holds 100.00%' in out
    assert 'loss_mask' in out and 'loss_cls' in out
    for metric in ('coco/bbox_mAP', 'coco/segm_mAP'):
        assert metric in out, out[-3000:]
    checkpoint = tmp_path / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()
    tested = run([PYTHON, 'tools/test.py', str(config), str(checkpoint),
                  '--work-dir', str(tmp_path / 'test')]).stdout
    assert 'coco/segm_mAP' in tested


@pytest.mark.parametrize('base, model', [
    ('upernet_r18_ebv_ade20k.py', ''),
    ('fpn_r50_ebv_ade20k.py', 'neck=dict(in_channels=[64, 128, 256, 512])'),
])
def test_segmentor_trains_and_evaluates(tmp_path, ade_root, ebv_backbone,
                                        base, model):
    config = tiny_seg_config(tmp_path / 'seg.py', ade_root,
                             ebv_backbone('resnet18'), base, model)
    out = train(config, tmp_path / 'work').stdout
    assert 'PretrainedCheckHook: backbone holds 100.00%' in out
    assert 'mIoU' in out, out[-3000:]
    checkpoint = tmp_path / 'work' / 'iter_4.pth'
    assert checkpoint.is_file()
    tested = run([PYTHON, 'tools/test.py', str(config), str(checkpoint),
                  '--work-dir', str(tmp_path / 'test')]).stdout
    assert 'mIoU' in tested


def test_training_refuses_a_mismatched_backbone(tmp_path, ade_root,
                                                ebv_backbone):
    config = tiny_seg_config(tmp_path / 'seg.py', ade_root,
                             ebv_backbone('resnet50'))
    proc = train(config, tmp_path / 'work', check=False)
    assert proc.returncode != 0
    assert 'PretrainedLoadError' in proc.stdout
    assert 'another shape' in proc.stdout
    assert not list((tmp_path / 'work').glob('iter_*.pth'))
