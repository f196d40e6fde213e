"""Every rank of a distributed run holds rank 0's EBVs.

Two gloo processes whose machines generate different sets (rank 1 finds
another set in its EBV cache, as a CPU with other rounding would produce)
build an EBV classifier and wrap it as mmengine's Runner does
(``broadcast_buffers=False``, under which DDP does not sync buffers at init
on torch 2.13).
"""
import json
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

from tests_conftest import checkout_env

WORKER = textwrap.dedent('''
    import json, os
    import torch
    import torch.distributed as dist
    from torch import nn
    dist.init_process_group('gloo')
    rank = dist.get_rank()
    from mmebv.core import EBVClassifier, save_ebvs
    from mmebv.core.cache import cache_path
    from mmebv.engine.dist import CPUDistributedDataParallel
    N, D = 9, 4
    if rank == 1:
        g = torch.Generator().manual_seed(123)
        other = torch.nn.functional.normalize(
            torch.randn(N, D, generator=g), dim=1)
        save_ebvs(str(cache_path(N, D, 'auto', None, 0)), other)
    model = nn.Module()
    model.projection = nn.Linear(3, D)
    model.ebv = EBVClassifier(N, D)
    built = model.ebv.ebvs.clone()
    wrapped = CPUDistributedDataParallel(model, broadcast_buffers=False)
    held = [torch.empty_like(built) for _ in range(2)]
    dist.all_gather(held, wrapped.module.ebv.ebvs)
    prints = [torch.empty(32, dtype=torch.uint8) for _ in range(2)]
    dist.all_gather(prints, wrapped.module.ebv.ebv_fingerprint)
    print(json.dumps(dict(
        rank=rank,
        equal=bool(torch.equal(held[0], held[1])),
        fingerprints_equal=bool(torch.equal(prints[0], prints[1])),
        cache_differs=(rank == 0 or not torch.equal(other, built)))))
    dist.destroy_process_group()
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU (gloo) run')
def test_ranks_hold_rank_zeros_ebvs(tmp_path):
    script = tmp_path / 'worker.py'
    script.write_text(WORKER)
    port = str(free_port())
    procs = []
    for rank in range(2):
        env = checkout_env(RANK=str(rank), WORLD_SIZE='2',
                           MASTER_ADDR='127.0.0.1', MASTER_PORT=port,
                           MMEBV_CACHE=str(tmp_path / f'cache{rank}'),
                           OMP_NUM_THREADS='1')
        procs.append(subprocess.Popen(
            [sys.executable, str(script)], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert all(r['cache_differs'] for r in results), results
    assert all(r['equal'] and r['fingerprints_equal'] for r in results), \
        results
