"""Atomic writes: a file or a folder appears whole or not at all.

What appears has the permissions a plain ``open`` or ``os.makedirs`` would
give under the process umask (0644 / 0755 under umask 022), not the private
0600 / 0700 of :mod:`tempfile`, and its data is on disk (fsync) before the
rename makes it visible.
"""
import contextlib
import errno
import os
import shutil
import tempfile
from typing import Iterator

#: Name prefix of the temporary files and folders written here.
TEMPORARY_PREFIX = '.tmp-'


def current_umask() -> int:
    """The process umask: from /proc on Linux, else by setting it and
    restoring it at once (which races with threads creating files)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_path(path: str) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a folder
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: str) -> None:
    """fsync every file of ``root``, then every folder, deepest first."""
    for folder, _, files in os.walk(root, topdown=False):
        for name in files:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                _fsync_path(path)
        _fsync_path(folder)


def make_folder(folder: str, path: str) -> None:
    """``os.makedirs(folder)`` for the output ``path``; an error names
    ``path`` (a file in the way is said in words)."""
    try:
        os.makedirs(folder, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as err:
        raise NotADirectoryError(
            errno.ENOTDIR, 'a part of the path is a file, not a folder',
            path) from err
    except OSError as err:
        raise type(err)(err.errno, err.strerror, path) from err


@contextlib.contextmanager
def naming(path: str) -> Iterator[None]:
    """Report an OS error of the block about a hidden temporary file as one
    about ``path`` (the output the user asked for); errors about other files
    pass unchanged."""
    try:
        yield
    except OSError as err:
        hidden = err.filename is None or os.path.basename(
            str(err.filename)).startswith(TEMPORARY_PREFIX)
        if err.errno is None or not hidden:
            raise
        raise type(err)(err.errno, err.strerror, path) from err


@contextlib.contextmanager
def atomic_file(path: str, suffix: str = '') -> Iterator[str]:
    """Yield a temporary path next to ``path``; it replaces ``path`` when the
    block succeeds and is removed when it raises."""
    directory = os.path.dirname(os.path.abspath(path))
    make_folder(directory, path)
    with naming(path):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMPORARY_PREFIX,
                                   suffix=suffix)
    os.close(fd)
    try:
        with naming(path):
            yield tmp
            os.chmod(tmp, 0o666 & ~current_umask())
            _fsync_path(tmp)
            os.replace(tmp, path)
        _fsync_path(directory)
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
    make_folder(parent, root)
    with naming(root):
        staging = tempfile.mkdtemp(dir=parent, prefix=TEMPORARY_PREFIX)
    try:
        yield staging
        os.chmod(staging, 0o777 & ~current_umask())
        _fsync_tree(staging)
        if os.path.isdir(root):
            os.rmdir(root)
        os.replace(staging, root)
        _fsync_path(parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
