"""tools/setup_env.sh: it deletes no folder it did not create, every checkout
runs its own mmebv, and set-ups started together wait for each other.

The tests that need the shared venv (torch, mmcv, OpenMMLab) reuse the one
this run's ``.venv`` was made on (its ``.mmebv-layer`` names it), so they
take seconds; without one they skip."""
import fcntl
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_readme import fresh_clone

REPO = Path(__file__).resolve().parents[2]
needs_git = pytest.mark.skipif(not (REPO / '.git').exists(),
                               reason='needs a checkout')
WHICH_MMEBV = 'import mmebv; print(mmebv.__file__); print(mmebv.__version__)'


def shared_venv():
    """The shared venv and the cache this run's ``.venv`` was made on."""
    info = Path(sys.prefix) / '.mmebv-layer'
    if not info.is_file():
        pytest.skip(f'{sys.prefix} is not a checkout .venv made by '
                    'tools/setup_env.sh: no shared venv to reuse (run the '
                    'tests with .venv/bin/python, e.g. `make test`)')
    fields = dict(line.split('=', 1)
                  for line in info.read_text().splitlines() if '=' in line)
    venv = Path(fields['shared'])
    if not (venv / '.mmebv-complete').is_file():
        pytest.skip(f'the shared venv {venv} is not built: run '
                    '`bash tools/setup_env.sh`')
    return venv, fields['cache']


