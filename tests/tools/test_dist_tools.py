"""tools/dist_train.sh and tools/dist_test.sh on CPU (gloo): 2 processes on
one node, and 2 nodes simulated on loopback; mim train/test."""
import socket
import subprocess
from pathlib import Path

import pytest

from dense_helpers import (PYTHON, REPO, run, tiny_mask_rcnn_config,
                           tiny_seg_config)
from tests_conftest import checkout_env

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def dist_env(**extra) -> dict:
    return dict(PYTHON=PYTHON, PORT=str(free_port()), **extra)


@pytest.fixture(scope='module')
def seg_config(tmp_path_factory, ade_root, ebv_backbone):
    folder = tmp_path_factory.mktemp('dist')
    return tiny_seg_config(folder / 'seg.py', ade_root,
                           ebv_backbone('resnet18'))


def test_dist_train_and_test_two_processes(tmp_path, seg_config):
    work = tmp_path / 'work'
    out = run(['bash', 'tools/dist_train.sh', str(seg_config), '2',
               '--work-dir', str(work)], env=dist_env()).stdout
    assert 'No CUDA: distributed run on CPU with gloo (rank 0 of 2)' in out
    assert 'Distributed training: True' in out
    assert 'mIoU' in out
    checkpoint = work / 'iter_4.pth'
    assert checkpoint.is_file()
    tested = run(['bash', 'tools/dist_test.sh', str(seg_config),
                  str(checkpoint), '2', '--work-dir', str(tmp_path / 'test')],
                 env=dist_env()).stdout
    assert 'rank 0 of 2' in tested and 'mIoU' in tested


def test_dist_train_two_nodes_on_loopback(tmp_path, seg_config):
    env = checkout_env(REPO, OMP_NUM_THREADS='1',
                       **dist_env(NNODES='2', MASTER_ADDR='127.0.0.1'))
    procs = []
    for node_rank in (0, 1):
        log = open(tmp_path / f'node{node_rank}.log', 'w')
        procs.append((subprocess.Popen(
            ['bash', 'tools/dist_train.sh', str(seg_config), '1',
             '--work-dir', str(tmp_path / 'work')],
            cwd=str(REPO), env=dict(env, NODE_RANK=str(node_rank)),
            stdout=log, stderr=subprocess.STDOUT), log))
    codes = []
    for proc, log in procs:
        try:
            codes.append(proc.wait(timeout=900))
        finally:
            log.close()
    logs = [(tmp_path / f'node{r}.log').read_text() for r in (0, 1)]
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    assert 'rank 0 of 2' in logs[0]
    assert (tmp_path / 'work' / 'iter_4.pth').is_file()


def test_mim_train_and_test_swin_upernet(tmp_path, ade_root, ebv_backbone):
    """mim runs mmseg's own tools/train.py; custom_imports registers ours."""
    config = tiny_seg_config(tmp_path / 'swin.py', ade_root,
                             ebv_backbone('swin-t'),
                             'upernet_swin_t_ebv_ade20k.py', depth=None)
    mim = str(Path(PYTHON).parent / 'mim')
    work = tmp_path / 'work'
    out = run([mim, 'train', 'mmseg', str(config), '--gpus', '0',
               '--work-dir', str(work)]).stdout
    assert 'mmseg/.mim/tools/train.py' in out
    assert 'PretrainedCheckHook: backbone holds' in out
    assert 'mIoU' in out
    tested = run([mim, 'test', 'mmseg', str(config), '--gpus', '0',
                  '--checkpoint', str(work / 'iter_4.pth'), '--work-dir',
                  str(tmp_path / 'test')]).stdout
    assert 'mIoU' in tested


def test_mim_train_mask_rcnn(tmp_path, coco_root, ebv_backbone):
    config = tiny_mask_rcnn_config(tmp_path / 'mask_rcnn.py', coco_root,
                                   ebv_backbone('resnet18'))
    mim = str(Path(PYTHON).parent / 'mim')
    out = run([mim, 'train', 'mmdet', str(config), '--gpus', '0',
               '--work-dir', str(tmp_path / 'work')]).stdout
    assert 'mmdet/.mim/tools/train.py' in out
    assert 'PretrainedCheckHook: backbone holds 100.00%' in out
    assert 'coco/segm_mAP' in out
