"""The README and the documentation pages name only configs and tools that
exist, the README's quick start runs in a fresh clone, and CI runs its test
command."""
import itertools
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests_conftest import checkout_env

REPO = Path(__file__).resolve().parents[2]
README = (REPO / 'README.md').read_text()
#: The README and the pages of docs/en it links to (the model zoo and the user
#: guides moved there). reference.md is left out: it names the authors' own
#: scripts (presets.py...), which are not in this repository.
DOCS = README + ''.join(
    page.read_text() for page in sorted((REPO / 'docs' / 'en').rglob('*.md'))
    if page.name != 'reference.md')
CONFIG_DIRS = ['configs', 'configs/_base_', 'configs/ebv_pretrain',
               'configs/ebv_pretrain/eval256',
               'tools']  # tools: names like `train.py` in prose


def expand_braces(name: str) -> list:
    """``a_{x,y}_b`` -> ``['a_x_b', 'a_y_b']`` (several groups allowed)."""
    parts = re.split(r'\{([^}]*)\}', name)
    choices = [[p] if i % 2 == 0 else p.split(',')
               for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*choices)]


def test_every_config_named_in_the_readme_exists():
    names = set(re.findall(r'(?:\w+::)?[\w./{},-]+\.py', DOCS))
    configs = [n for n in names if '::' not in n and not n.startswith(
        ('tools/', 'benchmarks/', 'mmebv/', 'tests/', 'work_dirs/'))]
    assert len(configs) >= 40
    missing = []
    for pattern in configs:
        for name in expand_braces(pattern.replace('{d}', '{100,200}')):
            if name.startswith('configs/'):
                found = (REPO / name).is_file()
            else:
                found = any((REPO / d / name).is_file() for d in CONFIG_DIRS)
            if not found and name not in ('config.py', 'setup.py',
                                          'my_config.py'):
                missing.append(name)
    assert not missing, missing


def test_every_tool_named_in_the_readme_exists():
    tools = set(re.findall(r'(?:tools|benchmarks)/[\w/.-]+\.(?:py|sh)', DOCS))
    assert {'tools/dist_train.sh', 'tools/generate_ebvs.py'} <= tools
    assert [t for t in tools if not (REPO / t).is_file()] == []


def test_ci_runs_the_readme_test_command():
    assert 'make test' in README
    assert 'make test' in (REPO / '.ci' / 'run').read_text()
    assert 'make demo' in README


def quick_start_commands(readme: str) -> list:
    """The shell commands of the README's Quick start (continuations
    joined), in order."""
    section = readme.split('## Quick start', 1)[1].split('\n## ', 1)[0]
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', section, flags=re.S):
        for line in block.replace('\\\n', ' ').splitlines():
            if line.strip() and not line.lstrip().startswith('#'):
                commands.append(' '.join(line.split()))
    return commands


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_of(words: list) -> str:
    """The script a shell command runs."""
    return words[1] if words[0] in ('python', 'bash') else words[0]


def runnable(command: str, clone: Path) -> list:
    """The README command, cut down to what runs without data or GPUs:
    EBV generation with tiny sizes, the other tools' ``--help`` (the
    configs and scripts they name must exist)."""
    words = shlex.split(command)
    tool = tool_of(words)
    if tool == 'tools/generate_ebvs.py':
        scale = {'--num-classes': 50, '--dim': 40}
        for i, word in enumerate(words[:-1]):
            if word in scale:
                words[i + 1] = str(max(2, int(words[i + 1]) // scale[word]))
        return words + ['--no-progress']
    if tool in ('tools/dist_train.sh', 'tools/dist_test.sh'):
        assert (clone / words[1]).is_file(), f'{command}: no {words[1]}'
        return words[:-1] + ['1', '--help']  # one process, no data read
    if tool.startswith('tools/model_converters/') or tool in (
            'tools/add_classes.py', 'tools/train.py', 'tools/test.py'):
        config = next((w for w in words[2:] if w.endswith('.py')), None)
        if tool != 'tools/add_classes.py' and config is not None:
            assert (clone / config).is_file(), f'{command}: no {config}'
        return ['python', tool, '--help']
    if words[0] == 'mim':
        assert (clone / words[3]).is_file(), f'{command}: no {words[3]}'
        return ['mim', words[1], '--help']
    raise AssertionError(f'The README quick start has a new command: '
                         f'{command!r}; teach {__file__} how to run it.')


def fresh_clone(destination: Path) -> Path:
    """What a fresh ``git clone`` of this working tree holds: the files git
    tracks or would track (nothing ignored: no work_dirs/, no .venv)."""
    listed = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard',
         '-z'], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split('\0')):
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def run_in_a_fresh_clone(commands: list, tmp_path: Path) -> Path:
    """Run ``commands`` (cut down by :func:`runnable`) in order in a fresh
    clone; return the clone."""
    clone = fresh_clone(tmp_path / 'clone')
    assert not (clone / 'work_dirs').exists()
    bin_dir = os.path.dirname(sys.executable)
    env = checkout_env(clone,
                       PATH=bin_dir + os.pathsep + os.environ['PATH'],
                       PYTHON=sys.executable,
                       MMEBV_CACHE=str(tmp_path / 'cache'))
    for command in commands:
        env['PORT'] = str(free_port())
        result = subprocess.run(runnable(command, clone), cwd=clone, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (
            f'{command!r} failed in a fresh clone:\n{result.stderr[-3000:]}')
    return clone


def test_quick_start_names_the_commands_this_test_runs():
    commands = quick_start_commands(README)
    assert commands[0].startswith('python tools/generate_ebvs.py')
    assert len(commands) >= 8


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / '.git').exists(), reason='needs a checkout')
def test_quick_start_runs_in_a_fresh_clone(tmp_path):
    clone = run_in_a_fresh_clone(quick_start_commands(README), tmp_path)
    assert (clone / 'work_dirs' / 'ebvs_1100x300.safetensors').is_file()


#: Shell lines of the user guides that set up a machine or need their own
#: data (run by CI's own set-up, or shown with the data they need).
SET_UP = ('pip ', 'MMCV_WITH_OPS=1 ', 'make ', 'mkdir ', 'NNODES=', 'GPUS=')


def guide_commands() -> list:
    """The shell commands of docs/en/get_started.md and the user guides
    (continuations joined), in page order."""
    pages = [REPO / 'docs' / 'en' / 'get_started.md'] + sorted(
        (REPO / 'docs' / 'en' / 'user_guides').glob('*.md'))
    commands = []
    for page in pages:
        for block in re.findall(r'```bash\n(.*?)```', page.read_text(),
                                flags=re.S):
            for line in block.replace('\\\n', ' ').splitlines():
                line = ' '.join(line.split('#', 1)[0].split())
                if line and not line.startswith(SET_UP):
                    commands.append(line)
    return commands


def test_user_guides_name_the_commands_this_test_runs():
    tools = {tool_of(shlex.split(c)) for c in guide_commands()}
    assert {'tools/generate_ebvs.py', 'tools/add_classes.py',
            'tools/dist_train.sh'} <= tools


@pytest.mark.slow
@pytest.mark.skipif(not (REPO / '.git').exists(), reason='needs a checkout')
def test_user_guide_commands_run_in_a_fresh_clone(tmp_path):
    """Generation commands at small sizes, in the guides' order (--check and
    --extend read what the earlier ones wrote); the others' configs exist and
    their tools start."""
    clone = run_in_a_fresh_clone(guide_commands(), tmp_path)
    assert (clone / 'work_dirs' / 'ebvs_1100x300.safetensors').is_file()
