"""Reading and writing EBV sets as ``.safetensors`` files (no pickle).

Both directions apply the rule of :func:`~.validation.check_ebvs`: an
invalid set is never written, and never read back.
"""
import os
from typing import Dict, Optional, Tuple

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from safetensors import safe_open
from torch import Tensor

from mmebv.fileio import atomic_file
from mmebv.version import __version__
from .errors import EBVFileError
from .validation import NORM_TOLERANCE, check_ebvs  # noqa: F401

#: Version of the file layout (key ``ebvs`` plus the metadata below).
FORMAT_VERSION = '1'
TENSOR_KEY = 'ebvs'
#: Key of the sign patterns of a structured (Kerdock) file, read as dense.
STRUCTURED_KEY = 'kerdock_signs'
#: Suffixes of pickle files (such as the authors' ``eq_{d}_{N}.pkl``).
PICKLE_SUFFIXES = ('.pkl', '.pickle', '.pt', '.pth')


def make_command(num_vectors: object, dim: object, out: str) -> str:
    """The command line that writes a matching EBV file at ``out`` (a
    ``.safetensors`` path next to it when ``out`` is not one)."""
    stem, suffix = os.path.splitext(out)
    if suffix != '.safetensors':
        out = stem + '.safetensors'
    return (f'python tools/generate_ebvs.py --num-classes {num_vectors} '
            f'--dim {dim} --out {out}')


def pickle_hint(path: str) -> str:
    """How to turn a pickled EBV tensor into an EBV file."""
    return (f'{path!r} is a pickle (such as the authors\' eq_{{d}}_{{N}}.pkl)'
            f', not an EBV file. Convert it once with: python tools/'
            f'model_converters/ebv_pickle_to_safetensors.py {path} '
            f'{os.path.splitext(path)[0]}.safetensors, and use that file')


def save_ebvs(path: str, ebvs: Tensor,
              metadata: Optional[Dict[str, object]] = None) -> None:
    """Write ``ebvs`` (N, d) atomically to ``path`` with string metadata.

    Args:
        path: The ``.safetensors`` file to write (folders are created).
        ebvs: The EBVs, rows = classes.
        metadata: Extra string metadata, e.g. method, seed, max_abs_cos and
            bound; the shape, mmebv version and format version are always
            recorded.

    Raises:
        InvalidEBVError: ``ebvs`` breaks :func:`~.validation.check_ebvs`.
        OSError: ``path`` cannot be written (the message names it).
    """
    check_ebvs(ebvs, f'EBVs to be written to {path!r}',
               'Nothing was written; pass a valid set.')
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta.update(num_vectors=str(ebvs.shape[0]), dim=str(ebvs.shape[1]),
                mmebv_version=__version__, format_version=FORMAT_VERSION)
    tensor = ebvs.detach().to('cpu', torch.float32).contiguous()
    with atomic_file(path, suffix='.safetensors') as tmp:
        save_file({TENSOR_KEY: tensor}, tmp, metadata=meta)


def check_size(path: str, holds: str, found: Tuple[int, int],
               wanted: Tuple[Optional[int], Optional[int]], fix: str) -> None:
    """Raise ``EBVFileError`` unless the file's set (``found``: N, d) has the
    ``wanted`` N and d (``None``: any); ``holds`` says what the file holds
    and ``fix`` how to make a matching one."""
    for name, expected, got in zip(('num_vectors', 'dim'), wanted, found):
        if expected is not None and expected != got:
            raise EBVFileError(
                f'{path!r} holds {holds} but {name}={expected} is needed. '
                f'Point to a matching file or create one with: {fix}')


def load_ebvs(path: str,
              num_vectors: Optional[int] = None,
              dim: Optional[int] = None) -> Tuple[Tensor, Dict[str, str]]:
    """Read and validate an EBV file.

    A structured (Kerdock) file is returned in its dense view.

    Args:
        path: A file written by :func:`save_ebvs` (or ``--method kerdock``).
        num_vectors: The number of rows needed (None: any).
        dim: The dimension needed (None: any).

    Returns:
        ``(ebvs, metadata)``: the float32 (N, d) tensor and the file's
        string metadata.

    Raises:
        EBVFileError: the file is missing, unreadable, a pickle, holds no
            float32 (N, d) tensor under ``ebvs``, its metadata disagrees
            with the tensor, or its shape differs from ``num_vectors`` /
            ``dim``; :class:`InvalidEBVError` (a subclass) when the set
            breaks :func:`~.validation.check_ebvs`. The message says how to
            make a matching file.
    """
    fix = make_command(num_vectors or 'N', dim or 'D', path)
    if os.path.splitext(path)[1].lower() in PICKLE_SUFFIXES:
        raise EBVFileError(pickle_hint(path) + '.')
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
    check_size(path, f'{found_n} x {found_d} EBVs', (found_n, found_d),
               (num_vectors, dim),
               make_command(num_vectors or found_n, dim or found_d,
                            'FILE.safetensors'))
    check_ebvs(ebvs, f'EBV file {path!r}',
               f'The file is damaged or not an EBV file; regenerate it with: '
               f'{fix}')
    return ebvs, metadata
