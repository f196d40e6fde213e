"""The EBV engine needs PyTorch, NumPy and safetensors, not OpenMMLab."""
import subprocess
import sys
import textwrap

import pytest

from tests_conftest import REPO, checkout_env

#: Run first in the child: its import system refuses the OpenMMLab packages,
#: as on a machine where they are not installed.
REFUSE_OPENMMLAB = """
import importlib.abc
import sys

class RefuseOpenMMLab(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('mmengine', 'mmcv', 'mmdet', 'mmseg',
                                  'mmpretrain'):
            raise ModuleNotFoundError(f'No module named {name!r}')

sys.meta_path.insert(0, RefuseOpenMMLab())
"""


def run_without_openmmlab(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-c', REFUSE_OPENMMLAB + textwrap.dedent(code)],
        cwd=REPO, env=checkout_env(), capture_output=True, text=True,
        timeout=300)


@pytest.mark.slow
def test_core_imports_and_generates_without_openmmlab(tmp_path):
    out = tmp_path / 'ebvs.safetensors'
    result = run_without_openmmlab(f"""
        import runpy
        import mmebv.core
        assert not any(m.split('.')[0] in ('mmengine', 'mmcv', 'mmdet',
                                           'mmseg', 'mmpretrain')
                       for m in sys.modules)
        head = mmebv.core.EBVClassifier(10, 5)
        print('classifier', tuple(head.ebvs.shape))
        sys.argv = ['generate_ebvs.py', '--num-classes', '12', '--dim', '5',
                    '--no-progress', '--out', {str(out)!r}]
        runpy.run_path('tools/generate_ebvs.py', run_name='__main__')
        """)
    assert 'classifier (10, 5)' in result.stdout, result.stderr[-3000:]
    assert f'saved {out}' in result.stdout, result.stderr[-3000:]
    assert mmebv_core_loads(out)


def mmebv_core_loads(path) -> bool:
    from mmebv.core import load_ebvs
    return load_ebvs(str(path), 12, 5)[0].shape == (12, 5)