def clean_env(**extra) -> dict:
    """No PYTHONPATH, no set-up variable but ``extra``: what a user's
    shell might hold is not what is tested."""
    drop = ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'MMEBV_VENV',
            'MMEBV_CACHE')
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def set_up(checkout: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(['bash', str(checkout / 'tools' / 'setup_env.sh')],
                          cwd=checkout, env=clean_env(**env),
                          capture_output=True, text=True, timeout=600)


def run(cmd, cwd) -> str:
    """stdout of ``cmd`` run from ``cwd`` (outside every checkout, so that
    the current folder puts no mmebv on the path)."""
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (
        p.is_dir(), p.is_symlink(), p.stat().st_mode,
        p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in [folder, *sorted(folder.rglob('*'))]}


def script_only_checkout(destination: Path) -> Path:
    """What the set-up reads of a checkout: the script, the requirements."""
    for name in ['tools/setup_env.sh',
                 *(str(p.relative_to(REPO))
                   for p in (REPO / 'requirements').glob('*.txt'))]:
        (destination / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, destination / name)
    return destination


def test_foreign_venv_folder_is_refused_and_left_alone(tmp_path):
    checkout = script_only_checkout(tmp_path / 'checkout')
    foreign = tmp_path / 'my venv'
    (foreign / 'bin').mkdir(parents=True)
    (foreign / 'bin' / 'python').write_text('#!/bin/sh\n')
    (foreign / 'notes.txt').write_text('not a set-up venv')
    before = snapshot(foreign)
    # An empty wheel folder and no index: a set-up that went on to build
    # anything would fail at once rather than install torch.
    done = set_up(checkout, MMEBV_VENV=foreign, MMEBV_CACHE=tmp_path / 'c',
                  PIP_NO_INDEX=1, PIP_FIND_LINKS=tmp_path / 'no-wheels')
    assert done.returncode == 2, done.stderr[-3000:]
    error, = done.stderr.strip().splitlines()
    assert str(foreign) in error and 'MMEBV_VENV' in error, error
    assert 'remove' in error, error
    assert snapshot(foreign) == before
    assert not (checkout / '.venv').exists()


@pytest.mark.slow
@pytest.mark.parametrize('state', ['empty', 'half-built'])
def test_own_or_empty_venv_folder_is_built_in(tmp_path, state):
    checkout = script_only_checkout(tmp_path / 'checkout')
    venv = tmp_path / 'venv'
    venv.mkdir()
    if state == 'half-built':  # an earlier set-up's, interrupted
        (venv / '.mmebv-owned').write_text('')
        (venv / 'lib').mkdir()
        (venv / 'lib' / 'partial.txt').write_text('left over')
    # no wheels to install: the build stops after creating the venv
    done = set_up(checkout, MMEBV_VENV=venv, MMEBV_CACHE=tmp_path / 'c',
                  PIP_NO_INDEX=1, PIP_FIND_LINKS=tmp_path / 'no-wheels')
    assert done.returncode not in (0, 2), done.stderr[-3000:]
    assert f'creating {venv}' in done.stderr
    assert (venv / '.mmebv-owned').is_file()  # may be rebuilt next time
    assert (venv / 'bin' / 'python').exists()
    assert not (venv / 'lib' / 'partial.txt').exists()
    assert not (venv / '.mmebv-complete').exists()


@needs_git
def test_foreign_dot_venv_in_the_checkout_is_refused_and_left_alone(
        tmp_path):
    venv, cache = shared_venv()
    checkout = fresh_clone(tmp_path / 'checkout')
    (checkout / '.venv').mkdir()
    (checkout / '.venv' / 'pyvenv.cfg').write_text('home = /usr/bin\n')
    before = snapshot(checkout / '.venv')
    done = set_up(checkout, MMEBV_VENV=venv, MMEBV_CACHE=cache)
    assert done.returncode == 2, done.stderr[-3000:]
    error, = done.stderr.strip().splitlines()
    assert str(checkout / '.venv') in error, error
    assert snapshot(checkout / '.venv') == before


@pytest.mark.slow
@needs_git
def test_two_checkouts_run_their_own_mmebv(tmp_path):
    venv, cache = shared_venv()
    clones = {name: fresh_clone(tmp_path / name) for name in 'ab'}
    for clone in clones.values():
        done = set_up(clone, MMEBV_VENV=venv, MMEBV_CACHE=cache)
        assert done.returncode == 0, done.stderr[-3000:]
    version = (REPO / 'mmebv' / 'version.py').read_text()
    assert "__version__ = '" in version
    (clones['b'] / 'mmebv' / 'version.py').write_text(
        "__version__ = '0.0.0+clone.b'\n")
    expected = {'a': version.split("'")[1], 'b': '0.0.0+clone.b'}
    for name, clone in clones.items():
        bin_dir = clone / '.venv' / 'bin'
        file, found = run([bin_dir / 'python', '-c', WHICH_MMEBV],
                          cwd=tmp_path).split()[-2:]
        assert (Path(file), found) == (
            clone / 'mmebv' / '__init__.py', expected[name]), name
        assert set_up(clone, MMEBV_VENV=venv, MMEBV_CACHE=cache
                      ).stdout.splitlines()[-1] == str(clone / '.venv')
        # console scripts (mim, pytest, torchrun...) run this .venv's Python
        for script in ('mim', 'pytest', 'torchrun'):
            head = (bin_dir / script).read_text().splitlines()[:2]
            assert str(bin_dir / 'python') in '\n'.join(head), (script, head)
        assert 'version' in run([bin_dir / 'mim', '--version'], cwd=tmp_path)
    test = tmp_path / 'test_which.py'
    test.write_text('import importlib.util\n\n\ndef test_which():\n'
                    "    print(importlib.util.find_spec('mmebv').origin)\n")
    out = run([clones['a'] / '.venv' / 'bin' / 'pytest', '-q', '-s',
               '-p', 'no:cacheprovider', test], cwd=tmp_path)
    assert str(clones['a'] / 'mmebv' / '__init__.py') in out, out


@pytest.mark.slow
@needs_git
def test_set_ups_started_together_wait_for_each_other(tmp_path):
    venv, _ = shared_venv()
    cache = tmp_path / 'cache'  # its lock is this test's own
    cache.mkdir()
    clone = fresh_clone(tmp_path / 'clone')
    script = clone / 'tools' / 'setup_env.sh'
    env = clean_env(MMEBV_VENV=venv, MMEBV_CACHE=cache)
    log = tmp_path / 'waiting.log'
    with open(cache / 'setup_env.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a set-up under way
        with open(log, 'w') as stderr:
            waiting = subprocess.Popen(['bash', str(script)], cwd=clone,
                                       env=env, stdout=subprocess.PIPE,
                                       stderr=stderr, text=True)
        deadline = time.monotonic() + 120
        while 'waiting for another set-up' not in log.read_text():
            assert waiting.poll() is None, (
                'the set-up went on while another held the cache lock:\n'
                + log.read_text())
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        time.sleep(1)
        assert waiting.poll() is None and not (clone / '.venv').exists()
    out, _ = waiting.communicate(timeout=300)  # the lock was let go
    assert waiting.returncode == 0, log.read_text()[-3000:]
    assert out.splitlines()[-1] == str(clone / '.venv')

    # two set-ups of a fresh checkout started at once: both succeed, and
    # its .venv runs its mmebv
    other = fresh_clone(tmp_path / 'other')
    runs = [subprocess.Popen(['bash', str(other / 'tools' / 'setup_env.sh')],
                             cwd=other, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    for proc in runs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    origin = run([other / '.venv' / 'bin' / 'python', '-c',
                  "import importlib.util as u; print(u.find_spec('mmebv')"
                  '.origin)'], cwd=tmp_path)
    assert origin.strip() == str(other / 'mmebv' / '__init__.py')
