"""tools/test.py, tools/train.py and the dist scripts refuse bad input in one
line with exit code 2: another model's checkpoint, missing or unreadable
configs and checkpoints, a GPU count that is no positive integer."""
import contextlib
import importlib.util
import io
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from dense_helpers import REPO, write_config
from mmebv.cli import run_tool
from mmebv.engine.add_classes import build_model
from tests_conftest import checkout_env

HEADS = {
    'ebv': "type='EBVClsHead', ebv_dim=4, num_classes=3",
    'fc': "type='LinearClsHead', num_classes=3",
}


@pytest.fixture(scope='module')
def images(tmp_path_factory) -> Path:
    from data_factory import write_image_folder
    root = tmp_path_factory.mktemp('tool_errors') / 'images'
    write_image_folder(str(root), num_classes=3, images_per_class=2, size=32)
    return root


def classifier_config(path: Path, images: Path, head: str) -> Path:
    """A small CIFAR ResNet classifier testing on ``images``."""
    return write_config(path, f"""
        _base_ = ['mmpretrain::_base_/models/resnet18_cifar.py',
                  'mmpretrain::_base_/default_runtime.py']
        custom_imports = dict(imports=['mmebv'], allow_failed_imports=False)
        model = dict(backbone=dict(depth=18, base_channels=8),
                     head=dict(_delete_=True, in_channels=64, {HEADS[head]}))
        data_preprocessor = dict(num_classes=3, mean=[127.5] * 3,
                                 std=[64.0] * 3, to_rgb=True)
        pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
        test_dataloader = dict(
            batch_size=4, num_workers=0,
            dataset=dict(type='CustomDataset', data_root='{images}',
                         data_prefix='val', pipeline=pipeline),
            sampler=dict(type='DefaultSampler', shuffle=False))
        test_evaluator = dict(type='Accuracy', topk=(1, ))
        test_cfg = dict()
        default_hooks = dict(logger=dict(interval=1))
        """)


def checkpoint_of(config: Path, out: Path, older: bool = False) -> Path:
    """The config's model saved as the Runner saves it; ``older``: as a
    DataParallel state dict of an older mmebv (no ``ebv_recipe``)."""
    state = build_model(Config.fromfile(str(config))).state_dict()
    if older:
        state = {'module.' + key: value for key, value in state.items()
                 if not key.endswith('ebv_recipe')}
    torch.save({'meta': {}, 'state_dict': state}, str(out))
    return out


def run_script(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=str(REPO), capture_output=True,
        text=True, env=checkout_env(REPO, OMP_NUM_THREADS='1', **(env or {})),
        timeout=300)


def error_lines(stderr: str, prog: str) -> list:
    assert 'Traceback' not in stderr, stderr[-3000:]
    return [line for line in stderr.splitlines()
            if line.startswith(f'{prog}: error:')]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


# tools/test.py on a checkpoint of another model


def test_test_tool_refuses_another_models_checkpoint(tmp_path, images):
    """An FC checkpoint in an EBV config exited 0, printing the accuracy of
    a randomly initialised head (mmengine only warned)."""
    ebv = classifier_config(tmp_path / 'ebv.py', images, 'ebv')
    fc = checkpoint_of(classifier_config(tmp_path / 'fc.py', images, 'fc'),
                       tmp_path / 'fc.pth')
    result = run_script(sys.executable, 'tools/test.py', ebv, fc,
                        '--work-dir', tmp_path / 'work')
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'accuracy' not in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith('test.py: error: The checkpoint')
    assert ('head: missing head.projection.weight, head.projection.bias, '
            'head.ebv.ebvs (+1 more); unexpected head.fc.weight, '
            'head.fc.bias') in lines[0]


@pytest.mark.parametrize('which', ['older', 'other'])
def test_test_tool_under_the_pytorch_launcher(tmp_path, images, which):
    """A process of a ``--launcher pytorch`` run (DDP-wrapped model): an
    older checkpoint of the model (DataParallel keys, no ebv_recipe) is
    tested; another model's is refused."""
    ebv = classifier_config(tmp_path / 'ebv.py', images, 'ebv')
    source = ebv if which == 'older' else classifier_config(
        tmp_path / 'fc.py', images, 'fc')
    checkpoint = checkpoint_of(source, tmp_path / 'c.pth',
                               older=which == 'older')
    env = dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
               MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()))
    result = run_script(sys.executable, 'tools/test.py', ebv, checkpoint,
                        '--work-dir', tmp_path / 'work', '--launcher',
                        'pytorch', env=env)
    assert 'Distributed training: True' in result.stdout
    if which == 'older':
        assert result.returncode == 0, result.stderr[-3000:]
        assert 'accuracy/top1' in result.stdout
    else:
        assert result.returncode == 2
        assert len(error_lines(result.stderr, 'test.py')) == 1
        assert 'accuracy' not in result.stdout


