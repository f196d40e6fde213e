"""Refuse a checkpoint of another model before testing it.

mmengine's Runner loads ``load_from`` non-strictly: keys the model lacks, or
model keys the checkpoint lacks, are only logged, so a checkpoint of another
model (an FC head's weights in an EBV config, say) is evaluated with a
randomly initialised head. :func:`compare_keys` compares a checkpoint's
state-dict keys (after mmengine's default ``^module.`` strip) and shapes with
the model's ``state_dict()``; :class:`CheckedLoadHook` loads a checkpoint
the way the Runner loads ``load_from`` (same moment, same hooks) and refuses
it, in one line naming the mismatch, unless it matches.

Tolerated differences are those the model's own loading resolves:
``num_batches_tracked`` of batch norms (mmengine ignores it) and the
``ebv_recipe`` of :class:`~mmebv.core.EBVClassifier` (absent from older
checkpoints), and a stored ``ebvs`` that a large EBV set no longer keeps in
checkpoints (its loader still validates it). The EBV buffers' shapes and
values are left to the EBV classifiers, which check them on load with their
own messages.
"""
import os
import os.path as osp
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Sequence, Set, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from torch import nn

from mmebv.cli import UserInputError, user_error_types
from mmebv.core import EBVClassifier

#: mmengine's default ``revise_keys`` of ``Runner.load_checkpoint``.
DEFAULT_REVISE_KEYS = ((r'^module\.', ''), )
#: Keys shown per module and kind of mismatch before "(+N more)".
MAX_KEYS_SHOWN = 3
#: Modules shown before "(+N more modules)".
MAX_MODULES_SHOWN = 4


class CheckpointMismatchError(UserInputError):
    """A checkpoint does not belong to the model, or cannot be read."""


@dataclass
class KeyMismatch:
    """How a checkpoint's state dict differs from a model's.

    Attributes:
        missing: Model keys the checkpoint lacks, in model order.
        unexpected: Checkpoint keys the model lacks, in checkpoint order.
        shapes: ``(key, checkpoint shape, model shape)`` of keys whose
            tensors differ in shape.
    """
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shapes: List[Tuple[str, tuple, tuple]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.shapes)

    def describe(self, max_keys: int = MAX_KEYS_SHOWN,
                 max_modules: int = MAX_MODULES_SHOWN) -> str:
        """One line, grouped by top-level module, e.g. ``head: missing
        head.fc.weight, head.fc.bias; unexpected head.ebv.ebvs``.

        Args:
            max_keys: Keys listed per module and kind; more are counted.
            max_modules: Modules listed; more are counted.

        Returns:
            The description ('' when nothing differs).
        """
        groups: Dict[str, Dict[str, List[str]]] = OrderedDict()

        def add(kind: str, key: str, text: str) -> None:
            module = key.split('.', 1)[0]
            groups.setdefault(module, OrderedDict()).setdefault(
                kind, []).append(text)

        for key in self.missing:
            add('missing', key, key)
        for key in self.unexpected:
            add('unexpected', key, key)
        for key, saved, own in self.shapes:
            add('other shape', key, f'{key} {_shape(saved)} (model '
                f'{_shape(own)})')
        parts = []
        for module, kinds in list(groups.items())[:max_modules]:
            listed = []
            for kind, texts in kinds.items():
                more = len(texts) - max_keys
                listed.append(f'{kind} ' + ', '.join(texts[:max_keys]) +
                              (f' (+{more} more)' if more > 0 else ''))
            parts.append(f'{module}: ' + '; '.join(listed))
        if len(groups) > max_modules:
            parts.append(f'(+{len(groups) - max_modules} more modules)')
        return ' | '.join(parts)


def _shape(shape: tuple) -> str:
    return str(tuple(shape))


