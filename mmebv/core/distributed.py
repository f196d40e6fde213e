"""Every rank of a distributed run holds rank 0's EBVs."""
import torch
import torch.distributed as dist
from torch import Tensor


def rank_zero_copy(ebvs: Tensor) -> Tensor:
    """Rank 0's ``ebvs`` on every rank of an initialised process group.

    Generated sets differ between machines and thread counts, and DDP does
    not sync buffers when built with ``broadcast_buffers=False`` (mmengine's
    default), so every rank takes rank 0's. Every rank must build the model
    (as mmengine's Runner does): this is a collective.

    Args:
        ebvs: This rank's (N, d) set.

    Returns:
        Rank 0's set, on CPU (``ebvs`` itself outside a process group).
    """
    if not (dist.is_available() and dist.is_initialized()
            and dist.get_world_size() > 1):
        return ebvs
    device = (torch.device('cuda', torch.cuda.current_device())
              if dist.get_backend() == 'nccl' else torch.device('cpu'))
    shared = ebvs.to(device).contiguous()
    dist.broadcast(shared, src=0)
    return shared.cpu()
