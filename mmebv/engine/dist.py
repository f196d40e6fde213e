"""Distributed training and testing on machines without CUDA (gloo).

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and
``Runner.wrap_model`` hands ``device_ids=[LOCAL_RANK]`` to DDP; both fail for
CPU processes. :func:`setup_cpu_distributed` initialises the ``gloo`` process
group itself (mmengine then skips ``init_dist``) and selects
:class:`CPUDistributedDataParallel` as the model wrapper.
"""
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import MODEL_WRAPPERS
from torch import nn

#: Wrapper types a CPU run can replace: upstream's DDP wrapper and ours.
_DDP_TYPES = ('MMDistributedDataParallel', 'CPUDistributedDataParallel')


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for CPU modules.

    Passes ``device_ids=None`` (required by DDP for CPU modules) and turns
    SyncBN layers, which need CUDA when synchronising, into plain BN.

    Args:
        module (nn.Module): The model to wrap, on CPU.
        **kwargs: Other arguments of ``MMDistributedDataParallel``; a
            ``device_ids`` given is replaced by None.
    """

    def __init__(self, module: nn.Module, **kwargs) -> None:
        kwargs['device_ids'] = None
        super().__init__(module=revert_sync_batchnorm(module), **kwargs)


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Prepare a distributed run on CPU; a no-op when CUDA is available.

    Call before building the Runner. With ``launcher='pytorch'`` (torchrun's
    environment variables) and no CUDA, initialises ``gloo`` and sets
    ``cfg.model_wrapper_cfg`` to :class:`CPUDistributedDataParallel`,
    keeping its other options.

    Args:
        cfg (Config): The run's config; ``model_wrapper_cfg`` is changed in
            place.
        launcher (str): The ``--launcher`` value: ``'none'``,
            ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: Whether it set up a CPU run (False when ``launcher`` is
        ``'none'`` or CUDA is available).

    Raises:
        ValueError: If there is no CUDA and ``launcher`` is not
            ``'pytorch'``, or ``model_wrapper_cfg`` names a wrapper other
            than DistributedDataParallel.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise ValueError(
            f'Distributed runs without CUDA support --launcher pytorch '
            f'(torchrun, e.g. tools/dist_train.sh) and slurm '
            f'(tools/slurm_train.sh), got {launcher!r}.')
    wrapper_cfg = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper_type = wrapper_cfg.pop('type', 'MMDistributedDataParallel')
    if wrapper_type not in _DDP_TYPES:
        raise ValueError(
            f'model_wrapper_cfg type {wrapper_type!r} cannot run on CPU; '
            f'without CUDA only DistributedDataParallel ({_DDP_TYPES}) is '
            f'supported. Remove model_wrapper_cfg or run on GPUs.')
    wrapper_cfg.setdefault('broadcast_buffers', False)
    wrapper_cfg.setdefault('find_unused_parameters',
                           cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = dict(type='CPUDistributedDataParallel',
                                 **wrapper_cfg)
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    print_log(
        f'No CUDA: distributed run on CPU with gloo (rank '
        f'{torch_dist.get_rank()} of {torch_dist.get_world_size()}).',
        logger='current')
    return True
