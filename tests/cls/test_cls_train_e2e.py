"""tools/train.py -> --resume -> tools/test.py -> backbone converter, on a
tiny synthetic image folder with the EBV head (A2-style: label smoothing,
Mixup/CutMix soft labels)."""
import re
from pathlib import Path

import pytest
import torch
from mmpretrain.registry import MODELS

from data_factory import write_image_folder

from cls_helpers import run_tool, tiny_folder_config

ROOT = Path(__file__).resolve().parents[2]

def latest_log(work_dir: Path) -> str:
    logs = sorted(work_dir.glob('*/*.log'))
    return logs[-1].read_text()


@pytest.mark.slow
def test_train_resume_test_and_convert(tmp_path):
    if not (ROOT / 'tools' / 'train.py').exists():
        pytest.fail('tools/train.py is missing')
    data = tmp_path / 'data'
    write_image_folder(str(data), num_classes=4, images_per_class=8, size=32)
    config = tiny_folder_config(
        tmp_path / 'tiny_ebv.py', data, num_classes=4,
        head="type='EBVClsHead', num_classes=4, ebv_dim=4, loss=dict("
        "type='LabelSmoothLoss', label_smooth_val=0.1, mode='original')",
        model=", train_cfg=dict(augments=[dict(type='Mixup', alpha=0.2), "
        "dict(type='CutMix', alpha=1.0)])",
        train_pipeline="[dict(type='LoadImageFromFile'), dict(type="
        "'RandomFlip', prob=0.5, direction='horizontal'), "
        "dict(type='PackInputs')]")
    work = tmp_path / 'work'

    run_tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
        'train_cfg.max_epochs=1')
    assert (work / 'epoch_1.pth').exists()
    assert not (work / 'epoch_2.pth').exists()
    first_log = latest_log(work)
    assert 'accuracy/top1' in first_log

    run_tool('tools/train.py', config, '--work-dir', work, '--resume')
    resumed_log = latest_log(work)
    assert resumed_log != first_log
    assert 'resumed epoch: 1' in resumed_log
    assert re.search(r'Epoch\(train\)\s*\[2\]', resumed_log)
    assert not re.search(r'Epoch\(train\)\s*\[1\]', resumed_log)
    assert (work / 'epoch_2.pth').exists()

    out = run_tool('tools/test.py', config, work / 'epoch_2.pth', '--work-dir',
              tmp_path / 'test')
    top1 = float(re.search(r'accuracy/top1: ([\d.]+)', out).group(1))
    assert 0 <= top1 <= 100

    backbone = tmp_path / 'backbone.pth'
    out = run_tool('tools/model_converters/ebv_to_backbone.py',
              work / 'epoch_2.pth', backbone)
    assert 'head.ebv.ebvs' in out
    saved = torch.load(backbone, weights_only=True)['state_dict']
    assert saved and all(k.startswith('backbone.') for k in saved)
    net = MODELS.build(dict(type='CifarResNet', depth=20, init_cfg=dict(
        type='Pretrained', checkpoint=str(backbone), prefix='backbone.')))
    net.init_weights()
    for key, value in net.state_dict().items():
        assert torch.equal(value, saved['backbone.' + key]), key
