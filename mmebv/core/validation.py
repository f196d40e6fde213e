"""The one rule every EBV set must pass wherever it enters.

A file, a checkpoint, a cache entry, a generated or extended set and
whatever :func:`~.storage.save_ebvs` writes are checked by
:func:`check_ebvs`:

* every value is finite;
* every row has unit norm within :data:`NORM_TOLERANCE`;
* no two rows coincide: |cos| < :data:`COINCIDENT_COS` for every pair (two
  such classes cannot be told apart by their cosine scores).

The pairwise part is exact up to N^2 d = :data:`EXACT_PAIR_WORK`; larger
sets (structured sets excepted, which hold by construction) are checked for
rows that are equal or opposite bit for bit, which is what a duplicated or
copied row is.
"""
import hashlib
import math
from typing import Optional, Tuple

import torch
from torch import Tensor

from .errors import InvalidEBVError

#: Largest allowed deviation of a row norm from 1 (float32 sets written by
#: any tool sit within 1e-6).
NORM_TOLERANCE = 1e-4
#: Two rows with |cos| at least this are one direction: their classes
#: coincide.
COINCIDENT_COS = 1 - 1e-6
#: A set with max |cos| at least this is valid but poor (some classes are
#: within 26 degrees of each other): generating one warns.
POOR_COS = 0.9
#: Up to this N^2 d every pair is checked; above it, only bitwise repeats.
EXACT_PAIR_WORK = 2e10
#: Rows per tile of the pairwise scan.
BLOCK_ROWS = 1024


def row_norm_deviation(ebvs: Tensor) -> float:
    """Largest |norm - 1| over the rows (inf when a value is not finite)."""
    norms = torch.cat([block.double().norm(dim=1)
                       for block in ebvs.detach().split(4096)])
    if norms.numel() == 0:
        return 0.0
    return float((norms - 1).abs().nan_to_num(math.inf).max())


@torch.no_grad()
def most_similar_pair(ebvs: Tensor) -> Tuple[int, int, float]:
    """``(i, j, |cos|)`` of the pair of unit rows with the largest |cos|."""
    x = ebvs.detach().float()
    num = x.shape[0]
    best = (0, 1, -1.0)
    for start in range(0, num - 1, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, num)
        gram = (x[start:stop] @ x[start:].t()).abs()
        gram[:, :stop - start].triu_(1)  # the diagonal and below: not pairs
        value, index = gram.reshape(-1).max(0)
        if float(value) > best[2]:
            row, col = divmod(int(index), gram.shape[1])
            best = (start + row, start + col, float(value))
    return best


def repeated_rows(ebvs: Tensor) -> Optional[Tuple[int, int]]:
    """Two rows equal or opposite bit for bit, if any (O(N d))."""
    seen = {}
    for index, row in enumerate(ebvs.detach().to('cpu', torch.float32)):
        nonzero = row[row != 0]
        sign = -1.0 if nonzero.numel() and float(nonzero[0]) < 0 else 1.0
        key = hashlib.sha256((row * sign + 0.0).numpy().tobytes()).digest()
        if key in seen:
            return seen[key], index
        seen[key] = index
    return None


def check_ebvs(ebvs: Tensor, source: str, fix: str) -> None:
    """Raise :class:`InvalidEBVError` unless ``ebvs`` is a valid EBV set.

    Args:
        ebvs: An (N, d) tensor, rows = classes.
        source: Where the set comes from, for the message (e.g. ``"file
            'a.safetensors'"``, ``'the checkpoint'``).
        fix: What the user should do, for the message.

    Raises:
        InvalidEBVError: a value is not finite, a row is not unit-norm, or
            two rows coincide; the message names the source, the first
            offence and ``fix``.
    """
    if ebvs.dim() != 2:
        raise InvalidEBVError(f'{source}: expected an (N, d) tensor of EBVs, '
                              f'got shape {tuple(ebvs.shape)}. {fix}')
    finite = torch.isfinite(ebvs)
    if not bool(finite.all()):
        row = int((~finite).any(dim=1).nonzero()[0])
        raise InvalidEBVError(f'{source}: EBV row {row} holds a value that '
                              f'is not finite (NaN or inf). {fix}')
    deviation = row_norm_deviation(ebvs)
    if deviation > NORM_TOLERANCE:
        norms = ebvs.detach().double().norm(dim=1)
        row = int((norms - 1).abs().argmax())
        raise InvalidEBVError(
            f'{source}: EBV rows must have norm 1, row {row} has norm '
            f'{float(norms[row]):.6g}. {fix}')
    num, dim = ebvs.shape
    if num < 2:
        return
    if num * num * dim <= EXACT_PAIR_WORK:
        i, j, cos = most_similar_pair(ebvs)
        if cos >= COINCIDENT_COS:
            raise InvalidEBVError(
                f'{source}: EBV rows {i} and {j} coincide (|cos| = {cos:.7f}'
                f'); their classes cannot be told apart. {fix}')
        return
    pair = repeated_rows(ebvs)
    if pair is not None:
        raise InvalidEBVError(
            f'{source}: EBV rows {pair[0]} and {pair[1]} are the same '
            f'direction; their classes cannot be told apart. {fix}')
