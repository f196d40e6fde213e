"""EBV files for the mmpretrain-side tests."""
import os

import torch

from mmebv.core import save_ebvs


def random_ebvs(num_vectors: int, dim: int, seed: int = 0) -> torch.Tensor:
    """Unit rows (orthonormal when N <= d): a valid EBV file's content."""
    gen = torch.Generator().manual_seed(seed)
    rows = torch.randn(num_vectors, dim, generator=gen)
    if num_vectors <= dim:
        rows = torch.linalg.qr(rows.t())[0].t().contiguous()
    return torch.nn.functional.normalize(rows, dim=1)


def write_ebv_file(directory, num_vectors: int, dim: int,
                   seed: int = 0) -> str:
    """Write random EBVs to ``directory`` and return the file path."""
    path = os.path.join(str(directory), f'ebv_{num_vectors}x{dim}_s{seed}'
                        '.safetensors')
    if not os.path.exists(path):
        save_ebvs(path, random_ebvs(num_vectors, dim, seed))
    return path
