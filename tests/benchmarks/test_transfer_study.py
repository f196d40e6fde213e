"""benchmarks/transfer_study.py --quick end to end: every cell of the grid is
trained and tested, the report holds every number, a rerun reuses it all."""
import json
import math
import os
import re
import subprocess
import sys

import pytest
from PIL import Image

from tests_conftest import checkout_env

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, 'benchmarks'))

from transfer_study import CELLS, parse_args  # noqa: E402


def _run(work_dir, *extra):
    return subprocess.run(
        [sys.executable, 'benchmarks/transfer_study.py', '--quick',
         '--work-dir', str(work_dir), *extra],
        cwd=REPO, capture_output=True, text=True, env=checkout_env())


def test_parse_args_presets_and_errors():
    default, quick = parse_args([]), parse_args(['--quick'])
    assert default.seeds >= 3 and quick.seeds == 1
    assert quick.det_iters < default.det_iters
    assert parse_args(['--quick', '--seeds', '2']).seeds == 2
    assert default.small_ebv_dim < 10  # N > d: the method's regime
    for bad in (['--seeds', '0'], ['--jobs', '0'], ['--ebv-dim', '1']):
        with pytest.raises(SystemExit):
            parse_args(bad)


@pytest.mark.slow
def test_quick_study_end_to_end(tmp_path):
    work_dir = tmp_path / 'study'
    report = tmp_path / 'docs' / 'transfer_study.md'
    report.parent.mkdir()
    done = _run(work_dir, '--report', str(report))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]

    with open(work_dir / 'results.json') as f:
        stages = json.load(f)['stages']
    for head in ('fc', 'ebv', 'ebv-d8'):
        pretrain = stages[f'pretrain_{head}_seed0']
        assert 0 <= pretrain['top1'] <= 100
        assert os.path.isfile(pretrain['backbone'])
    assert stages['ebvs']['8']['dim'] < stages['ebvs']['8']['num_vectors']
    assert stages['ebvs']['16']['max_abs_cos'] < 1e-5  # orthonormal
    for task, metrics in (('det', ('box AP', 'mask AP')), ('seg', ('mIoU',))):
        for backbone, heads in CELLS:
            cell = stages[f'{task}_{backbone.lower()}-backbone_'
                          f'{heads.lower()}-heads_seed0']
            assert set(cell['scores']) == set(metrics)
            for value in cell['scores'].values():
                assert math.isfinite(value) and 0 <= value <= 100
            assert cell['loss'] and all(math.isfinite(v)
                                        for _, v in cell['loss'])
            # each cell trained from its own backbone, with its own heads
            with open(cell['config']) as f:
                config = f.read()
            assert f'backbones/{backbone.lower()}_seed0.pth' in config
            assert ('EBV' in config) == (heads == 'EBV')
    if stages['seg_fc-backbone_fc-heads_seed0']['raw_metrics']:
        assert 'mIoU' in stages['seg_fc-backbone_fc-heads_seed0'][
            'raw_metrics']

    text = report.read_text()
    assert not re.search(r'\bnan\b', text.lower())
    for needle in ('| box AP | FC/FC |', '| mask AP | EBV/EBV |',
                   '| mIoU | EBV/FC |', 'EBV heads - FC heads',
                   '--quick'):
        assert needle in text
    for name in ('bars', 'curves', 'predictions'):
        with Image.open(report.parent / f'transfer_study_{name}.png') as im:
            assert im.size[0] > 300

    again = _run(work_dir)
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'tools/train.py' not in again.stdout
    assert again.stdout.count('done before, reusing') == 2 + 3 + 8

    other = _run(work_dir, '--det-iters', '7')
    assert other.returncode != 0 and 'other settings' in other.stderr
