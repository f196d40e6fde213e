"""The documentation site builds with warnings as errors, as `make docs`
does: a broken cross-reference, a page missing from the table of contents or
a docstring that does not render fails here."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests_conftest import checkout_env

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / 'docs' / 'en'


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec('sphinx') is None,
                    reason='sphinx is not installed: pip install -r '
                    'requirements/docs.txt to build and test the docs')
def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / 'html'
    result = subprocess.run(
        [sys.executable, '-m', 'sphinx', '-E', '-W', '--keep-going', '-q',
         '-b', 'html', '-d', str(tmp_path / 'doctrees'), str(DOCS), str(out)],
        cwd=REPO, env=checkout_env(), capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, (
        f'sphinx-build -W failed (exit {result.returncode}):\n'
        f'{result.stdout[-3000:]}\n{result.stderr[-6000:]}')
    assert 'WARNING' not in result.stderr, result.stderr[-6000:]
    for page in ('index', 'get_started', 'model_zoo', 'api', 'benchmarks',
                 'notes/faq', 'notes/changelog'):
        assert (out / f'{page}.html').is_file(), page
    api = (out / 'api.html').read_text()
    for name in ('mmebv.core.generate.generate_ebvs',
                 'mmebv.core.classifier.EBVClassifier',
                 'mmebv.cls.ebv_cls_head.EBVClsHead',
                 'mmebv.engine.safe_checkpoint.SafeCheckpointHook',
                 'mmebv.engine.add_classes.add_classes'):
        assert f'id="{name}"' in api, f'{name} is not documented'
