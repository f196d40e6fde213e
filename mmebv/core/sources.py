"""Where a head's EBVs come from: a file, the cache of generated sets, or
the generator; dense or structured (Kerdock signs)."""
import os
import warnings
from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from .cache import cached_generate
from .distributed import rank_zero_copy
from .errors import EBVFileError
from .storage import load_ebvs
from .structured import KerdockEBVs, is_structured_file, load_kerdock
from .trust import is_machine_independent, is_persistent, recipe_digest

#: The generation arguments and their defaults; an ``ebv_file`` excludes
#: the others.
GENERATION_DEFAULTS = dict(method='auto', alpha=None, seed=0)
#: The generation digest recorded for a set that was not generated.
NO_RECIPE = torch.zeros(32, dtype=torch.uint8)


@dataclass
class EBVSource:
    """A head's EBVs and how they were made.

    Attributes:
        ebvs: The dense (N, d) float32 set (None for a structured one).
        kerdock: The structured set (None for a dense one).
        description: Where they come from, for messages.
        generated: Whether they were generated (not read from a file).
        recipe: SHA-256 of the generation arguments (zeros for a file).
        rebuild_hint: How to rebuild the set bit for bit when it is too
            large to be stored in checkpoints.
    """
    ebvs: Optional[Tensor]
    kerdock: Optional[KerdockEBVs]
    description: str
    generated: bool
    recipe: Tensor
    rebuild_hint: str


def generate_command(num_vectors: int, dim: int, method: str,
                     alpha: Optional[float], seed: int) -> str:
    """The ``tools/generate_ebvs.py`` line writing this generated set."""
    extra = ''.join(
        f' --{name} {value}' for name, value in (
            ('method', method), ('alpha', alpha), ('seed', seed))
        if value != GENERATION_DEFAULTS[name])
    return (f'python tools/generate_ebvs.py --num-classes {num_vectors} '
            f'--dim {dim}{extra} --out work_dirs/ebvs_{num_vectors}x{dim}'
            f'.safetensors')


def rows_text(num_vectors: int, num_reserved: int = 0) -> str:
    """How a head's EBV rows are named in messages: ``num_classes=N``, or
    ``num_classes + num_reserved=N + K = T`` with reserved rows."""
    if not num_reserved:
        return f'num_classes={num_vectors}'
    return (f'num_classes + num_reserved={num_vectors - num_reserved} + '
            f'{num_reserved} = {num_vectors} rows')


def file_in_folder(ebv_file: str, num_vectors: int, dim: int) -> str:
    """The file a head reads from ``ebv_file``: the file itself, or, for a
    folder, its ``eq_{d}_{N}.safetensors`` (the authors' naming).

    Raises:
        EBVFileError: ``ebv_file`` is a folder without that file.
    """
    if not os.path.isdir(ebv_file):
        return ebv_file
    name = f'eq_{dim}_{num_vectors}.safetensors'
    path = os.path.join(ebv_file, name)
    if not os.path.isfile(path):
        present = sorted(f for f in os.listdir(ebv_file)
                         if f.endswith('.safetensors'))
        raise EBVFileError(
            f'ebv_file={ebv_file!r} is a folder, so the head reads {name} '
            f'from it (d={dim}, N={num_vectors}), which is not there (it '
            f'holds: {", ".join(present) or "no .safetensors file"}). Write '
            f'it with tools/model_converters/ebv_pickle_to_safetensors.py '
            f'(--rows {num_vectors} keeps the first rows of a larger set) or '
            f'tools/generate_ebvs.py --out {path}, or name a file.')
    return path


def structured_ebvs(num_vectors: int, dim: int, ebv_file: Optional[str],
                    method: str,
                    num_reserved: int = 0) -> Optional[KerdockEBVs]:
    """The structured set asked for (a structured file or ``'kerdock'``);
    ``num_vectors`` counts the reserved rows, ``num_reserved`` names them in
    messages."""
    if ebv_file is None:
        return KerdockEBVs(num_vectors, dim) if method == 'kerdock' else None
    if not is_structured_file(ebv_file):
        return None
    try:
        return load_kerdock(ebv_file, num_vectors=num_vectors, dim=dim)
    except EBVFileError as err:
        raise EBVFileError(
            f'EBVs for {rows_text(num_vectors, num_reserved)}, ebv_dim={dim} '
            f'cannot come from ebv_file={ebv_file!r}: {err}') from err


