"""benchmarks/class_addition.py --quick end to end: every cell (protocol x
head x arm) trains through mmengine Runners over written configs, grows with
the add_classes surgery, is evaluated and recorded; a rerun reuses the
cells, and a work dir of another schedule is refused."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from tests_conftest import checkout_env

REPO = Path(__file__).resolve().parents[2]


def state_dict(path: Path) -> dict:
    """The weights of a checkpoint this test's runs wrote."""
    return torch.load(path, map_location='cpu',
                      weights_only=False)['state_dict']


ARMS = {'new-only', 'replay', 'replay+herding', 'frozen+replay',
        'replay+ace', 'replay+lwf'}


@pytest.mark.slow
def test_quick_class_addition_end_to_end(tmp_path):
    work_dir, report = tmp_path / 'work', tmp_path / 'report' / 'ca.md'
    cmd = [sys.executable, 'benchmarks/class_addition.py', '--quick',
           '--work-dir', str(work_dir), '--report', str(report)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env=checkout_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = json.loads((report.parent / 'class_addition.json').read_text())
    assert len(records) == 2 * 2 * 6  # protocols x heads x arms, one seed
    assert {r['protocol'] for r in records} == {'0-4 then 5-9',
                                                '5 tasks of 2'}
    for r in records:
        assert r['task'] == 'cls' and r['head'] in ('ebv', 'fc')
        assert r['arm'] in ARMS and r['seed'] == 0
        for key in ('old', 'new', 'all'):
            assert 0 <= r[key] <= 100
        assert ('fc_norm_new' in r) == (r['head'] == 'fc')

    # The 5-task EBV run: reserved vectors activated step by step, the
    # set never changed; the frozen arm trained the head alone.
    ebv = (work_dir / '5_tasks_of_2' / 'ebv' / 'seed0' / 'frozen_replay' /
           'lr0.001')
    base = work_dir / '5_tasks_of_2' / 'ebv' / 'seed0' / 'base'
    first = state_dict(base / 'iter_3.pth')
    last = state_dict(ebv / 'step4' / 'iter_2.pth')
    key = 'head.ebv.ebvs'
    assert torch.equal(first[key], last[key])
    cfg = Config.fromfile(str(ebv / 'step4' / 'config.py'))
    assert cfg.model.head.num_classes == 10
    assert cfg.model.head.num_reserved == 0
    assert cfg.model.head.loss.type == 'DotRegressionLoss'
    assert cfg.custom_hooks[0].type == 'FreezeTrunkHook'
    grown = state_dict(ebv / 'step4' / 'grown' / 'checkpoint.pth')
    for name, value in last.items():
        if name.startswith('backbone.'):
            assert torch.equal(value, grown[name]), name  # trunk frozen

    # The step's config is a plain config: tools/train.py runs it as is.
    env = checkout_env(PYTHONPATH=str(REPO / 'projects' / 'digits'))
    rerun_dir = tmp_path / 'train_py'
    train = subprocess.run(
        [sys.executable, 'tools/train.py', str(ebv / 'step4' / 'config.py'),
         '--work-dir', str(rerun_dir)], cwd=REPO, capture_output=True,
        text=True, env=env)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    again = state_dict(rerun_dir / 'iter_2.pth')
    for name, value in again.items():
        if name.startswith('backbone.') or name == key:
            assert torch.equal(value, grown[name]), name
    assert not torch.equal(again['head.projection.weight'],
                           grown['head.projection.weight'])

    lwf = Config.fromfile(str(
        work_dir / '0-4_then_5-9' / 'fc' / 'seed0' / 'replay_lwf' /
        'lr0.001' / 'step1' / 'config.py'))
    assert (lwf.model.type, lwf.model.num_old_classes) == ('LwFClassifier', 5)
    assert lwf.model.teacher_checkpoint == lwf.load_from

    text = report.read_text()
    assert text.count('| replay | EBV |') == 2  # both protocols
    assert 'Calibration gate' in text
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                           env=checkout_env())
    assert rerun.returncode == 0
    assert 'Loads checkpoint' not in rerun.stdout + rerun.stderr  # reused
    other = subprocess.run(
        [sys.executable, 'benchmarks/class_addition.py', '--work-dir',
         str(work_dir), '--seeds', '1'], cwd=REPO, capture_output=True,
        text=True, env=checkout_env())
    assert other.returncode != 0  # cells of another schedule: refused
    assert 'use another --work-dir' in other.stderr
