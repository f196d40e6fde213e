"""tools/slurm_train.sh and tools/slurm_test.sh through a fake ``srun`` that
checks its arguments and runs one task itself, and the Slurm environment
``--launcher slurm`` reads (mmebv.engine.runner.setup_slurm_env)."""
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmebv.cli import UserInputError
from mmebv.engine.runner import setup_slurm_env
from tests_conftest import checkout_env

sys.path.append(str(Path(__file__).resolve().parents[1] / 'cls'))

from cls_helpers import tiny_folder_config  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

#: srun's stand-in: records its arguments, checks that they are srun
#: options followed by a command, and runs that command as task 0 of 1.
FAKE_SRUN = """#!{python}
import json, os, sys
args = sys.argv[1:]
i = 0
while i < len(args) and args[i].startswith('-'):
    i += 2 if args[i] == '-p' else 1
if i >= len(args):
    sys.exit('srun: no command')
with open(os.environ['FAKE_SLURM_LOG'] + '.srun', 'w') as log:
    json.dump(dict(options=args[:i], command=args[i:],
                   pythonpath=os.environ.get('PYTHONPATH', '')), log)
os.environ.update(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_LOCALID='0',
                  SLURM_NODELIST='localhost', SLURM_JOB_NAME='fake')
os.execvp(args[i], args[i:])
"""

