import textwrap
from pathlib import Path

import pytest
from mmengine.config import Config


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config file outside the repo and load it as users would."""

    def write(text: str, name: str = 'user_config.py') -> Config:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return Config.fromfile(str(path))

    return write
