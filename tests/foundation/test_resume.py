"""Resume from real mmengine checkpoints on torch>=2.6, weights-only kept on."""
import pickle
import subprocess
import sys

import pytest
import torch
from mmengine.runner import Runner

import mmebv  # noqa: F401  (installs the allow-list)
from tests_conftest import checkout_env
from toy_runs import ToyDataset, ToyModel


def make_runner(work_dir, max_epochs: int, resume: bool) -> Runner:
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(16),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='CosineAnnealingLR', T_max=4, by_epoch=True),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        resume=resume,
        default_scope='mmengine')


def test_resume_restores_epoch_optimizer_and_message_hub(tmp_path):
    first = make_runner(tmp_path, max_epochs=2, resume=False)
    first.train()
    weights = {k: v.clone() for k, v in first.model.state_dict().items()}

    second = make_runner(tmp_path, max_epochs=3, resume=True)
    second.load_or_resume()
    assert second.epoch == 2 and second.iter == 8
    for key, value in second.model.state_dict().items():
        assert torch.equal(value, weights[key]), key
    assert second.optim_wrapper.optimizer.state_dict()['state'], \
        'momentum buffers were not restored'
    assert len(second.message_hub.get_scalar('train/loss').data[0]) > 0
    second.train()
    assert second.epoch == 3


def test_weights_only_loading_still_refuses_other_objects(tmp_path):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        torch.save({'payload': pickle.PickleError('not allow-listed')}, f)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_getattr_is_allowed_only_for_history_buffer_methods(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'method': getattr(torch.Tensor, 'add_')}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_checkpoint_loads_in_a_fresh_process(tmp_path):
    # tools/test.py loads checkpoints before any HistoryBuffer exists.
    make_runner(tmp_path, max_epochs=1, resume=False).train()
    code = ('import sys, torch, mmebv; '
            'ckpt = torch.load(sys.argv[1]); print(sorted(ckpt))')
    result = subprocess.run(
        [sys.executable, '-c', code, str(tmp_path / 'epoch_1.pth')],
        capture_output=True, text=True, timeout=300, env=checkout_env())
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'message_hub' in result.stdout
