"""mmebv.fileio: atomic files and folders with the permissions of the umask,
flushed to disk before they appear."""
import os
import stat

import pytest

from mmebv import fileio
from mmebv.core import save_ebvs
from mmebv.fileio import atomic_file, staged_directory


@pytest.fixture
def umask():
    """Set the process umask for one test, and restore it."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('mask,file_mode,dir_mode', [
    (0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)])
def test_modes_follow_the_umask(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    target = tmp_path / 'new' / 'file.bin'
    with atomic_file(str(target)) as tmp, open(tmp, 'wb') as f:
        f.write(b'data')
    assert target.read_bytes() == b'data'
    assert mode(target) == file_mode
    assert mode(target.parent) == dir_mode
    root = tmp_path / 'dataset'
    with staged_directory(str(root)) as staging:
        os.makedirs(os.path.join(staging, 'images'))
        with open(os.path.join(staging, 'images', 'a.txt'), 'w') as f:
            f.write('a')
        with atomic_file(os.path.join(staging, 'ann.json')) as tmp, \
                open(tmp, 'w') as f:
            f.write('{}')
    assert mode(root) == dir_mode and mode(root / 'images') == dir_mode
    assert mode(root / 'ann.json') == file_mode
    assert mode(root / 'images' / 'a.txt') == file_mode
    assert not [p for p in os.listdir(tmp_path) if p.startswith('.tmp-')]


def test_ebv_files_are_readable_by_others_under_umask_022(tmp_path, umask):
    import torch
    umask(0o022)
    path = tmp_path / 'ebvs.safetensors'
    save_ebvs(str(path), torch.eye(3))
    assert mode(path) == 0o644


def test_data_is_flushed_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(fileio.os, 'fsync',
                        lambda fd: events.append('fsync') or real_fsync(fd))
    monkeypatch.setattr(
        fileio.os, 'replace',
        lambda a, b: events.append('replace') or real_replace(a, b))
    with atomic_file(str(tmp_path / 'f')) as tmp, open(tmp, 'w') as f:
        f.write('x')
    assert events[:2] == ['fsync', 'replace']
    events.clear()
    with staged_directory(str(tmp_path / 'd')) as staging:
        open(os.path.join(staging, 'x'), 'w').close()
    assert events.index('replace') >= 2  # the file, then the folder
    assert events[0] == 'fsync'


def test_failed_blocks_leave_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_file(str(tmp_path / 'f')) as tmp:
            open(tmp, 'w').close()
            raise RuntimeError
    with pytest.raises(RuntimeError):
        with staged_directory(str(tmp_path / 'd')):
            raise RuntimeError
    assert os.listdir(tmp_path) == []
