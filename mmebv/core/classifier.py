"""The one cosine-against-EBVs classifier shared by every mmebv head.

It glues the pieces of the EBV engine together: where the EBVs come from
(:mod:`.sources`), how embeddings are scored (:mod:`.scoring`) and the rule
for a checkpoint's EBVs on reload (:mod:`.trust`).
"""
from typing import Optional

import torch
from torch import Tensor, nn

from .scoring import bounded_normalize, check_tau
from .sources import resolve_ebvs
from .trust import (check_checkpoint_ebvs, check_fingerprint,
                    ebv_fingerprint, is_persistent)


def check_num_reserved(num_reserved: object) -> int:
    """``num_reserved``, or ``ValueError`` unless it is an int >= 0."""
    if isinstance(num_reserved, bool) or not isinstance(
            num_reserved, int) or num_reserved < 0:
        raise ValueError(f'num_reserved={num_reserved!r} must be a '
                         f'non-negative integer')
    return num_reserved


class EBVClassifier(nn.Module):
    """Fixed equiangular basis vectors scoring embeddings by cosine / tau.

    The EBVs are a float32 buffer (never trained, never in the optimizer,
    kept float32 when the module is cast to half precision). They come from
    ``ebv_file`` when given, else they are generated deterministically from
    ``method``, ``alpha`` and ``seed`` (once per machine through the cache
    of :mod:`.cache`; in a distributed run every rank takes rank 0's).
    Loading a state dict follows the rule of :mod:`.trust`.
    ``method='kerdock'`` (or a structured file) holds only the sign
    patterns of a Kerdock set and scores by fast Walsh-Hadamard transforms
    (:mod:`.structured`), with the logits of the dense set
    ``generate_ebvs(N, d, method='kerdock')``; its checkpoint state is the
    signs and their SHA-256.

    ``num_reserved`` K > 0 pre-allocates EBVs for classes to come: one set
    of N + K rows is generated (or read from ``ebv_file``) and held in the
    ``ebvs`` buffer, the N active rows first. Masked (the default), the
    logits score only the active rows; ``reserved_in_logits=True`` scores
    all N + K (the reserved ones as classes no target hits yet). Adding
    classes later activates reserved rows, whose vectors never change
    (``tools/add_classes.py``).

    Args:
        num_vectors (int): Number of active EBVs N (one per class).
        dim (int): Embedding dimension d.
        tau (float): Temperature dividing the cosine similarities, finite
            and >= :data:`~.scoring.MIN_TAU`. Defaults to 0.07.
        ebv_file (str, optional): A ``.safetensors`` file written by
            :func:`~.storage.save_ebvs` or ``tools/generate_ebvs.py``, or a
            folder holding ``eq_{d}_{N}.safetensors`` (d = ``dim``, N =
            num_classes + num_reserved); excludes non-default ``method``,
            ``alpha`` and ``seed``. Defaults to None (generate).
        method (str): Generation method when no file is given: ``'auto'``,
            ``'paper'`` or ``'kerdock'``. Defaults to ``'auto'``.
        alpha (float, optional): Target max |cos| for generation. Defaults
            to None (the method's default).
        seed (int): Generation seed. Defaults to 0.
        num_reserved (int): Extra EBVs K for future classes, generated with
            the active ones as one set (an ``ebv_file`` holds N + K rows).
            Defaults to 0.
        reserved_in_logits (bool): Whether the logits also score the
            reserved rows (N + K outputs). Defaults to False (N outputs).

    Raises:
        ValueError: a bad ``tau`` or ``num_reserved``, or ``ebv_file`` with
            generation arguments.
        EBVFileError: ``ebv_file`` is missing, damaged, invalid or of
            another shape; on load, a checkpoint with other or damaged EBVs.
    """

    def __init__(self,
                 num_vectors: int,
                 dim: int,
                 tau: float = 0.07,
                 ebv_file: Optional[str] = None,
                 method: str = 'auto',
                 alpha: Optional[float] = None,
                 seed: int = 0,
                 num_reserved: int = 0,
                 reserved_in_logits: bool = False) -> None:
        super().__init__()
        self.num_vectors = num_vectors
        self.num_reserved = check_num_reserved(num_reserved)
        self.reserved_in_logits = bool(reserved_in_logits)
        self.dim = dim
        self.tau = check_tau(tau)
        found = resolve_ebvs(self.num_rows, dim, ebv_file, method, alpha,
                             seed, num_reserved=num_reserved)
        self.kerdock = found.kerdock
        self.generated = found.generated
        self.source = found.description
        self.rebuild_hint = found.rebuild_hint
        if self.kerdock is not None:
            self.register_buffer('ebv_fingerprint',
                                 self.kerdock.fingerprint())
        else:
            self.register_buffer('ebvs', found.ebvs,
                                 persistent=is_persistent(found.ebvs))
            self.register_buffer('ebv_fingerprint',
                                 ebv_fingerprint(found.ebvs))
        self.register_buffer('ebv_recipe', found.recipe)

    @property
    def num_rows(self) -> int:
        """Rows of the EBV set: active and reserved."""
        return self.num_vectors + self.num_reserved

    @property
    def num_outputs(self) -> int:
        """Logits per embedding: N, or N + K with ``reserved_in_logits``."""
        return self.num_rows if self.reserved_in_logits else self.num_vectors

    def forward(self, embeddings: Tensor, channel_dim: int = -1) -> Tensor:
        """Cosine of each embedding with each EBV, divided by tau.

        Computed in float32 whatever the module and input dtypes, also
        under autocast; embeddings are normalised by
        :func:`~.scoring.bounded_normalize`.

        Args:
            embeddings: d channels at ``channel_dim`` (``-1`` for (B, d)
                vectors, ``1`` for (B, d, H, W) maps).
            channel_dim: Where the channels are.

        Returns:
            The logits, :attr:`num_outputs` scores at ``channel_dim``
            instead of d channels.
        """
        if embeddings.shape[channel_dim] != self.dim:
            raise ValueError(
                f'Expected {self.dim} embedding channels at dim '
                f'{channel_dim}, got shape {tuple(embeddings.shape)}.')
        with torch.autocast(embeddings.device.type, enabled=False):
            x = bounded_normalize(embeddings.float(), dim=channel_dim)
            x = x.movedim(channel_dim, -1)
            num = self.num_outputs
            if self.kerdock is not None:
                logits = self.kerdock(x / self.tau)  # scale the small side
                if num < self.num_rows:
                    logits = logits[..., :num]
            else:
                ebvs = self.ebvs if num == self.num_rows else self.ebvs[:num]
                logits = x @ ebvs.float().t() / self.tau
            return logits.movedim(-1, channel_dim)

    def _apply(self, fn, recurse=True):
        """Move the EBVs with the module, but keep them float32: ``.half()``
        or ``.to(torch.bfloat16)`` would round them (bf16: to 3 digits)."""
        if self.kerdock is not None:  # int8 signs are never cast
            return super()._apply(fn, recurse)
        ebvs = self.ebvs
        super()._apply(fn, recurse)
        self.ebvs = ebvs.to(self.ebvs.device)
        return self

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        saved = state_dict.get(prefix + 'ebvs')
        fingerprint = state_dict.get(prefix + 'ebv_fingerprint')
        if saved is not None and self.kerdock is None:
            diff = check_checkpoint_ebvs(
                saved, self.ebvs, generated=self.generated,
                saved_recipe=state_dict.get(prefix + 'ebv_recipe'),
                own_recipe=self.ebv_recipe,
                source=self.source)
            with torch.no_grad():
                self.ebvs.copy_(saved)
            if diff > 0:
                self.source = (f'the checkpoint, max |difference| '
                               f'{diff:.2g} from those {self.source}')
        elif fingerprint is not None:
            check_fingerprint(
                fingerprint, self.ebv_fingerprint,
                f'{self.source}; {self.num_rows} x {self.dim}',
                self.rebuild_hint)
        recipe = self.ebv_recipe.clone()
        fingerprint = self.ebv_fingerprint.clone()
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)
        with torch.no_grad():  # describe the EBVs now held, not the saved
            self.ebv_recipe.copy_(recipe)
            self.ebv_fingerprint.copy_(
                fingerprint if saved is None else ebv_fingerprint(self.ebvs))
        if prefix + 'ebv_recipe' in missing_keys:  # older checkpoints
            missing_keys.remove(prefix + 'ebv_recipe')

    def extra_repr(self) -> str:
        reserved = (f', num_reserved={self.num_reserved}, '
                    f'reserved_in_logits={self.reserved_in_logits}'
                    if self.num_reserved else '')
        return (f'num_vectors={self.num_vectors}{reserved}, dim={self.dim}, '
                f'tau={self.tau}, source: {self.source}')
