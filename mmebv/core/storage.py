"""Reading and writing EBV sets as ``.safetensors`` files (no pickle)."""
import os
from typing import Dict, Optional, Tuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from safetensors import safe_open
from torch import Tensor

from mmebv.fileio import atomic_file
from mmebv.version import __version__

#: Version of the file layout (key ``ebvs`` plus the metadata below).
FORMAT_VERSION = '1'
TENSOR_KEY = 'ebvs'
#: Key of the sign patterns of a structured (Kerdock) file, read as dense.
STRUCTURED_KEY = 'kerdock_signs'
#: Largest allowed deviation of a row norm from 1.
NORM_TOLERANCE = 1e-4


class EBVFileError(ValueError):
    """An EBV file is missing, unreadable or does not match what is needed."""


def make_command(num_vectors: object, dim: object, out: str) -> str:
    """The command line that writes a matching EBV file."""
    return (f'python tools/generate_ebvs.py --num-classes {num_vectors} '
            f'--dim {dim} --out {out}')


def save_ebvs(path: str, ebvs: Tensor,
              metadata: Optional[Dict[str, object]] = None) -> None:
    """Write ``ebvs`` (N, d) atomically to ``path`` with string metadata.

    ``metadata`` may add e.g. method, seed, max_abs_cos and bound; the shape,
    mmebv version and format version are always recorded.
    """
    if ebvs.dim() != 2:
        raise ValueError(f'Expected an (N, d) tensor, got shape '
                         f'{tuple(ebvs.shape)}.')
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta.update(num_vectors=str(ebvs.shape[0]), dim=str(ebvs.shape[1]),
                mmebv_version=__version__, format_version=FORMAT_VERSION)
    tensor = ebvs.detach().to('cpu', torch.float32).contiguous()
    with atomic_file(path, suffix='.safetensors') as tmp:
        save_file({TENSOR_KEY: tensor}, tmp, metadata=meta)


def load_ebvs(path: str,
              num_vectors: Optional[int] = None,
              dim: Optional[int] = None) -> Tuple[Tensor, Dict[str, str]]:
    """Read and validate an EBV file; return ``(ebvs, metadata)``.

    A structured (Kerdock) file is returned in its dense view.
    Raises :class:`EBVFileError` saying what is wrong and how to make a
    matching file when the file is missing, unreadable, holds no float32
    (N, d) tensor under ``ebvs``, its metadata disagrees with the tensor, its
    rows are not unit-norm, or its shape differs from the expected
    ``num_vectors`` / ``dim``.
    """
    fix = make_command(num_vectors or 'N', dim or 'D', path)
    if not os.path.isfile(path):
        raise EBVFileError(f'EBV file {path!r} does not exist. Create it '
                           f'with: {fix}')
    try:
        with safe_open(path, framework='pt') as f:
            metadata = dict(f.metadata() or {})
            keys = list(f.keys())
        tensors = load_file(path) if TENSOR_KEY in keys else {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise EBVFileError(
            f'{path!r} is not a readable .safetensors EBV file ({err}). '
            f'Regenerate it with: {fix}') from None
    if STRUCTURED_KEY in keys:
        from .structured import load_kerdock  # it imports this module
        return load_kerdock(path, num_vectors, dim).dense(), metadata
    if TENSOR_KEY not in tensors:
        raise EBVFileError(f'{path!r} holds no tensor under the key '
                           f'{TENSOR_KEY!r} (keys: {keys}); it is not an EBV '
                           f'file. Regenerate it with: {fix}')
    ebvs = tensors[TENSOR_KEY]
    if ebvs.dim() != 2 or ebvs.dtype != torch.float32:
        raise EBVFileError(f'{path!r}: expected a 2-D float32 tensor, got '
                           f'shape {tuple(ebvs.shape)} and {ebvs.dtype}. '
                           f'Regenerate it with: {fix}')
    found_n, found_d = ebvs.shape
    for key, value in (('num_vectors', found_n), ('dim', found_d)):
        if key in metadata and metadata[key] != str(value):
            raise EBVFileError(
                f'{path!r} is inconsistent: metadata {key}={metadata[key]} '
                f'but the tensor is {found_n} x {found_d}. The file is '
                f'damaged; regenerate it with: {fix}')
    norms = torch.cat([block.double().norm(dim=1)
                       for block in ebvs.split(4096)])
    if not torch.isfinite(norms).all() or bool(
            ((norms - 1).abs() > NORM_TOLERANCE).any()):
        worst = float((norms - 1).abs().nan_to_num(float('inf')).max())
        raise EBVFileError(
            f'{path!r}: rows are not unit-norm (largest deviation {worst:.3g}'
            f' > {NORM_TOLERANCE}). The file is damaged or not an EBV file; '
            f'regenerate it with: {fix}')
    for name, expected, found in (('num_vectors', num_vectors, found_n),
                                  ('dim', dim, found_d)):
        if expected is not None and expected != found:
            raise EBVFileError(
                f'{path!r} holds {found_n} x {found_d} EBVs but {name}='
                f'{expected} is needed. Point to a matching file or create '
                f'one with: ' + make_command(num_vectors or found_n,
                                             dim or found_d,
                                             'FILE.safetensors'))
    return ebvs, metadata
