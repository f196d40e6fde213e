"""The tools tests share the dense tests' helpers and fixtures."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'dense'))

from dense_helpers import ade_root, coco_root, ebv_backbone  # noqa: E402,F401