def _from_file(num_vectors: int, dim: int, ebv_file: str,
               num_reserved: int = 0, **generation) -> Tensor:
    """A dense set read from ``ebv_file`` (generation arguments refused)."""
    given = {name: value for name, value in generation.items()
             if value != GENERATION_DEFAULTS[name]}
    if given:
        raise ValueError(
            f'ebv_file={ebv_file!r} conflicts with '
            + ', '.join(f'{k}={v!r}' for k, v in given.items()) +
            ': the EBVs come from the file, and method, alpha and seed only '
            'say how to generate EBVs when no file is given. Remove them (a '
            'file records its own generation settings: python '
            'tools/generate_ebvs.py --check FILE), or remove ebv_file to '
            'generate.')
    try:
        return load_ebvs(ebv_file, num_vectors=num_vectors, dim=dim)[0]
    except EBVFileError as err:
        raise EBVFileError(
            f'EBVs for {rows_text(num_vectors, num_reserved)}, ebv_dim={dim} '
            f'cannot come from ebv_file={ebv_file!r}: {err}') from err


def resolve_ebvs(num_vectors: int, dim: int, ebv_file: Optional[str] = None,
                 method: str = 'auto', alpha: Optional[float] = None,
                 seed: int = 0, num_reserved: int = 0) -> EBVSource:
    """The EBVs of a head, from its arguments.

    Args:
        num_vectors: N, one EBV per class, reserved rows included (one set
            of N rows is generated or read).
        dim: d, the embedding dimension.
        ebv_file: A dense or structured EBV file, or a folder holding
            ``eq_{d}_{N}.safetensors`` files (such as the authors' converted
            sets); excludes non-default ``method``, ``alpha`` and ``seed``.
        method: Generation method when no file is given (``'kerdock'``:
            the structured set).
        alpha: Generation target max |cos| (None: the method's default).
        seed: Generation seed.
        num_reserved: How many of the ``num_vectors`` rows are reserved for
            future classes; only for messages. Defaults to 0.

    Returns:
        The :class:`EBVSource`. Generated sets come through the cache and,
        in a distributed run, are rank 0's on every rank.

    Raises:
        EBVFileError: ``ebv_file`` (or its folder's file) is missing,
            damaged, invalid or of another shape.
        ValueError: ``ebv_file`` given with generation arguments.
    """
    if ebv_file is not None:
        ebv_file = file_in_folder(ebv_file, num_vectors, dim)
    kerdock = structured_ebvs(num_vectors, dim, ebv_file, method,
                              num_reserved)
    if kerdock is not None:  # signs only, fast transforms
        return EBVSource(
            None, kerdock, (f'structured Kerdock set ({ebv_file!r})'
                            if ebv_file else 'structured Kerdock set'),
            ebv_file is None, NO_RECIPE.clone(),
            f"use method='kerdock' with "
            f'{rows_text(num_vectors, num_reserved)}, ebv_dim={dim}')
    if ebv_file is not None:
        ebvs = _from_file(num_vectors, dim, ebv_file, num_reserved,
                          method=method, alpha=alpha, seed=seed)
        return EBVSource(ebvs, None, f'file {ebv_file!r}', False,
                         NO_RECIPE.clone(),
                         'set ebv_file to the file the weights used')
    ebvs = rank_zero_copy(cached_generate(
        num_vectors, dim, method=method, alpha=alpha, seed=seed))
    description = (f'generated with method={method!r}, alpha={alpha}, '
                   f'seed={seed}')
    hint = 'set ebv_file to the file the weights used'
    if not is_persistent(ebvs):
        command = generate_command(num_vectors, dim, method, alpha, seed)
        hint = (f'load it with the EBV file the weights were trained with, '
                f'and train with a file (written by: {command})')
        if not is_machine_independent(ebvs):
            warnings.warn(
                f'{num_vectors} x {dim} EBVs are too large to be stored in '
                f'checkpoints (only their SHA-256 is), and generated ones '
                f'({description}) differ between machines and thread '
                f'counts: a checkpoint trained with them may not load '
                f'elsewhere. Write them to a file once with: {command}, and '
                f'set ebv_file to it.')
    return EBVSource(ebvs, None, description, True,
                     recipe_digest(num_vectors, dim, method, alpha, seed),
                     hint)
