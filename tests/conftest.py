"""Makes ``tests/`` importable, for helpers shared by several test folders
(``cuda_pickles``), and holds :func:`checkout_env`.

pytest imports every folder's ``conftest.py`` under the one name
``conftest``, so ``from conftest import ...`` would find whichever was
imported last: the test modules import this one's helpers as
``from tests_conftest import checkout_env``."""
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def checkout_env(root=REPO, /, **extra) -> dict:
    """The environment of a Python or tool the tests start: ``os.environ``
    and ``extra``, with ``root`` (this checkout, or a copy the test made)
    first on ``PYTHONPATH``, so that the child imports that checkout's
    mmebv whatever else is installed or on the path."""
    env = {**os.environ, **extra}
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(root), env.get('PYTHONPATH')) if p)
    return env


sys.modules['tests_conftest'] = sys.modules[__name__]
sys.path.insert(0, str(REPO / 'projects' / 'digits'))  # digits_lab
