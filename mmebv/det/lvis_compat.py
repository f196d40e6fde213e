"""Let PyPI's LVIS API evaluate under NumPy >= 1.24.

The LVIS API on PyPI (``lvis`` 0.5.3, 2020, and OpenMMLab's ``mmlvis``
10.5.3) calls ``np.float`` in ``LVISEval.accumulate``; NumPy 1.24 removed
that alias, so mmdet's ``LVISMetric`` fails after a whole evaluation with
``AttributeError: module 'numpy' has no attribute 'float'``. The maintained
API on GitHub is fixed but not released. :func:`patch_lvis_eval` gives
``lvis.eval`` alone a view of NumPy with ``float`` (the builtin, which the
alias always was); NumPy itself and every other module are untouched.
"""
import importlib
import types

import numpy as np


class _NumpyWithFloatAlias(types.ModuleType):
    """NumPy as ``lvis.eval`` expects it: ``np.float is float``."""

    float = float

    def __getattr__(self, name: str):
        return getattr(np, name)


def patch_lvis_eval() -> bool:
    """Patch ``lvis.eval`` if it is installed and needs it; return whether
    it was patched (idempotent)."""
    if hasattr(np, 'float'):
        return False
    try:
        lvis_eval = importlib.import_module('lvis.eval')
    except ImportError:
        return False
    if isinstance(lvis_eval.np, _NumpyWithFloatAlias):
        return True
    lvis_eval.np = _NumpyWithFloatAlias('numpy')
    return True
