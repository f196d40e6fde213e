"""The reload rule: the EBVs a checkpoint was trained against are the truth.

Checkpoints carry the EBVs (above :data:`MAX_CHECKPOINTED_ELEMENTS` only
their SHA-256) and, for generated sets, a digest of the generation
arguments. Loading one

* refuses saved EBVs that break :func:`~.validation.check_ebvs` (not
  finite, not unit rows, two rows coinciding), whatever else it records;
* adopts them when they equal the ones built here up to float noise
  (:data:`NOISE_TOLERANCE`): QR and BLAS results change in the last bits
  with the thread count and the CPU;
* adopts them as well when both sets were generated from the same arguments
  (N, d, method, alpha, seed) and the saved set is as good as the one built
  here (max |cos| within :data:`RECIPE_QUALITY_SLACK`): the optimiser
  amplifies those last-bit differences over its thousand steps, so a set
  generated on the training machine is the one the weights belong to;
* raises :class:`~.errors.EBVFileError` otherwise (another file, seed,
  method...), saying what differs and by how much;
* for a set too large to store, requires the fingerprint to match exactly.
"""
import hashlib
from typing import Optional

import torch
from torch import Tensor

from .bounds import max_abs_cos
from .errors import EBVFileError
from .validation import EXACT_PAIR_WORK, check_ebvs

#: Above this many elements (128 MiB of float32) the EBVs are not saved in
#: checkpoints; only their fingerprint is, and loading checks it.
MAX_CHECKPOINTED_ELEMENTS = 1 << 25
#: Largest |difference| between a checkpoint's EBVs and the ones built here
#: that counts as float noise. EBV entries are at most 1 in magnitude, where
#: float32 rounding is 6e-8: 1e-5 allows ~100 roundings of accumulated
#: difference, while two different sets differ by ~1 / sqrt(d) >= 0.01 (for
#: d <= 10^4) somewhere.
NOISE_TOLERANCE = 1e-5
#: A checkpoint's set generated from the same arguments is adopted only
#: when its max |cos| is at most this factor times that of the set built
#: here (two runs of the optimiser on different machines land within 1%).
RECIPE_QUALITY_SLACK = 1.05
#: What to do about a checkpoint whose EBVs are damaged.
DAMAGED_FIX = ('The checkpoint is damaged or was altered: load another '
               'checkpoint of the run, or retrain.')


def ebv_fingerprint(ebvs: Tensor) -> Tensor:
    """SHA-256 of the float32 bytes of ``ebvs``, as a uint8 tensor of 32.

    Args:
        ebvs (Tensor): The EBV set; it is hashed as contiguous float32 on
            the CPU, whatever its device and dtype.

    Returns:
        Tensor: The digest, a uint8 tensor of shape (32,).
    """
    data = ebvs.detach().to('cpu', torch.float32).contiguous().numpy()
    digest = hashlib.sha256(data.tobytes()).digest()
    return torch.tensor(list(digest), dtype=torch.uint8)


def recipe_digest(num_vectors: int, dim: int, method: str,
                  alpha: Optional[float], seed: int) -> Tensor:
    """SHA-256 of the arguments a set was generated from (uint8 x 32)."""
    alpha = None if alpha is None else float(alpha)
    text = f'generated:{num_vectors}:{dim}:{method}:{alpha!r}:{int(seed)}'
    return torch.tensor(list(hashlib.sha256(text.encode()).digest()),
                        dtype=torch.uint8)


def is_machine_independent(ebvs: Tensor) -> bool:
    """Whether every entry is 0 or +- a power of two, as in a Kerdock set in
    4^k dims (entries 1 and 2^-k): exact in float32, hence the same bytes
    from any computation on any machine."""
    for block in ebvs.detach().split(4096):
        nonzero = block[block != 0].abs()
        if not bool((torch.frexp(nonzero).mantissa == 0.5).all()):
            return False
    return True


def is_persistent(ebvs: Tensor) -> bool:
    """Whether ``ebvs`` is small enough to be stored in checkpoints."""
    return ebvs.numel() <= MAX_CHECKPOINTED_ELEMENTS