# tools/test.py and tools/train.py on missing or unreadable files


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(
        f'{name}_tool_under_test', REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def refused(tool: str, *argv) -> str:
    """Run ``tools/<tool>.py`` in this process as its command line does:
    exit code 2 and one ``error:`` line, which is returned. Only stderr is
    redirected: mmengine's logger, when created here, keeps the session's
    stdout, not a capture closed after the test."""
    module = load_tool(tool)
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = run_tool(lambda: module.main([str(a) for a in argv]),
                        prog=f'{tool}.py')
    err = stderr.getvalue()
    assert code == 2, err[-3000:]
    lines = error_lines(err, f'{tool}.py')
    assert len(lines) == 1, err[-3000:]
    return lines[0]


def bad_input(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f'{kind}.input'
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'garbage':
        path.write_bytes(b'not a checkpoint\n' * 8)
    elif kind == 'code':  # a pickle that would run code when loaded
        path.write_bytes(b'cbuiltins\nprint\n(S"pwned"\ntR.')
    elif kind == 'syntax':
        path = tmp_path / 'syntax.py'
        path.write_text('model = dict(\n')
    elif kind == 'name-error':
        path = tmp_path / 'name_error.py'
        path.write_text('model = dict(depth=undefined_name)\n')
    elif kind == 'missing-base':
        path = tmp_path / 'missing_base.py'
        path.write_text("_base_ = ['nowhere/base.py']\n")
    elif kind == 'folder':
        path.mkdir()
    return path


@pytest.mark.parametrize('kind, message', [
    ('missing', 'does not exist'),
    ('empty', 'is empty'),
    ('folder', 'is a folder'),
    ('garbage', 'cannot be read: not a checkpoint of tensors'),
    ('code', 'cannot be read'),
])
def test_test_tool_refuses_bad_checkpoints(tmp_path, images, kind,
                                           message):
    config = classifier_config(tmp_path / 'ebv.py', images, 'ebv')
    checkpoint = bad_input(tmp_path, kind)
    line = refused('test', config, checkpoint, '--work-dir',
                   tmp_path / 'work')
    assert str(checkpoint) in line and message in line


@pytest.mark.parametrize('tool', ['test', 'train'])
@pytest.mark.parametrize('kind, message', [
    ('missing', 'No such file or directory'),
    ('syntax', 'cannot read the config'),
    ('name-error', "NameError: name 'undefined_name' is not defined"),
    ('missing-base', 'nowhere/base.py: No such file or directory'),
])
def test_tools_refuse_bad_configs(tmp_path, images, tool, kind, message):
    """These were tracebacks (FileNotFoundError, SyntaxError...)."""
    config = bad_input(tmp_path, kind).with_suffix('.py')
    args = [config]
    if tool == 'test':
        args.append(checkpoint_of(
            classifier_config(tmp_path / 'fc.py', images, 'fc'),
            tmp_path / 'fc.pth'))
    line = refused(tool, *args, '--work-dir', tmp_path / 'work')
    assert str(config) in line and message in line


def test_train_tool_refuses_a_missing_resume_checkpoint(tmp_path, images):
    config = classifier_config(tmp_path / 'fc.py', images, 'fc')
    missing = tmp_path / 'epoch_9.pth'
    line = refused('train', config, '--resume', missing, '--work-dir',
                   tmp_path / 'work')
    assert f'--resume {str(missing)!r} does not exist' in line


# tools/dist_train.sh and tools/dist_test.sh


@pytest.mark.parametrize('gpus', ['0', '-1', 'two', '1.5', ''])
@pytest.mark.parametrize('script', ['dist_train.sh', 'dist_test.sh'])
def test_dist_scripts_need_a_positive_gpu_count(tmp_path, script, gpus):
    """GPUS 0 ended in an AssertionError traceback of torchrun (exit 1)."""
    args = ['c.py', gpus] if script == 'dist_train.sh' else \
        ['c.py', 'c.pth', gpus]
    result = run_script('bash', f'tools/{script}', *args,
                        env=dict(PYTHON=sys.executable))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f'{script}: error: GPUS must be a positive integer (processes on '
        f"this node), got '{gpus}'")
