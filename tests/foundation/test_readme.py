"""The README names only configs and tools that exist; CI runs its test command."""
import itertools
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / 'README.md').read_text()
CONFIG_DIRS = ['configs', 'configs/ebv_pretrain', 'configs/ebv_pretrain/eval256',
               'tools']  # tools: names like `train.py` in prose


def expand_braces(name: str) -> list:
    """``a_{x,y}_b`` -> ``['a_x_b', 'a_y_b']`` (several groups allowed)."""
    parts = re.split(r'\{([^}]*)\}', name)
    choices = [[p] if i % 2 == 0 else p.split(',')
               for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*choices)]


def test_every_config_named_in_the_readme_exists():
    names = set(re.findall(r'(?:\w+::)?[\w./{},-]+\.py', README))
    configs = [n for n in names if '::' not in n and not n.startswith(
        ('tools/', 'benchmarks/', 'mmebv/', 'tests/'))]
    assert len(configs) >= 40
    missing = []
    for pattern in configs:
        for name in expand_braces(pattern.replace('{d}', '{100,200}')):
            if name.startswith('configs/'):
                found = (REPO / name).is_file()
            else:
                found = any((REPO / d / name).is_file() for d in CONFIG_DIRS)
            if not found and name not in ('config.py', 'setup.py'):
                missing.append(name)
    assert not missing, missing


def test_every_tool_named_in_the_readme_exists():
    tools = set(re.findall(r'(?:tools|benchmarks)/[\w/.-]+\.(?:py|sh)', README))
    assert {'tools/dist_train.sh', 'tools/generate_ebvs.py'} <= tools
    assert [t for t in tools if not (REPO / t).is_file()] == []


def test_ci_runs_the_readme_test_command():
    assert 'make test' in README
    assert 'make test' in (REPO / '.ci' / 'run').read_text()
    assert 'make demo' in README
