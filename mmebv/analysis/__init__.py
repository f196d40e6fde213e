"""Analysis of EBV models: CKA between layers, angles between EBVs (what
``tools/analysis/cka.py`` and ``tools/analysis/ebv_report.py`` run).

Pure torch/numpy; the figures (:mod:`mmebv.analysis.plots`) need matplotlib
and are imported on demand.
"""
from .angles import AngleHistogram, pairwise_angle_histogram
from .cka import MinibatchCKA, linear_cka, unbiased_hsic
from .features import (LAYER_PRESETS, LayerRecorder,
                       layerwise_cka, pool_features, select_layers)
from .io import (atomic_write_bytes, atomic_write_csv, atomic_write_json,
                 atomic_write_text)

__all__ = [
    'AngleHistogram', 'pairwise_angle_histogram', 'MinibatchCKA',
    'linear_cka', 'unbiased_hsic', 'LAYER_PRESETS', 'LayerRecorder',
    'layerwise_cka', 'pool_features', 'select_layers', 'atomic_write_bytes',
    'atomic_write_csv', 'atomic_write_json', 'atomic_write_text'
]