def checkpoint_state_dict(
        checkpoint: Any,
        revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS
) -> Dict[str, Any]:
    """The state dict the Runner would load from ``checkpoint``: its
    ``state_dict`` entry (or the object itself), keys revised by
    ``revise_keys`` as ``Runner.load_checkpoint`` revises them.

    Args:
        checkpoint: What ``torch.load`` returned for the checkpoint file.
        revise_keys: ``(pattern, replacement)`` regular expressions.

    Returns:
        The revised state dict.

    Raises:
        CheckpointMismatchError: ``checkpoint`` holds no state dict.
    """
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict):
        raise CheckpointMismatchError(
            f'it holds a {type(state).__name__}, not a state dict')
    if not any(isinstance(value, torch.Tensor) for value in state.values()):
        raise CheckpointMismatchError('it holds no tensors')
    for pattern, replacement in revise_keys:
        state = OrderedDict(
            (re.sub(pattern, replacement, key), value)
            for key, value in state.items())
    return state


def tolerated_keys(model: nn.Module) -> Tuple[Set[str], Set[str]]:
    """Keys the model loads without, and checkpoint keys it consumes though
    its ``state_dict()`` lacks them.

    Args:
        model: The (unwrapped) model.

    Returns:
        ``(may be missing, may be unexpected)``.
    """
    missing, unexpected = set(), set()
    for name, module in model.named_modules():
        prefix = f'{name}.' if name else ''
        if isinstance(module, EBVClassifier):
            missing.add(prefix + 'ebv_recipe')  # older checkpoints
            if module.kerdock is None and \
                    'ebvs' in module._non_persistent_buffers_set:
                unexpected.add(prefix + 'ebvs')  # validated on load
    return missing, unexpected


def _ebv_buffer_prefixes(model: nn.Module) -> Tuple[str, ...]:
    """Key prefixes of the EBV classifiers, which check their own shapes."""
    return tuple(f'{name}.' if name else ''
                 for name, module in model.named_modules()
                 if isinstance(module, EBVClassifier))


def compare_keys(model: nn.Module, state_dict: Dict[str, Any]) -> KeyMismatch:
    """Compare a (revised) checkpoint state dict with the model's.

    Args:
        model: The model the checkpoint is meant for (unwrapped).
        state_dict: The checkpoint's state dict, keys as the model names them
            (see :func:`checkpoint_state_dict`).

    Returns:
        The mismatch; false when the checkpoint fits the model.
    """
    own = model.state_dict()
    may_miss, may_add = tolerated_keys(model)
    ebv_prefixes = _ebv_buffer_prefixes(model)
    mismatch = KeyMismatch()
    for key, value in own.items():
        if key not in state_dict:
            if key not in may_miss and \
                    not key.endswith('num_batches_tracked'):
                mismatch.missing.append(key)
            continue
        saved = state_dict[key]
        if (hasattr(saved, 'shape') and hasattr(value, 'shape')
                and tuple(saved.shape) != tuple(value.shape)
                and not (ebv_prefixes and key.startswith(ebv_prefixes))):
            mismatch.shapes.append(
                (key, tuple(saved.shape), tuple(value.shape)))
    mismatch.unexpected = [key for key in state_dict
                           if key not in own and key not in may_add]
    return mismatch


def check_checkpoint_matches(
        model: nn.Module,
        checkpoint: Any,
        name: str,
        revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS
) -> None:
    """Raise unless ``checkpoint`` holds the model's state dict.

    Args:
        model: The model (a wrapper such as DDP, or a test-time
            augmentation model, is unwrapped).
        checkpoint: The loaded checkpoint object.
        name: The checkpoint's path, for the message.
        revise_keys: As for ``Runner.load_checkpoint``.

    Raises:
        CheckpointMismatchError: The keys or shapes differ; the message
            names the differences, grouped by top-level module.
    """
    if is_model_wrapper(model):
        model = model.module
    if isinstance(model, BaseTTAModel):  # the checkpoint is the plain model's
        model = model.module
    try:
        state = checkpoint_state_dict(checkpoint, revise_keys)
    except CheckpointMismatchError as err:
        raise CheckpointMismatchError(
            f'The checkpoint {name!r} is not a model checkpoint: {err}.'
        ) from None
    mismatch = compare_keys(model, state)
    if mismatch:
        raise CheckpointMismatchError(
            f'The checkpoint {name!r} does not match the model of the '
            f'config: {mismatch.describe()}. Pass a checkpoint trained with '
            f'this config, or the config it was trained with.')


