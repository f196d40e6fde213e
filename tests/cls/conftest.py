"""Fixtures of the mmpretrain-side tests."""
import pytest


@pytest.fixture(scope='session')
def ebv_dir(tmp_path_factory):
    """A session-wide folder of EBV files, reused across tests."""
    return tmp_path_factory.mktemp('ebvs')


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Register mmebv's modules and build in the mmpretrain scope."""
    import mmebv.cls  # noqa: F401
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield
