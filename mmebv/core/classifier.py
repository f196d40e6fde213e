"""The one cosine-against-EBVs classifier shared by every mmebv head."""
import hashlib
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .storage import EBVFileError, load_ebvs
from .generate import generate_ebvs
from .structured import KerdockEBVs, is_structured_file, load_kerdock

#: Above this many elements (128 MiB of float32) the EBVs are not saved in
#: checkpoints; only their fingerprint is, and loading checks it.
MAX_CHECKPOINTED_ELEMENTS = 1 << 25


def ebv_fingerprint(ebvs: Tensor) -> Tensor:
    """SHA-256 of the float32 bytes of ``ebvs``, as a uint8 tensor of 32."""
    data = ebvs.detach().to('cpu', torch.float32).contiguous().numpy().tobytes()
    digest = hashlib.sha256(data).digest()
    return torch.tensor(list(digest), dtype=torch.uint8)


def structured_ebvs(num_vectors: int, dim: int, ebv_file: Optional[str],
                    method: str) -> Optional[KerdockEBVs]:
    """The structured set asked for (a structured file or ``'kerdock'``)."""
    if ebv_file is None:
        return KerdockEBVs(num_vectors, dim) if method == 'kerdock' else None
    if not is_structured_file(ebv_file):
        return None
    try:
        return load_kerdock(ebv_file, num_vectors=num_vectors, dim=dim)
    except EBVFileError as err:
        raise EBVFileError(
            f'EBVs for num_classes={num_vectors}, ebv_dim={dim} cannot come '
            f'from ebv_file={ebv_file!r}: {err}') from err


class EBVClassifier(nn.Module):
    """Fixed equiangular basis vectors scoring embeddings by cosine / tau.

    The EBVs are a buffer (never trained, never in the optimizer). They come
    from ``ebv_file`` when given, else they are generated deterministically
    from ``method``, ``alpha`` and ``seed``. ``method='kerdock'`` (or a
    structured file) keeps only the sign patterns of a Kerdock set and
    scores by fast Walsh-Hadamard transforms (:mod:`.structured`), with the
    same logits as the dense set ``generate_ebvs(N, d, method='kerdock')``.
    Checkpoints carry the EBVs (or, above :data:`MAX_CHECKPOINTED_ELEMENTS`,
    only their SHA-256; the structured form: its signs and their SHA-256),
    and loading a state dict whose EBVs differ from the ones in use raises.

    Args:
        num_vectors: Number of EBVs N (one per class).
        dim: Embedding dimension d.
        tau: Temperature dividing the cosine similarities.
        ebv_file: A ``.safetensors`` file written by :func:`save_ebvs`.
        method: Generation method when no file is given.
        alpha: Target max |cos| for generation (None: the method's default).
        seed: Generation seed.
    """

    def __init__(self,
                 num_vectors: int,
                 dim: int,
                 tau: float = 0.07,
                 ebv_file: Optional[str] = None,
                 method: str = 'auto',
                 alpha: Optional[float] = None,
                 seed: int = 0) -> None:
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}.')
        self.num_vectors = num_vectors
        self.dim = dim
        self.tau = tau
        self.kerdock = structured_ebvs(num_vectors, dim, ebv_file, method)
        if self.kerdock is not None:
            self.source = (f'structured Kerdock set ({ebv_file!r})'
                           if ebv_file else 'structured Kerdock set')
            self.register_buffer('ebv_fingerprint',
                                 self.kerdock.fingerprint())
            return
        if ebv_file is not None:
            try:
                ebvs, _ = load_ebvs(ebv_file, num_vectors=num_vectors, dim=dim)
            except EBVFileError as err:
                raise EBVFileError(
                    f'EBVs for num_classes={num_vectors}, ebv_dim={dim} '
                    f'cannot come from ebv_file={ebv_file!r}: {err}') from err
            self.source = f'file {ebv_file!r}'
        else:
            ebvs = generate_ebvs(
                num_vectors, dim, method=method, alpha=alpha, seed=seed,
                progress=False)
            self.source = (f'generated with method={method!r}, '
                           f'alpha={alpha}, seed={seed}')
        self.register_buffer(
            'ebvs', ebvs,
            persistent=ebvs.numel() <= MAX_CHECKPOINTED_ELEMENTS)
        self.register_buffer('ebv_fingerprint', ebv_fingerprint(ebvs))

    def forward(self, embeddings: Tensor, channel_dim: int = -1) -> Tensor:
        """Cosine of each embedding with each EBV, divided by tau.

        ``embeddings`` holds d channels at ``channel_dim`` (``-1`` for
        (B, d) vectors, ``1`` for (B, d, H, W) maps); the result holds N
        scores there instead. Computed in float32, also under autocast.
        """
        if embeddings.shape[channel_dim] != self.dim:
            raise ValueError(
                f'Expected {self.dim} embedding channels at dim '
                f'{channel_dim}, got shape {tuple(embeddings.shape)}.')
        with torch.autocast(embeddings.device.type, enabled=False):
            x = F.normalize(embeddings.float(), dim=channel_dim)
            x = x.movedim(channel_dim, -1)
            if self.kerdock is not None:
                logits = self.kerdock(x) / self.tau
            else:
                logits = x @ self.ebvs.t() / self.tau
            return logits.movedim(-1, channel_dim)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        saved = state_dict.get(prefix + 'ebv_fingerprint')
        if saved is not None and not torch.equal(
                saved.cpu(), self.ebv_fingerprint.cpu()):
            raise EBVFileError(
                f'The checkpoint was trained with other EBVs than the ones '
                f'in use ({self.source}; {self.num_vectors} x {self.dim}). '
                f'Configure the EBV file (or generation settings) the '
                f'weights were trained with.')
        super()._load_from_state_dict(state_dict, prefix, local_metadata,
                                      strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def extra_repr(self) -> str:
        return (f'num_vectors={self.num_vectors}, dim={self.dim}, '
                f'tau={self.tau}, source: {self.source}')
