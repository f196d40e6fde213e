"""An on-disk cache of generated EBV sets.

A head without ``ebv_file`` generates its EBVs at every model build, on
every rank; for optimiser-made sets (e.g. 1000 x 300: tens of seconds) that
is paid again by every training, test and analysis run. The first build
writes the set here and later builds read it.

The key holds everything the values depend on: N, d, method, alpha, seed,
the torch version and a SHA-256 of the source files of :mod:`mmebv.core`
(any edit of the generator code gives new keys, so stale vectors are never
returned). The folder is ``$MMEBV_CACHE/ebvs`` (default
``~/.cache/mmebv/ebvs``, next to the environment cache of
``tools/setup_env.sh``). Files are written atomically, so ranks building at
once never read a partial file. Each entry records a SHA-256 of its key and
values, checked on every read with the rule of :mod:`.validation`: a
damaged, altered or misplaced entry is regenerated, with a warning.
"""
import functools
import hashlib
import os
import time
import warnings
from pathlib import Path
from typing import Optional

import torch
from torch import Tensor

from .generate import generate_ebvs
from .errors import EBVFileError
from .storage import load_ebvs, save_ebvs

#: Environment variable of the cache root (shared with tools/setup_env.sh).
CACHE_ENV = 'MMEBV_CACHE'
#: Sets that took less than this many seconds are not worth a file.
MIN_SECONDS = 1.0
#: Sets larger than this many elements (512 MiB) are not cached.
MAX_ELEMENTS = 1 << 27
CORE_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """``$MMEBV_CACHE/ebvs``, by default ``~/.cache/mmebv/ebvs``."""
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.path.expanduser('~'), '.cache', 'mmebv')
    return Path(root) / 'ebvs'


@functools.lru_cache(maxsize=None)
def source_digest(directory: Path = CORE_DIR) -> str:
    """SHA-256 of the names and contents of the ``.py`` files of
    ``directory`` (the generator code) and of the torch version."""
    digest = hashlib.sha256(torch.__version__.encode())
    for path in sorted(directory.glob('*.py')):
        digest.update(path.name.encode() + b'\0' + path.read_bytes() + b'\0')
    return digest.hexdigest()


def cache_path(num_vectors: int, dim: int, method: str,
               alpha: Optional[float], seed: int) -> Path:
    """Where the set of these generation arguments is cached."""
    alpha = None if alpha is None else float(alpha)
    key = hashlib.sha256(
        f'{num_vectors}:{dim}:{method}:{alpha!r}:{seed}:'
        f'{source_digest()}'.encode()).hexdigest()[:32]
    return cache_dir() / f'{num_vectors}x{dim}-{method}-{key}.safetensors'


def entry_checksum(key: str, ebvs: Tensor) -> str:
    """SHA-256 of a cache entry's key and float32 values."""
    digest = hashlib.sha256(key.encode() + b'\0')
    digest.update(ebvs.detach().to('cpu', torch.float32).contiguous()
                  .numpy().tobytes())
    return digest.hexdigest()


def read_entry(path: Path, num_vectors: int, dim: int) -> Optional[Tensor]:
    """The set cached at ``path``; None, with a warning, when the entry is
    damaged, invalid or does not carry its own key's checksum."""
    try:
        ebvs, metadata = load_ebvs(str(path), num_vectors, dim)
        if metadata.get('checksum') != entry_checksum(path.stem, ebvs):
            raise EBVFileError('its checksum does not match its key and '
                               'values')
    except EBVFileError as err:
        warnings.warn(f'The cached EBVs {path} are damaged or altered '
                      f'({err}); generating them again.')
        return None
    return ebvs


def cached_generate(num_vectors: int, dim: int, *, method: str = 'auto',
                    alpha: Optional[float] = None, seed: int = 0) -> Tensor:
    """:func:`generate_ebvs` through the cache (no progress bar).

    Args:
        num_vectors: N, the number of EBVs.
        dim: d, their dimension.
        method: Generation method (see :func:`generate_ebvs`).
        alpha: Target max |cos| (None: the method's default).
        seed: Seed of the random starts.

    Returns:
        The (N, d) float32 set: the cached one when a verified entry exists,
        else a freshly generated one (cached when it took long enough).
    """
    path = cache_path(num_vectors, dim, method, alpha, seed)
    if path.is_file():
        ebvs = read_entry(path, num_vectors, dim)
        if ebvs is not None:
            return ebvs
    start = time.monotonic()
    ebvs = generate_ebvs(num_vectors, dim, method=method, alpha=alpha,
                         seed=seed, progress=False)
    if (time.monotonic() - start >= MIN_SECONDS
            and ebvs.numel() <= MAX_ELEMENTS):
        try:
            save_ebvs(str(path), ebvs, dict(
                method=method, alpha=alpha, seed=seed, cache_key=path.stem,
                checksum=entry_checksum(path.stem, ebvs)))
        except OSError as err:
            warnings.warn(f'Could not cache the generated EBVs in {path} '
                          f'({err}); they will be generated again at the '
                          f'next build. Set {CACHE_ENV} to a writable '
                          f'folder.')
    return ebvs
