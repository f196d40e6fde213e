"""Pickles that look to a CPU-only reader like tensors saved on a GPU.

torch tags every pickled storage with its location (``'cpu'``, ``'cuda:0'``);
only that tag differs between a CPU save and a CUDA save, and it is all a
CPU-only reader sees. The tagger is registered with torch once per process:
torch sorts its taggers by priority, and two at the same priority would make
that sort compare functions.
"""
import contextlib
import pickle
from pathlib import Path
from typing import Iterator

import torch

_active = False
_registered = False


@contextlib.contextmanager
def saved_on_cuda() -> Iterator[None]:
    """While active, pickled storages carry the location tag ``cuda:0``."""
    global _active, _registered
    if not _registered:
        torch.serialization.register_package(
            0, lambda obj: 'cuda:0' if _active else None,
            lambda obj, location: None)
        _registered = True
    _active = True
    try:
        yield
    finally:
        _active = False


def pickle_like_cuda(tensor: torch.Tensor, path: Path,
                     how: str = 'pickle') -> bytes:
    """``pickle.dump`` (how='pickle', as the authors' EBV files were written)
    or ``torch.save`` (how='torch.save') of ``tensor`` as if it lived on a
    GPU; returns the file's bytes."""
    with saved_on_cuda(), open(path, 'wb') as f:
        if how == 'pickle':
            pickle.dump(tensor, f)
        else:
            torch.save(tensor, f)
    return Path(path).read_bytes()