#: scontrol's stand-in: ``scontrol show hostname LIST`` prints LIST.
FAKE_SCONTROL = """#!/bin/sh
echo "$@" >> "$FAKE_SLURM_LOG.scontrol"
[ "$1 $2" = "show hostname" ] && echo "$3"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def fake_slurm(tmp_path) -> Path:
    """A folder with fake ``srun`` and ``scontrol``; returns the log
    prefix (``<log>.srun``: JSON of the srun call)."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('srun', FAKE_SRUN.format(python=sys.executable)),
                       ('scontrol', FAKE_SCONTROL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    return tmp_path / 'slurm'


def run_script(script: str, args: list, log: Path,
               **env) -> subprocess.CompletedProcess:
    """Run ``tools/<script>`` with the fake Slurm first on the PATH."""
    base = checkout_env(REPO, OMP_NUM_THREADS='1', PYTHON=sys.executable,
                        FAKE_SLURM_LOG=str(log), **env)
    base['PATH'] = f'{log.parent / "bin"}:{base["PATH"]}'
    return subprocess.run(
        ['bash', str(REPO / 'tools' / script), *map(str, args)],
        cwd=str(log.parent), env=base, capture_output=True, text=True,
        timeout=600)


def srun_call(log: Path) -> dict:
    return json.loads(Path(f'{log}.srun').read_text())


def expected_options(partition: str, job: str, extra: list) -> list:
    return ['-p', partition, f'--job-name={job}', '--gres=gpu:1',
            '--ntasks=1', '--ntasks-per-node=1', '--cpus-per-task=2',
            '--kill-on-bad-exit=1', *extra]


@pytest.mark.slow
def test_one_task_train_and_test_through_srun(tmp_path, fake_slurm):
    from data_factory import write_image_folder
    images = tmp_path / 'images'
    write_image_folder(str(images), num_classes=3, images_per_class=2,
                       size=32)
    config = tiny_folder_config(
        tmp_path / 'cls.py', images,
        "type='EBVClsHead', ebv_dim=4, num_classes=3", num_classes=3,
        batch_size=3)
    env = dict(GPUS='1', GPUS_PER_NODE='1', CPUS_PER_TASK='2',
               SRUN_ARGS='--time=5  --quiet', MASTER_PORT=str(free_port()))
    work = tmp_path / 'work'
    trained = run_script(
        'slurm_train.sh', ['gpu-part', 'ebv-train', config, work,
                           '--cfg-options', 'train_cfg.max_epochs=1'],
        fake_slurm, **env)
    out = trained.stdout + trained.stderr
    assert trained.returncode == 0, out[-4000:]
    call = srun_call(fake_slurm)
    assert call['options'] == expected_options(
        'gpu-part', 'ebv-train', ['--time=5', '--quiet'])
    assert call['command'] == [
        sys.executable, '-u', str(REPO / 'tools' / 'train.py'), str(config),
        f'--work-dir={work}', '--launcher=slurm', '--cfg-options',
        'train_cfg.max_epochs=1']
    assert call['pythonpath'].split(':')[0] == str(REPO)
    assert 'Distributed launcher: slurm' in out
    if not torch.cuda.is_available():
        assert 'distributed run on CPU with gloo (rank 0 of 1)' in out
    assert 'show hostname localhost' in Path(
        f'{fake_slurm}.scontrol').read_text()
    checkpoint = work / 'epoch_1.pth'
    assert checkpoint.is_file()

    tested = run_script(
        'slurm_test.sh', ['cpu-part', 'ebv-test', config, checkpoint,
                          '--work-dir', tmp_path / 'test'],
        fake_slurm, **dict(env, SRUN_ARGS=''))
    out = tested.stdout + tested.stderr
    assert tested.returncode == 0, out[-4000:]
    call = srun_call(fake_slurm)
    assert call['options'] == expected_options('cpu-part', 'ebv-test', [])
    assert call['command'] == [
        sys.executable, '-u', str(REPO / 'tools' / 'test.py'), str(config),
        str(checkpoint), '--launcher=slurm', '--work-dir',
        str(tmp_path / 'test')]
    assert 'Distributed launcher: slurm' in out
    assert 'accuracy/top1' in out


@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
@pytest.mark.parametrize('args, env, message', [
    (['part', 'job', 'cfg.py'], {}, 'usage: '),
    (['part', 'job', 'cfg.py', 'x'], dict(GPUS='0'),
     "error: GPUS must be a positive integer, got '0'"),
    (['part', 'job', 'cfg.py', 'x'], dict(GPUS_PER_NODE='eight'),
     "error: GPUS_PER_NODE must be a positive integer, got 'eight'"),
    (['part', 'job', 'cfg.py', 'x'], dict(CPUS_PER_TASK='-1'),
     "error: CPUS_PER_TASK must be a positive integer, got '-1'"),
], ids=['missing', 'gpus', 'gpus-per-node', 'cpus-per-task'])
def test_bad_arguments_exit_2_in_one_line(fake_slurm, script, args, env,
                                          message):
    result = run_script(script, args, fake_slurm, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not Path(f'{fake_slurm}.srun').exists()  # srun never ran


def slurm_environ(**extra) -> dict:
    return {**dict(SLURM_PROCID='3', SLURM_NTASKS='8', SLURM_LOCALID='1',
                   SLURM_NODELIST='node[1-2]'), **extra}


def test_setup_slurm_env_translates_srun_variables(fake_slurm,
                                                   monkeypatch):
    monkeypatch.setenv('PATH', str(fake_slurm.parent / 'bin'))
    monkeypatch.setenv('FAKE_SLURM_LOG', str(fake_slurm))
    environ = slurm_environ()
    setup_slurm_env(environ)
    assert {key: environ[key] for key in (
        'RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')
    } == dict(RANK='3', WORLD_SIZE='8', LOCAL_RANK='1',
              MASTER_ADDR='node[1-2]', MASTER_PORT='29500')
    kept = slurm_environ(MASTER_ADDR='10.0.0.1', MASTER_PORT='1234')
    setup_slurm_env(kept)
    assert (kept['MASTER_ADDR'], kept['MASTER_PORT']) == ('10.0.0.1', '1234')


def test_setup_slurm_env_without_scontrol(tmp_path, monkeypatch):
    """One task needs no master address; several do."""
    monkeypatch.setenv('PATH', str(tmp_path))  # no scontrol
    one = dict(SLURM_PROCID='0', SLURM_NTASKS='1', SLURM_NODELIST='n1')
    setup_slurm_env(one)
    assert one['MASTER_ADDR'] == '127.0.0.1' and one['LOCAL_RANK'] == '0'
    with pytest.raises(UserInputError, match='set MASTER_ADDR'):
        setup_slurm_env(slurm_environ())


def test_setup_slurm_env_outside_srun():
    with pytest.raises(UserInputError,
                       match='needs SLURM_PROCID, SLURM_NODELIST'):
        setup_slurm_env(dict(SLURM_NTASKS='1'))
    with pytest.raises(UserInputError, match='not an integer'):
        setup_slurm_env(slurm_environ(SLURM_PROCID='x'))
