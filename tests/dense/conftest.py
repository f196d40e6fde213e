"""Fixtures of the dense-prediction tests: synthetic data, EBV backbones."""
from dense_helpers import ade_root, coco_root, ebv_backbone  # noqa: F401
