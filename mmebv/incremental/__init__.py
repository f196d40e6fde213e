"""Class-incremental recipe components, for the step that adds classes.

* :class:`FreezeTrunkHook` (mmengine ``HOOKS``): train only the classifier;
* :class:`HerdingExemplarsHook` (mmengine ``HOOKS``): exemplars chosen by
  herding on the model's features;
* :class:`DotRegressionLoss` and :class:`ERACELoss` (mmpretrain ``MODELS``);
* :class:`LwFClassifier` (mmpretrain ``MODELS``): distillation of the old
  classes' scores from the previous model;
* :class:`ReplayDataset` (mmpretrain ``DATASETS``): new data mixed with
  exemplars of the old classes;
* :class:`UnbiasedCrossEntropyLoss` (mmseg ``MODELS``): MiB's unbiased
  cross-entropy for segmentation steps whose label maps mark old classes
  as background.

``import mmebv`` registers this package lazily with each installed codebase,
so a config names them by type. The mmpretrain components need mmpretrain,
the mmseg loss mmseg; without them only the hooks are defined.
"""
import importlib.util

from .freeze import FreezeTrunkHook
from .herding import HerdingExemplarsHook

__all__ = ['FreezeTrunkHook', 'HerdingExemplarsHook']

if importlib.util.find_spec('mmpretrain') is not None:
    from .distill import LwFClassifier  # noqa: F401
    from .losses import DotRegressionLoss, ERACELoss  # noqa: F401
    from .replay import ReplayDataset  # noqa: F401
    __all__ += ['DotRegressionLoss', 'ERACELoss', 'LwFClassifier',
                'ReplayDataset']

if importlib.util.find_spec('mmseg') is not None:
    from .unbiased_ce import UnbiasedCrossEntropyLoss  # noqa: F401
    __all__ += ['UnbiasedCrossEntropyLoss']
