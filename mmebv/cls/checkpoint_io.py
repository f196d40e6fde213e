"""Reading foreign checkpoints without running their pickled code.

``restricted_torch_load`` loads ``torch.save`` files and plain pickles of
tensors (also ones saved on CUDA) on a CPU-only machine. Only tensor
rebuilding, dtypes, storages and ``OrderedDict`` are resolved; any other
pickled global (``argparse.Namespace``, numpy scalars, mmengine objects...)
becomes an inert :class:`DroppedObject` that is never called, so no code from
the file runs. ``save_atomic`` writes through a temporary file.

A file that is not such a checkpoint (empty, damaged, a pickle of anything
but tensors in dicts) raises :class:`CheckpointReadError`, a
:class:`~mmebv.cli.UserInputError` the tools report in one line.
"""
import io
import pickle
import zipfile
from collections import OrderedDict
from typing import Any, Dict, Tuple

import torch

from mmebv.cli import UserInputError
from mmebv.fileio import atomic_file


class CheckpointReadError(UserInputError):
    """A file is not a checkpoint (or pickle of tensors) that can be read."""


_TENSOR_REBUILDERS = ('_rebuild_tensor', '_rebuild_tensor_v2',
                      '_rebuild_tensor_v3', '_rebuild_parameter',
                      '_rebuild_parameter_with_state')


class DroppedObject:
    """Placeholder for a pickled object whose class was not trusted."""

    source = '?'

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __call__(self, *args, **kwargs) -> 'DroppedObject':
        return DroppedObject()

    def __repr__(self) -> str:
        return f'<dropped {self.source}>'


def _storage_from_bytes(data: bytes) -> Any:
    """``torch.storage._load_from_bytes`` mapped to CPU, weights only."""
    return torch.load(io.BytesIO(data), map_location='cpu', weights_only=True)


def _trusted_global(module: str, name: str) -> Any:
    """The object a pickle may use, or None when it is not trusted."""
    if module == 'collections' and name == 'OrderedDict':
        return OrderedDict
    if module == 'torch._utils' and name in _TENSOR_REBUILDERS:
        return getattr(torch._utils, name)
    if module == 'torch.storage' and name == '_load_from_bytes':
        return _storage_from_bytes
    if module == 'torch' and name == 'Size':
        return torch.Size
    if module in ('torch', 'torch.cuda') and (
            name.endswith('Storage') or name == 'device'):
        # Storage classes are only type tags for torch's own loader; CUDA
        # ones are mapped to their CPU twins (map_location='cpu').
        return getattr(torch, name)
    if module == 'torch' and isinstance(getattr(torch, name, None),
                                        torch.dtype):
        return getattr(torch, name)
    return None


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only trusted globals; the rest become DroppedObject types."""

    def find_class(self, module: str, name: str) -> Any:
        trusted = _trusted_global(module, name)
        if trusted is not None:
            return trusted
        return type(f'Dropped_{name}', (DroppedObject, ),
                    {'source': f'{module}.{name}'})


class _RestrictedPickleModule:
    """A ``pickle_module`` for ``torch.load`` using the restricted unpickler."""

    Unpickler = _RestrictedUnpickler
    load = staticmethod(lambda f, **kw: _RestrictedUnpickler(f, **kw).load())


def restricted_torch_load(path: str) -> Any:
    """Load a ``torch.save`` file or a plain pickle onto the CPU, safely.

    Args:
        path: The file.

    Returns:
        The unpickled object; untrusted objects in it are inert
        :class:`DroppedObject` instances.

    Raises:
        OSError: ``path`` cannot be opened (missing, a folder, no access).
        CheckpointReadError: ``path`` is empty or not a pickle torch reads.
    """
    from torch.serialization import MAGIC_NUMBER
    with open(path, 'rb') as f:  # OSError when missing or unreadable
        if not f.read(1):
            raise CheckpointReadError(
                f'{path!r} is empty, not a checkpoint or pickle (an '
                f'interrupted download or save?).')
    try:
        if not zipfile.is_zipfile(path):
            with open(path, 'rb') as f:
                first = _RestrictedUnpickler(f).load()
            # torch's legacy format starts with its magic number; anything
            # else is a plain pickle, already loaded.
            if not (isinstance(first, int) and first == MAGIC_NUMBER):
                return first
        return torch.load(
            path, map_location='cpu', weights_only=False,
            pickle_module=_RestrictedPickleModule)
    except (OSError, MemoryError):
        raise
    except Exception as err:  # noqa: BLE001 (damaged pickles raise any type)
        reason = ' '.join(str(err).split())[:200].rstrip('.') or \
            type(err).__name__
        raise CheckpointReadError(
            f'{path!r} is not a readable checkpoint or pickle '
            f'({type(err).__name__}: {reason}).') from None


def unwrap_state_dict(obj: Any, source: str = 'The checkpoint'
                      ) -> Tuple[Dict[str, torch.Tensor], list]:
    """The tensors of a checkpoint's state dict, and what was left out.

    Accepts a bare state dict or one wrapped in ``state_dict``/``model``/
    ``module``; strips DataParallel's ``module.`` prefixes.

    Args:
        obj: What :func:`restricted_torch_load` returned.
        source: The checkpoint's name, for messages.

    Returns:
        ``(tensors by key, descriptions of the entries left out)``.

    Raises:
        CheckpointReadError: ``obj`` holds no state dict of tensors.
    """
    dropped = []
    for wrapper in ('state_dict', 'model', 'module'):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            dropped = [f'{key} (checkpoint entry)' for key in obj
                       if key != wrapper]
            obj = obj[wrapper]
            break
    if isinstance(obj, DroppedObject):
        raise CheckpointReadError(
            f'{source} holds a pickled {obj.source} object, not a state dict '
            f'of tensors; refusing it (nothing from the file was run).')
    if not isinstance(obj, dict):
        raise CheckpointReadError(
            f'{source} holds a {type(obj).__name__}, not a state dict of '
            f'tensors.')
    tensors = OrderedDict()
    for key, value in obj.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        if isinstance(value, torch.Tensor):
            tensors[name] = value
        else:
            dropped.append(name)
    if not tensors:
        raise CheckpointReadError(f'{source} holds no tensors.')
    return tensors, dropped


def save_atomic(obj: Any, path: str) -> None:
    """``torch.save`` to a temporary file next to ``path``, then rename.

    ``path`` holds either its old content or all of ``obj``, never a part.

    Args:
        obj (Any): What to save, as for ``torch.save``.
        path (str): The output file; missing folders are created.

    Raises:
        OSError: If ``path`` cannot be written (e.g. a part of it is a
            file); ``path`` is then left as it was.
    """
    # A file object: torch.save derives a zip record name from a path's
    # basename, and refuses the hidden temporary name.
    with atomic_file(path) as tmp, open(tmp, 'wb') as f:
        torch.save(obj, f)
