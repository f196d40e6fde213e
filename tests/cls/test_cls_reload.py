"""EBVClsHead checkpoints load on another thread count; half-precision heads.

The reproduction of the reload defect: a head without ``ebv_file`` saved by
a process with one thread and loaded by one with two (what
``tools/dist_train.sh`` then ``python tools/test.py`` do). The two processes
use separate EBV caches, so each really generates its set.
"""
import subprocess
import sys
import textwrap

import pytest
import torch

from mmebv.cls import EBVClsHead
from tests_conftest import checkout_env

SCRIPT = textwrap.dedent('''
    import sys
    import torch
    threads, mode, path, n, d = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    from mmengine.runner import load_checkpoint
    from mmebv.cls import EBVClsHead
    head = EBVClsHead(num_classes=int(n), in_channels=8, ebv_dim=int(d))
    if mode == 'save':
        torch.save({'state_dict': head.state_dict()}, path)
    else:
        generated = head.ebv.ebvs.clone()
        load_checkpoint(head, path, map_location='cpu', strict=True)
        saved = torch.load(path)['state_dict']['ebv.ebvs']
        assert torch.equal(head.ebv.ebvs, saved)
        diff = float((generated - saved).abs().max())
        print(f'generated here differs from the checkpoint by {diff:.3g}')
''')


@pytest.mark.slow
@pytest.mark.parametrize('n,d', [
    (1000, 2000),  # orthonormal rows by QR: bytes depend on the threads
    (330, 92),  # the optimiser: differences grow over its steps
])
def test_checkpoint_loads_with_another_thread_count(tmp_path, n, d):
    script = tmp_path / 'run.py'
    script.write_text(SCRIPT)
    ckpt = tmp_path / 'head.pth'
    outputs = []
    for threads, mode in ((1, 'save'), (2, 'load')):
        env = checkout_env(MMEBV_CACHE=str(tmp_path / f'cache{threads}'))
        result = subprocess.run(
            [sys.executable, str(script), str(threads), mode, str(ckpt),
             str(n), str(d)], capture_output=True, text=True, env=env,
            timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        outputs.append(result.stdout)
    print(outputs[1])  # how far apart the two machines' sets were


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_head_cast_to_half_precision_runs(dtype):
    head = EBVClsHead(num_classes=10, in_channels=8, ebv_dim=16)
    feats = (torch.randn(4, 8), )
    expected = head(feats)
    head.to(dtype)
    assert head.projection.weight.dtype == dtype
    assert head.ebv.ebvs.dtype == torch.float32
    got = head((feats[0].to(dtype), ))
    assert got.dtype == torch.float32
    # projection in half precision: cosines within ~1e-2, logits / tau
    torch.testing.assert_close(got, expected, atol=0.05 / head.ebv.tau,
                               rtol=0.0)
