"""SafeCheckpointHook: checkpoints appear whole or not at all, and the older
one is deleted only once the newer one and ``last_checkpoint`` are in place;
a training killed while writing a checkpoint resumes with ``--resume``.
Every shipped config uses the hook."""
import itertools
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.fileio import LocalBackend
from mmengine.registry import HOOKS, DefaultScope
from mmengine.runner import Runner

import mmebv  # noqa: F401  (registers the hook; weights-only resume)
from mmebv.engine import SafeCheckpointHook
from toy_runs import ToyDataset, ToyModel

ROOT = Path(__file__).resolve().parents[2]
#: configs/_base_/ holds variables that transfer configs read, not a run.
CONFIGS = sorted(p for p in (ROOT / 'configs').rglob('*.py')
                 if p.parent != ROOT / 'configs' / '_base_')
#: Runners made in the same second would share a MessageHub (by name).
RUN_IDS = itertools.count()


class ScheduledMetric(BaseMetric):
    """``acc`` is the next of ``scores`` at each evaluation."""

    def __init__(self, scores) -> None:
        super().__init__()
        self.scores = list(scores)

    def process(self, data_batch, data_samples) -> None:
        self.results.append(0)

    def compute_metrics(self, results) -> dict:
        return dict(acc=self.scores.pop(0))


def loader(sampler: str = 'DefaultSampler') -> dict:
    return dict(dataset=ToyDataset(), batch_size=4, num_workers=0,
                sampler=dict(type=sampler, shuffle=False),
                collate_fn=dict(type='default_collate'))


def make_runner(work_dir, checkpoint: dict, resume: bool = False,
                scores=None, **train_cfg) -> Runner:
    """A toy run of 2 iterations an epoch (2 epochs unless ``train_cfg``
    says otherwise); validation when ``scores`` are given."""
    train_cfg = dict(dict(by_epoch=True), **(train_cfg or dict(max_epochs=2)))
    val = {}
    if scores is not None:
        val = dict(val_dataloader=loader(), val_cfg=dict(),
                   val_evaluator=Evaluator([ScheduledMetric(scores)]))
    return Runner(
        model=ToyModel(), work_dir=str(work_dir),
        train_dataloader=loader('DefaultSampler' if train_cfg['by_epoch']
                                else 'InfiniteSampler'),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=train_cfg,
        default_hooks=dict(checkpoint=dict(type='SafeCheckpointHook',
                                           **checkpoint)),
        randomness=dict(seed=0), resume=resume, default_scope='mmengine',
        experiment_name=f'safe_checkpoint_{next(RUN_IDS)}', **val)


def pointer(work_dir) -> str:
    with open(osp.join(str(work_dir), 'last_checkpoint')) as f:
        return f.read()


def names(folder) -> list:
    return sorted(os.listdir(str(folder)))


def leftovers(folder) -> list:
    return [n for n in names(folder) if n.startswith('.tmp-')]


def fail_halfway(monkeypatch, match: str, seen: list) -> None:
    """Make the write of a file whose name contains ``match`` write half of
    its bytes, then fail; ``seen`` gets the files present at that moment."""
    put = LocalBackend.put

    def failing_put(self, obj, filepath):
        if match not in osp.basename(str(filepath)):
            return put(self, obj, filepath)
        seen.extend(names(osp.dirname(str(filepath))))
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
        raise OSError(28, 'No space left on device (injected)')

    monkeypatch.setattr(LocalBackend, 'put', failing_put)


# --- registration and arguments -------------------------------------------

def test_registered_in_mmengine_root_registry():
    assert HOOKS.get('SafeCheckpointHook') is SafeCheckpointHook


@pytest.mark.parametrize('codebase', ['mmpretrain', 'mmdet', 'mmseg'])
def test_found_from_each_codebase_scope(codebase):
    pytest.importorskip(codebase)
    with DefaultScope.overwrite_default_scope(codebase):
        hook = HOOKS.build(dict(type='SafeCheckpointHook', interval=2,
                                max_keep_ckpts=1))
    assert isinstance(hook, SafeCheckpointHook) and hook.atomic
    assert (hook.interval, hook.max_keep_ckpts) == (2, 1)


