"""`custom_imports=dict(imports=['mmebv'])` makes mmebv modules buildable."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mmebv.utils import CODEBASE_REQUIREMENTS
from tests_conftest import checkout_env

REPO = Path(__file__).resolve().parents[2]

USER_CONFIGS = {
    'mmpretrain': """
        custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
        default_scope = 'mmpretrain'
        model = dict(type='EBVClsHead', num_classes=10, in_channels=32,
                     ebv_dim=16)
        """,
    'mmdet': """
        custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
        default_scope = 'mmdet'
        model = dict(type='EBVShared2FCBBoxHead', num_classes=5,
                     in_channels=8, fc_out_channels=32, roi_feat_size=7)
        """,
    'mmseg': """
        custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
        default_scope = 'mmseg'
        model = dict(type='EBVUPerHead', in_channels=[8, 16, 32, 64],
                     in_index=[0, 1, 2, 3], channels=16, num_classes=7)
        """,
}

BUILD = """
import sys
from mmengine.config import Config
from mmengine.registry import init_default_scope
cfg = Config.fromfile(sys.argv[1])
init_default_scope(cfg.default_scope)
registry = __import__(cfg.default_scope + '.registry', fromlist=['MODELS'])
print(type(registry.MODELS.build(cfg.model)).__name__)
"""


@pytest.mark.parametrize('codebase', sorted(USER_CONFIGS))
def test_user_config_outside_repo_builds_mmebv_module(codebase, tmp_path):
    config = tmp_path / f'{codebase}_user.py'
    config.write_text(textwrap.dedent(USER_CONFIGS[codebase]))
    result = subprocess.run(
        [sys.executable, '-c', BUILD, str(config)], cwd=tmp_path,
        capture_output=True, text=True, timeout=300, env=checkout_env())
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1].startswith('EBV')


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=checkout_env())


def test_import_is_lazy_about_upstream_models(tmp_path):
    result = run_python(
        """
        import sys
        import mmebv
        heavy = [m for m in ('mmdet.models', 'mmseg.models',
                             'mmpretrain.models', 'mmebv.cls', 'mmebv.det',
                             'mmebv.seg') if m in sys.modules]
        print('loaded:', heavy, mmebv.__version__)
        """, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'loaded: []' in result.stdout


def test_import_works_without_mmdet_and_mmseg(tmp_path):
    result = run_python(
        """
        import sys
        sys.modules['mmdet'] = None  # as if not installed
        sys.modules['mmseg'] = None
        import mmebv
        from mmpretrain.registry import MODELS
        head = MODELS.build(dict(type='EBVClsHead', num_classes=4,
                                 in_channels=8, ebv_dim=4))
        print('built', type(head).__name__)
        import mmebv.det
        """, tmp_path)
    assert 'built EBVClsHead' in result.stdout, result.stderr[-3000:]
    assert result.returncode != 0
    assert 'mmebv.det extends mmdet, which is not installed' in result.stderr
    assert CODEBASE_REQUIREMENTS['mmdet'] in result.stderr


def test_codebase_requirements_match_requirements_file():
    lines = (REPO / 'requirements' / 'mminstall.txt').read_text().split()
    for requirement in CODEBASE_REQUIREMENTS.values():
        assert requirement in lines
