"""The one cosine-against-EBVs classifier shared by every mmebv head.

Trust on reload: the EBVs a checkpoint was trained against are the truth.
Checkpoints carry the EBVs (above :data:`MAX_CHECKPOINTED_ELEMENTS` only
their SHA-256) and, for generated sets, a digest of the generation
arguments. Loading one

* adopts its EBVs when they equal the ones built here up to float noise
  (:data:`NOISE_TOLERANCE`): QR and BLAS results change in the last bits
  with the thread count and the CPU;
* adopts them as well when both sets were generated from the same arguments
  (N, d, method, alpha, seed) and the saved set is as good as the one built
  here (max |cos| within :data:`RECIPE_QUALITY_SLACK`): the optimiser
  amplifies those last-bit differences over its thousand steps, so a set
  generated on the training machine is the one the weights belong to;
* raises :class:`EBVFileError` otherwise (another file, seed, method...),
  saying what differs and by how much;
* for a set too large to store, requires the fingerprint to match exactly.

Saved EBVs are adopted only when they pass :func:`~.validation.check_ebvs`
(finite, unit rows, no two coinciding): zeroed, rescaled or duplicated rows
are refused whatever the checkpoint records.

Scoring is bounded: embeddings are normalised by :func:`bounded_normalize`,
whose gradient stays below ~1 / :data:`NORM_EPS` (zero at a zero
embedding), and tau is at least :data:`MIN_TAU`, so logits stay within
1 / tau and gradients finite in float32, float16 and bfloat16.
"""
import hashlib
import math
import warnings
from typing import Optional

import torch
import torch.distributed as dist
from torch import Tensor, nn

from .bounds import max_abs_cos
from .cache import cached_generate
from .errors import EBVFileError
from .storage import load_ebvs
from .structured import KerdockEBVs, is_structured_file, load_kerdock
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
#: The generation arguments and their defaults; an ``ebv_file`` excludes
#: the others.
GENERATION_DEFAULTS = dict(method='auto', alpha=None, seed=0)
#: Embedding norm below which scores fade smoothly to zero (see
#: :func:`bounded_normalize`): the cosine of an embedding of norm r is
#: scaled by r^2 / (r^2 + NORM_EPS^2), 1 - 1e-6 at r = 1.
NORM_EPS = 1e-3
#: Smallest temperature: logits are at most 1 / tau in magnitude.
MIN_TAU = 1e-3


def check_tau(tau: float) -> float:
    """``tau`` as a float; ValueError unless finite and >= :data:`MIN_TAU`."""
    if (isinstance(tau, bool) or not isinstance(tau, (int, float))
            or not math.isfinite(tau) or tau < MIN_TAU):
        raise ValueError(
            f'tau must be a finite number >= {MIN_TAU:g} (logits are cos / '
            f'tau), got {tau!r}; the paper uses tau = 0.07.')
    return float(tau)


def bounded_normalize(x: Tensor, dim: int = -1,
                      eps: float = NORM_EPS) -> Tensor:
    """``x / |x|`` along ``dim``, fading smoothly to zero for ``|x| << eps``.

    Computes ``x |x| / (|x|^2 + eps^2)``: equal to ``x / |x|`` up to a
    factor ``1 - eps^2 / |x|^2`` for long vectors, zero with a zero
    gradient at ``x = 0``, and with a Jacobian of norm at most
    ``0.65 / eps`` everywhere (``F.normalize``'s reaches 1e12 at zero).

    Args:
        x: Embeddings, any float dtype (computed as given).
        dim: The channel dimension.
        eps: The norm below which the result fades to zero.

    Returns:
        A tensor of ``x``'s shape with rows of norm < 1.
    """
    norm = torch.linalg.vector_norm(x, dim=dim, keepdim=True)
    return x * (norm / (norm * norm + eps * eps))


def ebv_fingerprint(ebvs: Tensor) -> Tensor:
    """SHA-256 of the float32 bytes of ``ebvs``, as a uint8 tensor of 32."""
    data = ebvs.detach().to('cpu', torch.float32).contiguous().numpy().tobytes()
    digest = hashlib.sha256(data).digest()
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