@pytest.mark.parametrize('kwargs', [
    dict(out_dir='s3://bucket/ckpts'),
    dict(backend_args=dict(backend='local')),
])
def test_remote_storage_falls_back_with_a_warning(kwargs):
    with pytest.warns(UserWarning, match='cannot be renamed atomically'):
        hook = SafeCheckpointHook(interval=1, **kwargs)
    assert not hook.atomic
    assert hook.backend_args == kwargs.get('backend_args')


# --- writes and deletions ---------------------------------------------------

def test_writes_through_a_temporary_file_and_rename(tmp_path, monkeypatch):
    replaced = []
    replace = os.replace

    def spy(src, dst):
        replaced.append((osp.basename(src), osp.basename(dst)))
        return replace(src, dst)

    monkeypatch.setattr(os, 'replace', spy)
    make_runner(tmp_path, dict(interval=1, max_keep_ckpts=1)).train()

    for target in ('epoch_1.pth', 'epoch_2.pth', 'last_checkpoint'):
        temps = [src for src, dst in replaced if dst == target]
        assert temps, f'{target} was not renamed into place'
        for src in temps:
            assert src.startswith('.tmp-') and src.endswith(
                f'.{target}.partial'), src
    # The pointer is renamed into place after the checkpoint it names.
    assert [dst for _, dst in replaced][-2:] == ['epoch_2.pth',
                                                 'last_checkpoint']
    assert 'epoch_1.pth' not in names(tmp_path)  # max_keep_ckpts=1
    assert pointer(tmp_path) == str(tmp_path / 'epoch_2.pth')
    assert not leftovers(tmp_path)
    torch.load(tmp_path / 'epoch_2.pth')


def test_failed_write_keeps_old_checkpoint_and_pointer(tmp_path,
                                                       monkeypatch):
    make_runner(tmp_path, dict(interval=1, max_keep_ckpts=1),
                max_epochs=1).train()
    before = (tmp_path / 'epoch_1.pth').read_bytes()

    seen = []
    fail_halfway(monkeypatch, 'epoch_2.pth', seen)
    runner = make_runner(tmp_path, dict(interval=1, max_keep_ckpts=1),
                         resume=True)
    with pytest.raises(OSError, match='injected'):
        runner.train()

    assert 'epoch_1.pth' in seen  # still there while epoch 2 was written
    assert (tmp_path / 'epoch_1.pth').read_bytes() == before
    assert pointer(tmp_path) == str(tmp_path / 'epoch_1.pth')
    assert 'epoch_2.pth' not in names(tmp_path)
    assert not leftovers(tmp_path)


def test_failed_best_write_keeps_previous_best(tmp_path, monkeypatch):
    hook = dict(interval=1, max_keep_ckpts=1, save_best='acc', rule='greater')
    make_runner(tmp_path, hook, max_epochs=3, scores=[0.1, 0.2, 0.3]).train()
    assert [n for n in names(tmp_path) if n.endswith('.pth')] == [
        'best_acc_epoch_3.pth', 'epoch_3.pth']
    assert not leftovers(tmp_path)

    other = tmp_path / 'other'
    make_runner(other, hook, max_epochs=1, scores=[0.1]).train()
    seen = []
    fail_halfway(monkeypatch, 'best_acc_epoch_2.pth', seen)
    with pytest.raises(OSError, match='injected'):
        make_runner(other, hook, resume=True, scores=[0.2]).train()
    assert 'best_acc_epoch_1.pth' in seen
    torch.load(other / 'best_acc_epoch_1.pth')
    assert 'best_acc_epoch_2.pth' not in names(other)
    assert not leftovers(other)


def test_iterations_out_dir_and_max_keep(tmp_path):
    out = tmp_path / 'out'
    work = tmp_path / 'work'
    make_runner(work, dict(by_epoch=False, interval=3, max_keep_ckpts=2,
                           save_last=True, out_dir=str(out)),
                by_epoch=False, max_iters=8).train()
    assert names(out / 'work') == ['iter_6.pth', 'iter_8.pth']
    assert pointer(work) == str(out / 'work' / 'iter_8.pth')
    assert not leftovers(out / 'work') and not leftovers(work)


def test_leftover_temporary_file_is_ignored_and_removed(tmp_path):
    make_runner(tmp_path, dict(interval=1, max_keep_ckpts=1),
                max_epochs=1).train()
    stale = tmp_path / '.tmp-abc123.epoch_2.pth.partial'
    stale.write_bytes(b'PK\x03\x04 half a checkpoint')
    runner = make_runner(tmp_path, dict(interval=1, max_keep_ckpts=1),
                         resume=True)
    runner.train()
    assert runner.epoch == 2
    assert not stale.exists()
    assert pointer(tmp_path) == str(tmp_path / 'epoch_2.pth')


