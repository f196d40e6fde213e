"""The digits lab's report helpers and figures: one machine line, one
mean ± std, the demo's page, the training curves."""
import os

import pytest
import torch
from PIL import Image

from digits_lab.plots import plot_training_curves
from digits_lab.reporting import (demo_results_markdown, machine,
                                  mean_and_std, mean_std, utc)


def test_mean_std_one_format_for_every_report():
    assert mean_std([1.0, 2.0, 3.0]) == '2.0 ± 1.0'
    assert mean_std([2.04]) == '2.0'  # one seed: the value, no spread
    assert mean_std([1.0, 2.0], digits=2) == '1.50 ± 0.71'
    assert mean_and_std([4.0]) == (4.0, 0.0)
    assert mean_and_std([1.0, 3.0]) == pytest.approx((2.0, 2 ** 0.5))


def test_machine_and_utc():
    line = machine()
    assert f'{os.cpu_count()} logical CPUs' in line
    assert f'torch {torch.__version__}' in line
    assert utc(0) == '1970-01-01 00:00'


def _demo_results():
    stage = dict(seconds=60.0)
    return {
        'data': dict(train_counts=[500, 100, 50], test_counts=[50, 50, 50],
                     tail_classes=[2], num_scenes=[300, 50]),
        'ebvs': dict(num_vectors=10, dim=16, max_abs_cos=1e-7, bound=0.0,
                     min_angle_deg=90.0, max_angle_deg=90.0, **stage),
        'cls_fc': stage, 'cls_ebv': stage,
        'evaluation': dict(scores={
            head: dict(top1=90.0, head_top1=95.0, tail_top1=80.0)
            for head in ('FC', 'EBV')}, cka_fc_vs_ebv_diagonal=[0.9, 0.8],
            **stage),
        'det': dict(metrics={'coco/bbox_mAP': 0.5, 'coco/segm_mAP': 0.25},
                    backbone_check=dict(matched=122, total=122),
                    first_loss=3.0, last_loss=1.0, nothing_detected=False,
                    **stage),
        'seg': dict(metrics=dict(mIoU=40.0), first_loss=None,
                    backbone_check=dict(matched=122, total=122), **stage),
    }


def test_demo_page():
    settings = dict(imbalance_ratio=10.0, epochs=3, seed=0, det_iters=4,
                    seg_iters=5)
    page = demo_results_markdown(_demo_results(), settings)
    assert page.startswith('# mmebv demo results\n')
    assert '| EBV | 90.00 | 95.00 | 80.00 | 60 |' in page
    assert ('| Mask R-CNN, EBV box/mask heads | 4 | 122/122 | 3.000 -> '
            '1.000 | 50.0 | 25.0 | - | 60 |') in page
    assert '| UperNet, EBV decode heads | 5 | 122/122 | n/a |' in page
    assert 'CKA FC vs EBV, same block: 0.90, 0.80' in page
    assert 'Time of all stages: 6.0 min.' in page


def test_training_curves(tmp_path):
    out = str(tmp_path / 'curves.png')
    plot_training_curves(
        {'loss': {'FC': [(1, 2.0), (2, 1.0)], 'EBV': [(1, 2.5), (2, 0.8)]},
         'top-1': {'FC': [(1, 50.0), (2, 70.0)]}}, out)
    with Image.open(out) as image:
        assert image.size[0] > 500
    with pytest.raises(ValueError, match='No curve'):
        plot_training_curves({'loss': {'FC': []}}, out)
