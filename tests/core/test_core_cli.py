"""tools/generate_ebvs.py run as a subprocess: success paths and bad input."""
import os
import subprocess
import sys

import pytest
import torch

from mmebv.core import load_ebvs
from tests_conftest import checkout_env

# each call starts a Python process importing torch: seconds apiece
pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, 'tools', 'generate_ebvs.py')


def run(*args):
    env = checkout_env(ROOT, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, TOOL, '--no-progress', *args],
                          capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300)


def test_generate_check_extend(tmp_path):
    out = str(tmp_path / 'a.safetensors')
    result = run('--num-classes', '10', '--dim', '5', '--seed', '1',
                 '--out', out)
    assert result.returncode == 0, result.stderr
    assert 'max |cos|' in result.stdout and 'lower bound' in result.stdout
    ebvs, meta = load_ebvs(out, 10, 5)
    assert meta['method'] == 'auto' and meta['seed'] == '1'
    assert float(meta['max_abs_cos']) == pytest.approx(1 / 3, rel=1e-3)

    result = run('--check', out)
    assert result.returncode == 0, result.stderr
    assert 'num_vectors=10' in result.stdout and '10 x 5' in result.stdout

    bigger = str(tmp_path / 'b.safetensors')
    result = run('--extend', out, '--num-classes', '12', '--out', bigger)
    assert result.returncode == 0, result.stderr
    extended, meta = load_ebvs(bigger, 12, 5)
    assert torch.equal(extended[:10], ebvs)
    assert meta['extended_from'] == 'a.safetensors'


def test_unreached_alpha_saves_and_exits_1(tmp_path):
    out = str(tmp_path / 'p.safetensors')
    result = run('--num-classes', '300', '--dim', '30', '--method', 'paper',
                 '--alpha', '0.2', '--time-limit', '0.5', '--out', out)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'target NOT reached' in result.stderr
    assert load_ebvs(out, 300, 30)[0].shape == (300, 30)


@pytest.mark.parametrize('args, message', [
    (['--num-classes', '30', '--dim', '10', '--alpha', '0.1'],
     'below the lower bound 0.262613 (Welch bound)'),
    (['--num-classes', '100', '--dim', '10', '--alpha', '0.4'],
     'below the lower bound 0.408248 (Levenshtein bound)'),
    (['--num-classes', '1', '--dim', '10'], 'at least 2'),
    (['--num-classes', '10', '--dim', '0'], 'positive integer'),
    (['--num-classes', 'ten', '--dim', '10'], "positive integer, got 'ten'"),
    (['--num-classes', '10', '--dim', '5', '--alpha', '-0.5'],
     'non-negative'),
    (['--num-classes', '10', '--dim', '5', '--alpha', 'x'], 'non-negative'),
    (['--num-classes', '10', '--dim', '5', '--seed', '-1'], 'non-negative'),
    (['--num-classes', '10', '--dim', '5', '--time-limit', '-3'],
     'non-negative'),
    (['--num-classes', '10', '--dim', '5', '--method', 'magic'],
     'invalid choice'),
    (['--num-classes', '10', '--dim', '5'], '--out'),
    (['--num-classes', '10', '--out', 'X.safetensors'], '--dim is required'),
])
def test_bad_arguments_exit_2(tmp_path, args, message):
    if '--out' not in args and message != '--out':
        args = args + ['--out', str(tmp_path / 'x.safetensors')]
    result = run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'error:' in result.stderr and message in result.stderr
    assert not os.path.exists(tmp_path / 'x.safetensors')


def test_missing_output_folders_are_created(tmp_path):
    """As in the README's first command on a fresh clone (no work_dirs/)."""
    out = tmp_path / 'no' / 'such' / 'dir' / 'x.safetensors'
    result = run('--num-classes', '10', '--dim', '5', '--out', str(out))
    assert result.returncode == 0, result.stderr
    assert out.is_file()


def test_unwritable_output_rejected_before_generating(tmp_path):
    (tmp_path / 'a_file').write_text('')
    in_the_way = str(tmp_path / 'a_file' / 'dir' / 'x.safetensors')
    result = run('--num-classes', '10', '--dim', '5', '--out', in_the_way)
    assert result.returncode == 2
    assert 'cannot write --out' in result.stderr
    assert 'generated in' not in result.stdout
    a_dir = tmp_path / 'd.safetensors'
    a_dir.mkdir()
    result = run('--num-classes', '10', '--dim', '5', '--out', str(a_dir))
    assert result.returncode == 2 and 'cannot write --out' in result.stderr


def test_not_an_ebv_file(tmp_path):
    junk = tmp_path / 'junk.safetensors'
    junk.write_bytes(b'definitely not safetensors')
    result = run('--check', str(junk))
    assert result.returncode == 2
    assert 'error:' in result.stderr and 'not a readable' in result.stderr
    result = run('--extend', str(junk), '--num-classes', '12', '--out',
                 str(tmp_path / 'y.safetensors'))
    assert result.returncode == 2 and 'not a readable' in result.stderr


def one_line_error(result, *fragments):
    """Exit code 2 and a single ``error:`` line naming ``fragments``."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and 'error:' in lines[0], result.stderr
    for fragment in fragments:
        assert fragment in lines[0], result.stderr


def test_check_refuses_invalid_sets(tmp_path):
    """Two equal rows used to pass --check with exit 0 and max |cos| 1."""
    from safetensors.torch import save_file
    ebvs = torch.nn.functional.normalize(torch.randn(6, 4), dim=1)
    ebvs[3] = ebvs[1]
    path = tmp_path / 'dup.safetensors'
    save_file({'ebvs': ebvs}, str(path))
    one_line_error(run('--check', str(path)), 'rows 1 and 3 coincide')
    single = tmp_path / 'one.safetensors'
    save_file({'ebvs': ebvs[:1].contiguous()}, str(single))
    one_line_error(run('--check', str(single)), 'at least 2')


@pytest.mark.parametrize('args, message', [
    (['--num-classes', '5', '--dim', '1'], 'dim >= 2'),
    (['--num-classes', '100', '--dim', '10', '--method', 'paper'],
     '--method paper needs --alpha'),
    (['--num-classes', '99999999', '--dim', '99999999'], 'GiB of memory'),
])
def test_impossible_requests_are_one_line_errors(tmp_path, args, message):
    out = tmp_path / 'x.safetensors'
    one_line_error(run(*args, '--out', str(out)), message)
    assert not out.exists()


def test_an_unwritable_output_names_the_path_given(tmp_path):
    """No file can be created in /proc/self, even by root."""
    out = '/proc/self/x.safetensors'
    result = run('--num-classes', '10', '--dim', '5', '--out', out)
    one_line_error(result, out)
    assert '.tmp-' not in result.stderr


def test_extension_honours_the_time_limit(tmp_path):
    base = str(tmp_path / 'base.safetensors')
    assert run('--num-classes', '500', '--dim', '100', '--time-limit', '2',
               '--out', base).returncode == 0
    result = run('--extend', base, '--num-classes', '550', '--time-limit',
                 '2', '--out', str(tmp_path / 'grown.safetensors'))
    assert result.returncode == 0, result.stderr
    seconds = float(result.stdout.split('generated in ')[1].split()[0])
    assert seconds < 2 + 6  # placement alone took 13 s before
