"""mmebv.engine.dist: the CPU (gloo) distributed set-up used by the tools."""
import subprocess
import sys

import pytest
import torch
import torch.distributed as torch_dist
from mmengine.config import Config

from mmebv.engine.dist import setup_cpu_distributed

from dense_helpers import REPO
from tests_conftest import checkout_env

needs_cpu_only = pytest.mark.skipif(torch.cuda.is_available(),
                                    reason='the CPU path is for no-CUDA runs')


def test_no_launcher_is_a_no_op():
    cfg = Config(dict(model=dict()))
    assert not setup_cpu_distributed(cfg, 'none')
    assert 'model_wrapper_cfg' not in cfg
    assert not torch_dist.is_initialized()


@needs_cpu_only
def test_unsupported_setups_are_rejected():
    with pytest.raises(ValueError, match='--launcher pytorch'):
        setup_cpu_distributed(Config(), 'slurm')
    cfg = Config(
        dict(model_wrapper_cfg=dict(type='MMFullyShardedDataParallel')))
    with pytest.raises(ValueError, match='cannot run on CPU'):
        setup_cpu_distributed(cfg, 'pytorch')
    assert not torch_dist.is_initialized()


#: One gloo rank, run in its own process: torch can deadlock when a DDP
#: model's reducer frees the last reference to a gloo group while a gloo
#: thread waits for the GIL (seen once in a full pytest run), so the child
#: asserts, prints OK and leaves without running those destructors.
GLOO_RANK = """
import os
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

from mmebv.engine.dist import (CPUDistributedDataParallel,
                               setup_cpu_distributed)

cfg = Config(dict(find_unused_parameters=True,
                  model_wrapper_cfg=dict(broadcast_buffers=True)))
assert setup_cpu_distributed(cfg, 'pytorch')
assert torch_dist.get_backend() == 'gloo'
assert cfg.model_wrapper_cfg == dict(
    type='CPUDistributedDataParallel', broadcast_buffers=True,
    find_unused_parameters=True)
model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.SyncBatchNorm(4))
# What Runner.wrap_model does for DDP types: device_ids=[LOCAL_RANK].
wrapped = MODEL_WRAPPERS.build(
    dict(cfg.model_wrapper_cfg),
    default_args=dict(module=model, device_ids=[0]))
assert isinstance(wrapped, CPUDistributedDataParallel)
assert wrapped.device_ids is None
assert not any(isinstance(m, nn.SyncBatchNorm)
               for m in wrapped.module.modules())
wrapped(torch.randn(2, 3, 4, 4)).sum().backward()
assert wrapped.module[0].weight.grad is not None
print('OK', flush=True)
os._exit(0)
"""


@needs_cpu_only
def test_gloo_group_and_cpu_wrapper():
    env = checkout_env(REPO, RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                       MASTER_ADDR='127.0.0.1', MASTER_PORT='0',
                       TORCHELASTIC_USE_AGENT_STORE='False')
    done = subprocess.run([sys.executable, '-c', GLOO_RANK], cwd=REPO,
                          env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and 'OK' in done.stdout, (
        done.stdout[-3000:] + done.stderr[-3000:])


def test_shell_scripts_are_executable():
    for name in ('dist_train.sh', 'dist_test.sh'):
        path = REPO / 'tools' / name
        assert path.stat().st_mode & 0o111, name
