"""Structured Kerdock EBVs: logits by fast Walsh-Hadamard transforms.

A Kerdock set in R^n (n = 4^k) is the standard basis followed by bases
``{h_j * s_a}_j`` where ``h_j`` are the rows of the normalised
Sylvester-Hadamard matrix ``H_n`` and ``s_a`` is a fixed +-1 pattern per
basis (:func:`~.constructions.kerdock_vectors`). The cosines of an embedding
``x`` with all n vectors of basis a are therefore one transform
``H_n (s_a * x)``, and the whole set is described by its sign patterns.

``H_n = H_p (x) H_p`` with ``p = 2^k = sqrt(n)``, so the transform of a
vector reshaped to (p, p) is ``H_p Y H_p``: two batched p x p matrix
products (dense kernels, fast on CPU and GPU) instead of log2(n) butterfly
passes. ``H_n`` is symmetric and orthogonal, so the backward pass is the same
transform.

Embedding in d > n dims: exactly as the dense Kerdock set, the vectors are
zero-padded, i.e. they only have components in the first n channels, and
the cosine uses the embedding normalised over all d channels. Structured and
dense logits are therefore equal for any d; d = n wastes no projection
channel and is the recommended choice.
"""
import hashlib
import math
from typing import Dict, Optional

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from mmebv.fileio import atomic_file
from mmebv.version import __version__

from .constructions import (kerdock_capacity, kerdock_order,
                            kerdock_quadratic_forms, kerdock_vectors,
                            sylvester_hadamard)
from .errors import EBVFileError
from .storage import FORMAT_VERSION, STRUCTURED_KEY, check_size
#: Value of the ``form`` metadata of a structured file.
STRUCTURED_FORM = 'kerdock'


def check_kerdock_size(num_vectors: int, dim: int) -> int:
    """Return n = 4^k <= dim holding ``num_vectors``; raise ValueError if none.

    The error names the largest N a Kerdock set in ``dim`` dims can hold.
    """
    n = kerdock_order(dim)
    if n is None:
        raise ValueError(f'A Kerdock EBV set needs dim >= 4, got dim={dim}.')
    if num_vectors > kerdock_capacity(n):
        raise ValueError(
            f'A Kerdock EBV set in dim={dim} lives in R^{n} (the largest '
            f'4^k <= dim) and holds at most {kerdock_capacity(n):,} vectors; '
            f'got num_vectors={num_vectors:,}. Use at most '
            f'{kerdock_capacity(n)} classes, dim >= {4 * n}, or another '
            f'method.')
    return n


def kerdock_signs(num_vectors: int, dim: int) -> Tensor:
    """The +-1 patterns (int8, one row per Hadamard basis, n columns).

    Row a is ``(-1)^Q_a`` of :func:`~.constructions.kerdock_quadratic_forms`;
    there are ``ceil(N / n) - 1`` rows (the standard basis needs none).
    """
    n = check_kerdock_size(num_vectors, dim)
    num_bases = math.ceil(num_vectors / n) - 1
    if num_bases == 0:
        return torch.zeros(0, n, dtype=torch.int8)
    forms = kerdock_quadratic_forms(int(round(math.log2(n))), num_bases)
    return torch.from_numpy(1 - 2 * forms).to(torch.int8)


def hadamard_transform(values: Tensor, hadamard_root: Tensor) -> Tensor:
    """``H_n`` applied along the last dim (size n = p^2) of ``values``.

    ``hadamard_root`` is the normalised ``H_p``; ``H_n = H_p (x) H_p``.
    """
    p = hadamard_root.shape[0]
    square = values.reshape(-1, p, p)
    return (hadamard_root @ square @ hadamard_root).reshape(values.shape)


class _KerdockCosines(torch.autograd.Function):
    """(B, n) unit-normalised embeddings -> (B, N) dot products."""

    @staticmethod
    def forward(ctx, x: Tensor, signs: Tensor, hadamard_root: Tensor,
                num_vectors: int) -> Tensor:
        ctx.save_for_backward(signs, hadamard_root)
        ctx.num_vectors = num_vectors
        batch, n = x.shape
        out = x.new_empty(batch, num_vectors)
        first = min(n, num_vectors)
        out[:, :first] = x[:, :first]
        if num_vectors > n:
            transformed = hadamard_transform(x[:, None, :] * signs,
                                             hadamard_root)
            out[:, n:] = transformed.reshape(batch, -1)[:, :num_vectors - n]
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor):
        signs, hadamard_root = ctx.saved_tensors
        num_vectors = ctx.num_vectors
        batch, n = grad.shape[0], hadamard_root.shape[0]**2
        grad_x = grad.new_zeros(batch, n)
        first = min(n, num_vectors)
        grad_x[:, :first] = grad[:, :first]
        if num_vectors > n:
            rows = num_vectors - n
            padded = grad.new_empty(batch, signs.shape[0] * n)
            padded[:, :rows] = grad[:, n:]
            padded[:, rows:] = 0
            back = hadamard_transform(padded.view(batch, -1, n),
                                      hadamard_root)
            grad_x += back.mul_(signs).sum(1)
        return grad_x, None, None, None