def rank_zero_copy(ebvs: Tensor) -> Tensor:
    """Rank 0's ``ebvs`` on every rank of an initialised process group.

    Generated sets differ between machines and thread counts, and DDP does
    not sync buffers when built with ``broadcast_buffers=False`` (mmengine's
    default), so every rank takes rank 0's. Every rank must build the model
    (as mmengine's Runner does): this is a collective.
    """
    if not (dist.is_available() and dist.is_initialized()
            and dist.get_world_size() > 1):
        return ebvs
    device = (torch.device('cuda', torch.cuda.current_device())
              if dist.get_backend() == 'nccl' else torch.device('cpu'))
    shared = ebvs.to(device).contiguous()
    dist.broadcast(shared, src=0)
    return shared.cpu()


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

    The EBVs are a float32 buffer (never trained, never in the optimizer,
    kept float32 when the module is cast to half precision). They come from
    ``ebv_file`` when given, else they are generated deterministically from
    ``method``, ``alpha`` and ``seed`` (once per machine: see
    :mod:`.cache`; in a distributed run every rank takes rank 0's). Loading
    a state dict follows the rules of this module's docstring.
    ``method='kerdock'`` (or a structured file) holds only the
    sign patterns of a Kerdock set and scores by fast Walsh-Hadamard
    transforms (:mod:`.structured`), with the logits of the dense set
    ``generate_ebvs(N, d, method='kerdock')``; its checkpoint state is the
    signs and their SHA-256.

    Args:
        num_vectors: Number of EBVs N (one per class).
        dim: Embedding dimension d.
        tau: Temperature dividing the cosine similarities.
        ebv_file: A ``.safetensors`` file written by :func:`save_ebvs`;
            excludes non-default ``method``, ``alpha`` and ``seed``.
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
        self.num_vectors = num_vectors
        self.dim = dim
        self.tau = check_tau(tau)
        self.generated = ebv_file is None
        self.kerdock = structured_ebvs(num_vectors, dim, ebv_file, method)
        if self.kerdock is not None:  # signs only, fast transforms
            self.source = (f'structured Kerdock set ({ebv_file!r})'
                           if ebv_file else 'structured Kerdock set')
            self.rebuild_hint = (f"use method='kerdock' with num_classes="
                                 f'{num_vectors}, ebv_dim={dim}')
            self.register_buffer('ebv_fingerprint',
                                 self.kerdock.fingerprint())
            self.register_buffer('ebv_recipe',
                                 torch.zeros(32, dtype=torch.uint8))
            return
        if ebv_file is not None:
            given = {name: value for name, value in dict(
                method=method, alpha=alpha, seed=seed).items()
                     if value != GENERATION_DEFAULTS[name]}
            if given:
                raise ValueError(
                    f'ebv_file={ebv_file!r} conflicts with '
                    + ', '.join(f'{k}={v!r}' for k, v in given.items()) +
                    ': the EBVs come from the file, and method, alpha and '
                    'seed only say how to generate EBVs when no file is '
                    'given. Remove them (a file records its own generation '
                    'settings: python tools/generate_ebvs.py --check FILE), '
                    'or remove ebv_file to generate.')
            try:
                ebvs, _ = load_ebvs(ebv_file, num_vectors=num_vectors, dim=dim)
            except EBVFileError as err:
                raise EBVFileError(
                    f'EBVs for num_classes={num_vectors}, ebv_dim={dim} '
                    f'cannot come from ebv_file={ebv_file!r}: {err}') from err
            self.source = f'file {ebv_file!r}'
            recipe = torch.zeros(32, dtype=torch.uint8)
        else:
            ebvs = rank_zero_copy(cached_generate(
                num_vectors, dim, method=method, alpha=alpha, seed=seed))
            self.source = (f'generated with method={method!r}, '
                           f'alpha={alpha}, seed={seed}')
            recipe = recipe_digest(num_vectors, dim, method, alpha, seed)
        persistent = ebvs.numel() <= MAX_CHECKPOINTED_ELEMENTS
        #: How to rebuild a set too large for checkpoints bit for bit.
        self.rebuild_hint = 'set ebv_file to the file the weights used'
        if self.generated and not persistent:
            command = generate_command(num_vectors, dim, method, alpha, seed)
            self.rebuild_hint = (
                f'load it with the EBV file the weights were trained with, '
                f'and train with a file (written by: {command})')
            if not is_machine_independent(ebvs):
                warnings.warn(
                    f'{num_vectors} x {dim} EBVs are too large to be stored '
                    f'in checkpoints (only their SHA-256 is), and generated '
                    f'ones ({self.source}) differ between machines and '
                    f'thread counts: a checkpoint trained with them may not '
                    f'load elsewhere. Write them to a file once with: '
                    f'{command}, and set ebv_file to it.')
        self.register_buffer('ebvs', ebvs, persistent=persistent)
        self.register_buffer('ebv_fingerprint', ebv_fingerprint(ebvs))
        self.register_buffer('ebv_recipe', recipe)

    def forward(self, embeddings: Tensor, channel_dim: int = -1) -> Tensor:
        """Cosine of each embedding with each EBV, divided by tau.

        ``embeddings`` holds d channels at ``channel_dim`` (``-1`` for
        (B, d) vectors, ``1`` for (B, d, H, W) maps); the result holds N
        scores there instead. Computed in float32 whatever the module and
        input dtypes, also under autocast.
        """
        if embeddings.shape[channel_dim] != self.dim:
            raise ValueError(
                f'Expected {self.dim} embedding channels at dim '
                f'{channel_dim}, got shape {tuple(embeddings.shape)}.')
        with torch.autocast(embeddings.device.type, enabled=False):
            x = bounded_normalize(embeddings.float(), dim=channel_dim)
            x = x.movedim(channel_dim, -1)
            if self.kerdock is not None:
                logits = self.kerdock(x / self.tau)  # scale the small side
            else:
                logits = x @ self.ebvs.float().t() / self.tau
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

    def _adopt_checkpoint_ebvs(self, saved: Tensor,
                               saved_recipe: Optional[Tensor]) -> None:
        """Take a checkpoint's EBVs, or raise if they are other ones."""
        own = self.ebvs.detach().to('cpu', torch.float32)
        saved = saved.detach().to('cpu', torch.float32)
        what = (f'the ones in use ({self.source}; {self.num_vectors} x '
                f'{self.dim})')
        if saved.shape == own.shape:
            check_ebvs(saved, 'The checkpoint\'s EBVs',
                       'The checkpoint is damaged or was altered: load '
                       'another checkpoint of the run, or retrain.')
        if saved.shape != own.shape:
            raise EBVFileError(
                f'The checkpoint was trained with other EBVs than {what}: it '
                f'holds {saved.shape[0]} x {saved.shape[1]} EBVs. Set '
                f'num_classes and ebv_dim (and ebv_file) to those the '
                f'weights were trained with.')
        diff = float((saved - own).abs().nan_to_num(math.inf).max()) \
            if own.numel() else 0.0
        same_recipe = (self.generated and saved_recipe is not None
                       and torch.equal(saved_recipe.cpu(),
                                       self.ebv_recipe.cpu()))
        if diff > NOISE_TOLERANCE and not (same_recipe and
                                           math.isfinite(diff)):
            if not self.generated:
                why = 'the EBVs in use come from a file'
            elif saved_recipe is None:
                why = 'the checkpoint does not record how its EBVs were made'
            elif not saved_recipe.any():
                why = 'the checkpoint was trained with an EBV file'
            else:
                why = ('the checkpoint\'s EBVs were generated with other '
                       'arguments (num_classes, ebv_dim, method, alpha or '
                       'seed)')
            raise EBVFileError(
                f'The checkpoint was trained with other EBVs than {what}: '
                f'they differ by up to {diff:.3g} (float noise is <= '
                f'{NOISE_TOLERANCE:g}), and {why}. Configure the ebv_file '
                f'(or method, alpha and seed) the weights were trained '
                f'with.')
        if diff > NOISE_TOLERANCE:
            self._check_recipe_quality(saved, own)
        with torch.no_grad():
            self.ebvs.copy_(saved)
        if diff > 0:
            self.source = (f'the checkpoint, max |difference| {diff:.2g} '
                           f'from those {self.source}')

    def _check_recipe_quality(self, saved: Tensor, own: Tensor) -> None:
        """Refuse a same-recipe set clearly worse than the one built here
        (checked where every pair can be scanned cheaply)."""
        num, dim = own.shape
        if num < 2 or num * num * dim > EXACT_PAIR_WORK:
            return
        saved_mu, own_mu = max_abs_cos(saved), max_abs_cos(own)
        if saved_mu > own_mu * RECIPE_QUALITY_SLACK + 1e-6:
            raise EBVFileError(
                f'The checkpoint\'s EBVs claim the generation arguments of '
                f'the ones in use ({self.source}) but are not such a set: '
                f'max |cos| {saved_mu:.4g} against {own_mu:.4g} here. The '
                f'checkpoint is damaged or was altered: load another '
                f'checkpoint of the run, or retrain.')

    def _load_from_state_dict(self, state_dict, prefix, local_metadata,
                              strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        saved = state_dict.get(prefix + 'ebvs')
        fingerprint = state_dict.get(prefix + 'ebv_fingerprint')
        if saved is not None and self.kerdock is None:
            self._adopt_checkpoint_ebvs(saved,
                                        state_dict.get(prefix + 'ebv_recipe'))
        elif fingerprint is not None and not torch.equal(
                fingerprint.cpu(), self.ebv_fingerprint.cpu()):
            raise EBVFileError(
                f'The checkpoint was trained with other EBVs than the ones '
                f'in use ({self.source}; {self.num_vectors} x {self.dim}): '
                f'their SHA-256 differs. A set this large is not stored in '
                f'checkpoints, so it must be rebuilt bit for bit: '
                f'{self.rebuild_hint}.')
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
        return (f'num_vectors={self.num_vectors}, dim={self.dim}, '
                f'tau={self.tau}, source: {self.source}')
