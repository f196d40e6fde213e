"""benchmarks/class_addition_seg.py --quick end to end: every cell (head x
arm) trains a segmentor through mmengine Runners over written configs,
grows with the add_classes surgery, is evaluated; its "seg" records join
the classification records of class_addition.json, and a rerun reuses the
cells."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from tests_conftest import checkout_env

REPO = Path(__file__).resolve().parents[2]
ARMS = {'frozen+unbiased', 'unbiased', 'new-only'}
KEYS = {'task', 'protocol', 'arm', 'head', 'seed', 'old', 'new', 'all'}


def state_dict(path: Path) -> dict:
    """The weights of a checkpoint this test's runs wrote."""
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


@pytest.mark.slow
def test_quick_class_addition_seg_end_to_end(tmp_path):
    work_dir, report = tmp_path / 'work', tmp_path / 'report' / 'seg.md'
    report.parent.mkdir()
    cls = [dict(task='cls', protocol='0-4 then 5-9', arm='replay',
                head='ebv', seed=0, old=50.0, new=90.0, all=70.0),
           dict(task='seg', protocol='0-4 then 5-9', arm='stale',
                head='fc', seed=0, old=0.0, new=0.0, all=0.0)]
    json_path = report.parent / 'class_addition.json'
    json_path.write_text(json.dumps(cls))
    cmd = [sys.executable, 'benchmarks/class_addition_seg.py', '--quick',
           '--work-dir', str(work_dir), '--report', str(report)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env=checkout_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    records = json.loads(json_path.read_text())
    assert records[0] == cls[0]  # classification records kept, stale seg
    seg = records[1:]  # records replaced
    assert all(r['task'] == 'seg' for r in seg)
    assert len(seg) == 2 * 3  # heads x arms, one seed
    assert {(r['head'], r['arm']) for r in seg} == {
        (h, a) for h in ('ebv', 'fc') for a in ARMS}
    for r in seg:
        assert KEYS <= set(r) and r['protocol'] == '0-4 then 5-9'
        assert r['seed'] == 0
        for key in ('old', 'new', 'all', 'before_old'):
            assert 0 <= r[key] <= 100

    # Step scenes label only the new digits (old ones are background);
    # base scenes hold only digits 0-4.
    scenes = work_dir / 'scenes_seed0'
    meta = json.loads((scenes / 'meta.json').read_text())
    assert meta['instances']['base'][5:] == [0] * 5
    assert meta['labelled_background']['step'] == \
        meta['instances']['step'][:5] + [0] * 5
    for name in ('base', 'step'):
        labels = np.unique(np.concatenate([
            np.asarray(Image.open(p)).ravel()
            for p in (scenes / 'semantic' / name).glob('*.png')]))
        assert set(labels) <= ({0, 1, 2, 3, 4, 5} if name == 'base' else
                               {0, 6, 7, 8, 9, 10})

    # The EBV frozen arm: reserved EBVs activated (the set unchanged),
    # only the per-pixel classifier trained, with the unbiased loss.
    base = work_dir / 'ebv' / 'seed0' / 'base'
    arm = work_dir / 'ebv' / 'seed0' / 'frozen_unbiased'
    first, last = state_dict(base / 'iter_2.pth'), state_dict(
        arm / 'iter_2.pth')
    key = 'decode_head.conv_seg.ebv.ebvs'
    assert torch.equal(first[key], last[key])
    cfg = Config.fromfile(str(arm / 'config.py'))
    assert (cfg.model.decode_head.num_classes,
            cfg.model.decode_head.num_reserved) == (11, 0)
    assert cfg.model.decode_head.loss_decode == dict(
        type='UnbiasedCrossEntropyLoss', num_old_classes=6)
    assert cfg.custom_hooks[0].type == 'FreezeTrunkHook'
    grown = state_dict(arm / 'grown' / 'checkpoint.pth')
    for name, value in last.items():
        if not name.startswith('decode_head.conv_seg.'):
            assert torch.equal(value, grown[name]), name  # trunk frozen
    assert not torch.equal(last['decode_head.conv_seg.projection.weight'],
                           grown['decode_head.conv_seg.projection.weight'])
    fc = Config.fromfile(str(work_dir / 'fc' / 'seed0' / 'new-only' /
                             'config.py'))
    assert fc.model.decode_head.type == 'UPerHead'
    assert fc.model.decode_head.loss_decode.type == 'CrossEntropyLoss'
    assert fc.custom_hooks == []

    text = report.read_text()
    assert '| frozen+unbiased | EBV |' in text and '## What happened' in text
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                           env=checkout_env())
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert 'Loads checkpoint' not in rerun.stdout + rerun.stderr  # reused
    assert json.loads(json_path.read_text()) == records
