"""tools/run_demo.py end to end with the smallest settings."""
import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from digits_lab.logs import read_scalars, scalar_curve
from tests_conftest import checkout_env

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SMALLEST = ['--epochs', '1', '--det-iters', '2', '--seg-iters', '2',
            '--imbalance-ratio', '10']


def _run_demo(work_dir, *extra):
    return subprocess.run(
        [sys.executable, 'tools/run_demo.py', '--work-dir', str(work_dir),
         *SMALLEST, *extra],
        cwd=REPO, capture_output=True, text=True, env=checkout_env())


@pytest.mark.slow
def test_demo_smallest_settings(tmp_path):
    work_dir = tmp_path / 'demo'
    done = _run_demo(work_dir)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]

    with open(work_dir / 'results.json') as f:
        results = json.load(f)
    stages = results['stages']
    assert results['settings']['epochs'] == 1
    scores = stages['evaluation']['scores']
    for head in ('FC', 'EBV'):
        assert 0 <= scores[head]['top1'] <= 100
        assert 0 <= scores[head]['tail_top1'] <= 100
        assert len(scores[head]['per_class_top1']) == 10
    for head in ('FC', 'EBV'):  # the same number as the Runner's last val
        records = read_scalars(str(work_dir / f'cls_{head.lower()}'))
        last_val = scalar_curve(records, 'accuracy/top1')[-1][1]
        assert scores[head]['top1'] == pytest.approx(last_val, abs=1e-3)
    assert stages['ebvs']['num_vectors'] == 10
    assert stages['ebvs']['max_abs_cos'] >= stages['ebvs']['bound'] - 1e-6
    for task in ('det', 'seg'):
        check = stages[task]['backbone_check']
        assert check['matched'] == check['total'] > 0
        assert stages[task]['last_loss'] is not None
    # tested on the held-out val scenes by tools/test.py
    for task, keys in (('det', ('coco/bbox_mAP', 'coco/segm_mAP')),
                       ('seg', ('mIoU', 'aAcc', 'mAcc'))):
        assert (work_dir / f'{task}_ebv' / 'test').is_dir()
        for key in keys:
            assert 0 <= stages[task]['metrics'][key] <= 100
    with open(work_dir / 'data' / 'scenes' / 'meta.json') as f:
        assert json.load(f)['images'] == {'train': 300, 'val': 50}
    table = (work_dir / 'results.md').read_text()
    assert '| EBV |' in table and '| FC |' in table
    assert '| box AP | mask AP | mIoU (%) |' in table
    assert 'nan' not in table.split()
    for name in ('training_curves', 'transfer_curves', 'ebv_angles', 'cka',
                 'predictions'):
        with Image.open(work_dir / 'analysis' / f'{name}.png') as image:
            assert image.size[0] > 300
    with open(work_dir / 'analysis' / 'cka.json') as f:
        assert set(json.load(f)['cka']) == {'FC', 'EBV', 'FC vs EBV'}

    again = _run_demo(work_dir)
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count('done before, reusing') == 9
    assert 'tools/train.py' not in again.stdout

    other = _run_demo(work_dir, '--ebv-dim', '10')
    assert other.returncode != 0
    assert 'other settings' in other.stderr

    # A training stage cut short after its checkpoint: the rerun resumes it
    (work_dir / 'stages' / 'cls_fc.json').unlink()
    resumed = _run_demo(work_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'Auto resumed from the latest checkpoint' in (resumed.stdout +
                                                         resumed.stderr)
    assert (work_dir / 'stages' / 'cls_fc.json').is_file()
