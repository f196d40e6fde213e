"""Let mmengine checkpoints load under torch>=2.6's weights-only ``torch.load``.

mmengine 0.10.7 calls ``torch.load`` without ``weights_only``; since torch 2.6
that means weights-only unpickling, which refuses the few non-tensor objects an
mmengine checkpoint holds: the message hub's ``HistoryBuffer`` (with references
to its statistics methods, pickled as ``getattr(HistoryBuffer, 'mean')``) and
the NumPy arrays and scalars inside it. So ``--resume`` and ``load_from`` fail.
Instead of turning weights-only loading off, exactly those objects are
allow-listed; ``getattr`` is allowed only for those methods.
"""
import pickle
from typing import Callable

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

#: HistoryBuffer's built-in statistics; ``HistoryBuffer._statistics_methods``
#: holds them only once a buffer exists, plus any registered by users.
_BUILTIN_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_getattr(owner: object, name: str) -> Callable:
    """Stands in for ``builtins.getattr`` in weights-only unpickling."""
    allowed = _BUILTIN_STATISTICS | HistoryBuffer._statistics_methods.keys()
    if owner is HistoryBuffer and name in allowed:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'Refusing getattr({owner!r}, {name!r}) in a weights-only load: only '
        f'HistoryBuffer statistics methods are allowed.')


def _numpy_globals() -> list:
    """The NumPy reconstructors and numeric dtype classes of pickled arrays.

    Object arrays stay refused: their items could be arbitrary objects.
    """
    multiarray = np.core.multiarray if np.__version__ < '2' else \
        np._core.multiarray
    codes = '?' + np.typecodes['AllInteger'] + np.typecodes['AllFloat']
    dtype_classes = {type(np.dtype(code)) for code in codes}
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
            *dtype_classes]


def allow_mmengine_checkpoint_types() -> None:
    """Allow-list the non-tensor objects of mmengine checkpoints (idempotent)."""
    torch.serialization.add_safe_globals([
        HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'),
        *_numpy_globals()
    ])
