"""Atomic writes: a file or a folder appears whole or not at all."""
import contextlib
import os
import shutil
import tempfile
from typing import Iterator


@contextlib.contextmanager
def atomic_file(path: str, suffix: str = '') -> Iterator[str]:
    """Yield a temporary path next to ``path``; it replaces ``path`` when the
    block succeeds and is removed when it raises."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.tmp-', suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


@contextlib.contextmanager
def staged_directory(root: str) -> Iterator[str]:
    """Yield a staging folder that replaces ``root`` (absent or empty) when
    the block succeeds and is removed when it raises."""
    if os.path.isdir(root) and os.listdir(root):
        raise FileExistsError(
            f'{root!r} is not empty; give a new or empty directory.')
    parent = os.path.dirname(os.path.abspath(root))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(dir=parent, prefix='.tmp-')
    try:
        yield staging
        if os.path.isdir(root):
            os.rmdir(root)
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