class KerdockEBVs(nn.Module):
    """A Kerdock EBV set held as sign patterns, scored by fast transforms.

    ``forward(x)`` returns ``x @ dense().t()`` for (..., d) embeddings
    without forming the N x d matrix: O(N log n) per embedding instead of
    O(N d). The only state is the int8 ``signs`` buffer, (N / n) x n bytes.

    Args:
        num_vectors: N, up to n(n/2 + 1) for n the largest 4^k <= dim.
        dim: d, the embedding dimension (vectors zero-padded from n to d).
        signs: Precomputed :func:`kerdock_signs` (e.g. read from a file).
    """

    def __init__(self, num_vectors: int, dim: int,
                 signs: Optional[Tensor] = None) -> None:
        super().__init__()
        self.order = check_kerdock_size(num_vectors, dim)
        self.num_vectors, self.dim = num_vectors, dim
        expected = kerdock_signs(num_vectors, dim)
        if signs is not None and not torch.equal(signs.to(torch.int8),
                                                 expected):
            raise ValueError(
                f'The sign patterns given are not those of the Kerdock set '
                f'of {num_vectors} vectors in {dim} dims.')
        self.register_buffer('signs', expected)
        root = sylvester_hadamard(int(round(math.sqrt(self.order))))
        self.register_buffer('hadamard_root', root, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """Dot products of (..., d) embeddings with all N vectors."""
        if x.shape[-1] != self.dim:
            raise ValueError(f'Expected {self.dim} channels last, got shape '
                             f'{tuple(x.shape)}.')
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.dim)[:, :self.order].contiguous()
        out = _KerdockCosines.apply(
            flat, self.signs.to(flat.dtype),
            self.hadamard_root.to(flat.dtype), self.num_vectors)
        return out.reshape(*lead, self.num_vectors)

    def dense(self) -> Tensor:
        """The (N, d) float32 vectors scored against (the dense view)."""
        return kerdock_vectors(self.num_vectors, self.dim)[0]

    def fingerprint(self) -> Tensor:
        """SHA-256 of the form, N, d and signs, as a uint8 tensor of 32."""
        digest = hashlib.sha256(
            f'{STRUCTURED_FORM}:{self.num_vectors}:{self.dim}:'.encode() +
            self.signs.cpu().numpy().tobytes()).digest()
        return torch.tensor(list(digest), dtype=torch.uint8)

    @property
    def coherence(self) -> float:
        """Max |cos| between two of the vectors: 1/sqrt(n), 0 if N <= n."""
        return 1 / math.sqrt(self.order) if self.num_vectors > self.order \
            else 0.0

    def extra_repr(self) -> str:
        return (f'num_vectors={self.num_vectors}, dim={self.dim}, '
                f'order={self.order}')


def save_kerdock(path: str, ebvs: KerdockEBVs,
                 metadata: Optional[Dict[str, object]] = None) -> None:
    """Write the structured form (signs + metadata) atomically to ``path``."""
    meta = {str(k): str(v) for k, v in (metadata or {}).items()}
    meta.update(num_vectors=str(ebvs.num_vectors), dim=str(ebvs.dim),
                order=str(ebvs.order), form=STRUCTURED_FORM,
                max_abs_cos=f'{ebvs.coherence:.8g}',
                mmebv_version=__version__, format_version=FORMAT_VERSION)
    with atomic_file(path, suffix='.safetensors') as tmp:
        save_file({STRUCTURED_KEY: ebvs.signs.cpu().contiguous()}, tmp,
                  metadata=meta)


def is_structured_file(path: str) -> bool:
    """Whether ``path`` is a readable structured (Kerdock) EBV file."""
    try:
        with safe_open(path, framework='pt') as f:
            return STRUCTURED_KEY in f.keys()
    except (SafetensorError, OSError, ValueError, RuntimeError):
        return False


def load_kerdock(path: str,
                 num_vectors: Optional[int] = None,
                 dim: Optional[int] = None) -> KerdockEBVs:
    """Read a structured EBV file back into a :class:`KerdockEBVs`.

    Raises :class:`EBVFileError` if it is no structured file, its metadata
    is incomplete, its signs are not those of the Kerdock set it names, or
    its N / d differ from the expected ``num_vectors`` / ``dim``.
    """
    fix = (f'python tools/generate_ebvs.py --method kerdock --num-classes '
           f'{num_vectors or "N"} --dim {dim or "D"} --out {path}')
    if not is_structured_file(path):
        raise EBVFileError(f'{path!r} is not a structured (Kerdock) EBV '
                           f'file. Create one with: {fix}')
    with safe_open(path, framework='pt') as f:
        metadata = dict(f.metadata() or {})
        signs = f.get_tensor(STRUCTURED_KEY)
    try:
        found_n, found_d = int(metadata['num_vectors']), int(metadata['dim'])
        structured = KerdockEBVs(found_n, found_d, signs)
    except (KeyError, ValueError, RuntimeError) as err:
        raise EBVFileError(f'{path!r} is a damaged structured EBV file '
                           f'({err}). Regenerate it with: {fix}') from None
    check_size(path, f'a Kerdock set of {found_n} x {found_d}',
               (found_n, found_d), (num_vectors, dim), fix)
    return structured
