"""mmengine-level helpers shared by the three codebases."""
from .checkpoint import allow_mmengine_checkpoint_types
from .dist import CPUDistributedDataParallel, setup_cpu_distributed
from .runner import build_runner, load_config
from .safe_checkpoint import SafeCheckpointHook
from .pretrained import (PretrainedCheckHook, PretrainedLoadError,
                         check_pretrained_loaded)

__all__ = [
    'allow_mmengine_checkpoint_types', 'CPUDistributedDataParallel',
    'setup_cpu_distributed', 'PretrainedCheckHook', 'PretrainedLoadError',
    'check_pretrained_loaded', 'build_runner', 'load_config',
    'SafeCheckpointHook'
]