def check_checkpoint_file(path: str) -> None:
    """Raise unless ``path`` (a local file; URLs pass) can be a checkpoint.

    Args:
        path: The checkpoint argument of a tool.

    Raises:
        CheckpointMismatchError: ``path`` is missing, a folder or empty.
    """
    if '://' in path:
        return
    if osp.isdir(path):
        raise CheckpointMismatchError(
            f'The checkpoint {path!r} is a folder; pass a checkpoint file '
            f'(.pth).')
    if not osp.isfile(path):
        raise CheckpointMismatchError(
            f'The checkpoint {path!r} does not exist.')
    if os.path.getsize(path) == 0:
        raise CheckpointMismatchError(
            f'The checkpoint {path!r} is empty (an interrupted copy or '
            f'save?).')


def unreadable_reason(err: BaseException, limit: int = 200) -> str:
    """A short reason for a failed ``torch.load``: the refused global of a
    weights-only load, else the error's first line, shortened.

    Args:
        err: What ``torch.load`` raised.
        limit: Most characters kept of the message.

    Returns:
        One line.
    """
    text = str(err)
    refused = re.search(r'Unsupported global: GLOBAL ([\w.]+)', text)
    if refused:
        return (f'it pickles {refused.group(1)!r}, which a weights-only load '
                f'refuses (not a plain checkpoint of tensors; nothing from '
                f'the file was run)')
    refused = re.search(r'WeightsUnpickler error:\s*(.+?)\s*(Check the|$)',
                        text, re.S)
    if refused:
        return (f'not a checkpoint of tensors (the weights-only unpickler '
                f'stopped at: {" ".join(refused.group(1).split())[:limit]}; '
                f'nothing from the file was run)')
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first = lines[0] if lines else ''
    if len(first) > limit:
        first = first[:limit] + '...'
    return f'{type(err).__name__}: {first}' if first else type(err).__name__


class CheckedLoadHook(Hook):
    """Load a checkpoint where the Runner loads ``load_from``, after the
    other hooks' ``before_run``, and refuse it unless it matches the model.

    The Runner then skips its own ``load_from`` (it has loaded). The match
    is checked in ``after_load_checkpoint``, after the other hooks have
    seen (and possibly changed) the checkpoint, before any weight is
    loaded. A file ``torch.load`` cannot read is refused in one line too.

    Args:
        filename: The checkpoint (a path or URL).
        revise_keys: As for ``Runner.load_checkpoint``.
    """

    priority = 'LOWEST'

    def __init__(self,
                 filename: str,
                 revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS
                 ) -> None:
        self.filename = filename
        self.revise_keys = [tuple(pair) for pair in revise_keys]
        self._loading = self._read = False

    def before_run(self, runner) -> None:
        self._loading, self._read = True, False
        try:
            runner.load_checkpoint(self.filename,
                                   revise_keys=self.revise_keys)
        except user_error_types():
            raise
        except Exception as err:  # noqa: BLE001 (unpickling raises any type)
            if self._read:  # read and matching: a failure of the model
                raise
            raise CheckpointMismatchError(
                f'The checkpoint {self.filename!r} cannot be read: '
                f'{unreadable_reason(err)}.') from err
        finally:
            self._loading = False

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not self._loading:  # a load this hook did not start
            return
        self._read = True
        check_checkpoint_matches(runner.model, checkpoint, self.filename,
                                 self.revise_keys)