# --- every shipped config ----------------------------------------------------

@pytest.mark.parametrize('path', CONFIGS,
                         ids=[str(p.relative_to(ROOT)) for p in CONFIGS])
def test_every_config_uses_the_safe_hook(path):
    cfg = Config.fromfile(str(path))
    assert 'mmebv' in cfg.custom_imports.imports
    checkpoint = cfg.default_hooks.checkpoint
    assert checkpoint.type == 'SafeCheckpointHook'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        hook = HOOKS.build(checkpoint.to_dict())
    assert isinstance(hook, SafeCheckpointHook) and hook.atomic


def test_no_shipped_code_names_the_plain_hook():
    plain = re.compile(r"""['"]CheckpointHook['"]""")
    found = []
    for folder in ('configs', 'benchmarks', 'tools', 'mmebv'):
        for path in (ROOT / folder).rglob('*.py'):
            if plain.search(path.read_text()):
                found.append(str(path.relative_to(ROOT)))
    assert not found


# --- a training killed while writing a checkpoint ---------------------------

#: Runs a script (argv[1:]) whose local file write of a name containing
#: $KILL_AT writes half of the bytes and SIGKILLs the process.
KILL_DRIVER = '''
import os, runpy, signal, sys
from mmengine.fileio import LocalBackend

put = LocalBackend.put


def put_and_die(self, obj, filepath):
    if os.environ['KILL_AT'] not in os.path.basename(str(filepath)):
        return put(self, obj, filepath)
    with open(filepath, 'wb') as f:
        f.write(obj[:len(obj) // 2])
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


LocalBackend.put = put_and_die
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''

#: The recipes' checkpointing (best and last, max_keep_ckpts=1) on a tiny
#: CIFAR-style classifier and image folder: 3 epochs of 2 iterations.
TINY_CONFIG = '''
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=18, base_channels=8,
                  stem_channels=8),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=2, in_channels=64),
    data_preprocessor=dict(num_classes=2, mean=[127.5] * 3, std=[64.0] * 3))
pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='{data}',
                 data_prefix='train', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='CustomDataset', data_root='{data}',
                 data_prefix='val', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
val_cfg = dict()
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(type='SafeCheckpointHook', interval=1,
                    save_best='accuracy/top1', rule='greater',
                    max_keep_ckpts=1))
'''


def run(args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
        text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **env))


@pytest.mark.slow
def test_killed_while_writing_resumes(tmp_path):
    from data_factory import write_image_folder
    data = tmp_path / 'data'
    write_image_folder(str(data), num_classes=2, images_per_class=4, size=16)
    config = tmp_path / 'tiny.py'
    config.write_text(TINY_CONFIG.format(data=data))
    driver = tmp_path / 'kill_driver.py'
    driver.write_text(textwrap.dedent(KILL_DRIVER))
    work = tmp_path / 'work'

    killed = run([driver, 'tools/train.py', config, '--work-dir', work],
                 KILL_AT='epoch_2.pth')
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    half = [n for n in names(work) if 'epoch_2.pth' in n
            and not n.startswith('best_')]
    assert half and os.path.getsize(work / half[0]) > 0  # died mid-write

    resumed = run(['tools/train.py', config, '--work-dir', work, '--resume'])
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert 'resumed epoch: 1' in log
    assert re.search(r'Epoch\(train\)\s*\[2\]', log)
    assert re.search(r'Epoch\(train\)\s*\[3\]', log)
    assert not re.search(r'Epoch\(train\)\s*\[1\]', log)
    assert pointer(work) == str(work / 'epoch_3.pth')
    assert not leftovers(work)
    checkpoints = [n for n in names(work) if n.endswith('.pth')]
    assert [n for n in checkpoints if not n.startswith('best_')] == [
        'epoch_3.pth']
    assert len([n for n in checkpoints if n.startswith('best_')]) == 1
    checkpoint = torch.load(work / 'epoch_3.pth', map_location='cpu')
    assert checkpoint['meta']['epoch'] == 3
    assert 'backbone.conv1.weight' in checkpoint['state_dict']