def _why_other(generated: bool, saved_recipe: Optional[Tensor]) -> str:
    """Why a checkpoint's differing EBVs are not adopted."""
    if not generated:
        return 'the EBVs in use come from a file'
    if saved_recipe is None:
        return 'the checkpoint does not record how its EBVs were made'
    if not saved_recipe.any():
        return 'the checkpoint was trained with an EBV file'
    return ('the checkpoint\'s EBVs were generated with other arguments '
            '(num_classes, ebv_dim, method, alpha or seed)')


def check_checkpoint_ebvs(saved: Tensor, own: Tensor, *, generated: bool,
                          saved_recipe: Optional[Tensor], own_recipe: Tensor,
                          source: str) -> float:
    """Apply the reload rule to a checkpoint's EBVs.

    Args:
        saved: The checkpoint's (N, d) EBVs (N: classes and reserved
            rows).
        own: The EBVs built here from the config.
        generated: Whether ``own`` was generated (not read from a file).
        saved_recipe: The checkpoint's generation digest (None: not saved).
        own_recipe: The digest of ``own``'s generation arguments.
        source: Where ``own`` comes from, for messages.

    Returns:
        The largest |difference| between ``saved`` and ``own``: the caller
        adopts ``saved``.

    Raises:
        EBVFileError: ``saved`` is invalid, of another shape, or another
            set (see this module's rule); the message says what to do.
    """
    saved = saved.detach().to('cpu', torch.float32)
    own = own.detach().to('cpu', torch.float32)
    num, dim = own.shape
    what = f'the ones in use ({source}; {num} x {dim})'
    if saved.shape != own.shape:
        raise EBVFileError(
            f'The checkpoint was trained with other EBVs than {what}: it '
            f'holds {saved.shape[0]} x {saved.shape[1]} EBVs (rows: '
            f'num_classes + num_reserved). Set num_classes, num_reserved '
            f'and ebv_dim (and ebv_file) to those the weights were trained '
            f'with.')
    check_ebvs(saved, 'The checkpoint\'s EBVs', DAMAGED_FIX)
    diff = float((saved - own).abs().max()) if own.numel() else 0.0
    if diff <= NOISE_TOLERANCE:
        return diff
    same_recipe = (generated and saved_recipe is not None
                   and torch.equal(saved_recipe.cpu(), own_recipe.cpu()))
    if not same_recipe:
        raise EBVFileError(
            f'The checkpoint was trained with other EBVs than {what}: they '
            f'differ by up to {diff:.3g} (float noise is <= '
            f'{NOISE_TOLERANCE:g}), and {_why_other(generated, saved_recipe)}'
            f'. Configure the ebv_file (or method, alpha and seed) the '
            f'weights were trained with.')
    if num > 1 and num * num * dim <= EXACT_PAIR_WORK:
        saved_mu, own_mu = max_abs_cos(saved), max_abs_cos(own)
        if saved_mu > own_mu * RECIPE_QUALITY_SLACK + 1e-6:
            raise EBVFileError(
                f'The checkpoint\'s EBVs claim the generation arguments of '
                f'{what} but are not such a set: max |cos| {saved_mu:.4g} '
                f'against {own_mu:.4g} here. {DAMAGED_FIX}')
    return diff


def check_fingerprint(saved: Tensor, own: Tensor, source: str,
                      rebuild_hint: str) -> None:
    """Raise :class:`~.errors.EBVFileError` unless a checkpoint's
    fingerprint ``saved`` equals ``own`` (for sets not stored in
    checkpoints, which must be rebuilt bit for bit: ``rebuild_hint``)."""
    if not torch.equal(saved.cpu(), own.cpu()):
        raise EBVFileError(
            f'The checkpoint was trained with other EBVs than the ones in '
            f'use ({source}): their SHA-256 differs. A set this large is '
            f'not stored in checkpoints, so it must be rebuilt bit for bit: '
            f'{rebuild_hint}.')
