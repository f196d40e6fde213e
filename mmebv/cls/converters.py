"""Checkpoint conversions: classifier -> backbone, authors' release -> ours.

Inputs that are not what a conversion needs (not a checkpoint, another
model's keys, EBVs that do not fit) raise :class:`~mmebv.cli.UserInputError`
before anything is written; outputs are written atomically and never onto an
input.
"""
import os
import tempfile
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch
from torch import Tensor

from mmebv.cli import UserInputError
from mmebv.core import EBVClassifier, save_ebvs
from .checkpoint_io import restricted_torch_load, save_atomic, unwrap_state_dict

BACKBONE_PREFIX = 'backbone.'
#: Keys of the EBV head in an mmpretrain ``ImageClassifier`` state dict.
HEAD_PROJECTION = 'head.projection.'
HEAD_EBV = 'head.ebv.'
#: Prefix of the ResNet in the authors' training script (``Net.backbone``).
OFFICIAL_BACKBONE_PREFIX = 'backbone.'
#: Largest deviation of an EBV norm from 1 that is re-normalised silently.
EBV_NORM_TOLERANCE = 1e-3


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file (also through links)."""
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(inputs: Dict[str, str], outputs: Dict[str, str]) -> None:
    """Raise unless every output path differs from the inputs and from the
    other outputs.

    Args:
        inputs: Paths read, by the name the user knows them by.
        outputs: Paths to write, by name.

    Raises:
        UserInputError: An output would overwrite an input or another
            output.
    """
    named = list(inputs.items()) + list(outputs.items())
    for i, (out_name, out_path) in enumerate(named):
        if i < len(inputs):
            continue
        for other_name, other_path in named[:i]:
            if _same_file(out_path, other_path):
                raise UserInputError(
                    f'{out_name} {out_path!r} is the same file as '
                    f'{other_name} {other_path!r}; write to a new file.')


def classifier_to_backbone(src: str, dst: str) -> Tuple[List[str], List[str]]:
    """Keep the ``backbone.*`` tensors of a classifier checkpoint.

    Writes ``{'state_dict': {'backbone.<name>': Tensor}}`` (tensors only,
    loadable with ``torch.load(..., weights_only=True)``) atomically to
    ``dst``.

    Args:
        src: The classifier checkpoint.
        dst: The backbone checkpoint to write (not ``src``).

    Returns:
        The kept keys and the dropped ones.

    Raises:
        UserInputError: ``src`` is not a classifier checkpoint (see
            :func:`restricted_torch_load`), or ``dst`` is ``src``.
        OSError: ``src`` cannot be read or ``dst`` written.
    """
    check_outputs(dict(SRC=src), dict(DST=dst))
    state_dict, non_tensors = unwrap_state_dict(restricted_torch_load(src),
                                                f'{src!r}')
    kept = OrderedDict((k, v.detach().cpu().contiguous())
                       for k, v in state_dict.items()
                       if k.startswith(BACKBONE_PREFIX))
    if not kept:
        raise UserInputError(
            f'{src!r} holds no {BACKBONE_PREFIX!r} keys (first keys: '
            f'{list(state_dict)[:5]}); it is not an mmpretrain classifier '
            f'checkpoint.')
    dropped = [k for k in state_dict if k not in kept] + non_tensors
    save_atomic({'state_dict': kept}, dst)
    return list(kept), dropped


def _orient_ebvs(ebvs: Tensor, dim: int) -> Tensor:
    """The released EBVs as unit (N, d) rows, whatever their orientation."""
    if ebvs.dim() != 2:
        raise UserInputError(f'Expected a 2-D EBV tensor, got shape '
                         f'{tuple(ebvs.shape)}.')
    ebvs = ebvs.detach().to('cpu', torch.float32)
    candidates = [t for t in (ebvs, ebvs.t()) if t.shape[1] == dim]
    for candidate in candidates:
        if ((candidate.double().norm(dim=1) - 1).abs().max() <=
                EBV_NORM_TOLERANCE):
            return torch.nn.functional.normalize(candidate, dim=1)
    if not candidates:
        raise UserInputError(
            f'The EBV tensor is {tuple(ebvs.shape)} but the checkpoint '
            f'projects to d = {dim}; they do not belong together.')
    raise UserInputError(
        f'The EBV tensor {tuple(ebvs.shape)} has no unit-norm vectors of '
        f'dimension {dim}; it is not an EBV set.')


def _strip_official_prefix(state_dict: Dict[str, Tensor]
                           ) -> Dict[str, Tensor]:
    """The ResNet keys of the authors' ``Net``: ``backbone.conv1.weight``
    (``module.`` already stripped) -> ``conv1.weight``; bare keys as is."""
    prefix = OFFICIAL_BACKBONE_PREFIX
    if state_dict and all(key.startswith(prefix) for key in state_dict):
        return OrderedDict(
            (key[len(prefix):], value) for key, value in state_dict.items())
    return state_dict


def _torchvision_resnet_to_mmpretrain(
        state_dict: Dict[str, Tensor]) -> Tuple[Dict[str, Tensor], int]:
    """Rename torchvision ResNet keys; ``fc`` becomes the EBV projection.

    Accepts the bare layout and the authors' (``[module.]backbone.*``).
    """
    state_dict = _strip_official_prefix(state_dict)
    for key in ('conv1.weight', 'fc.weight', 'fc.bias'):
        if key not in state_dict:
            raise UserInputError(
                f'Key {key!r} missing: not a torchvision/timm-layout ResNet '
                f'checkpoint, bare or under {OFFICIAL_BACKBONE_PREFIX!r} as '
                f"the authors save it (first keys: {list(state_dict)[:5]}).")
    converted = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('fc.'):
            converted[HEAD_PROJECTION + key[len('fc.'):]] = value
        else:
            converted[BACKBONE_PREFIX + key] = value
    return converted, state_dict['fc.weight'].shape[0]


def official_to_mmpretrain(checkpoint: str, ebv_pickle: str, out: str,
                           out_ebv: str, tau: float = 0.07) -> dict:
    """Convert the authors' ResNet-50 EBV release to mmpretrain.

    ``checkpoint`` is their model: ``nn.DataParallel(Net()).state_dict()``
    with ``Net.backbone`` a timm ResNet-50 (keys ``module.backbone.conv1.
    weight`` ...; ``fc`` = projection to d), or the bare ResNet keys;
    ``ebv_pickle`` their pickled (possibly CUDA) EBV tensor. Writes our
    ``.safetensors`` EBV file to ``out_ebv`` and an mmpretrain
    ``ImageClassifier`` checkpoint (``backbone.*``, ``head.projection.*``,
    ``head.ebv.*``) to ``out``, each atomically; a new EBV file is removed
    again when the checkpoint cannot be written.

    Args:
        checkpoint: The authors' model checkpoint.
        ebv_pickle: Their pickled EBV tensor.
        out: The mmpretrain checkpoint to write.
        out_ebv: The ``.safetensors`` EBV file to write.
        tau: The temperature recorded in the EBV file's metadata.

    Returns:
        A summary: ``num_classes``, ``ebv_dim``, ``num_tensors``, ``dropped``.

    Raises:
        UserInputError: An input is not what it should be (not a checkpoint
            or pickle, another model, EBVs that do not fit), or an output
            would overwrite an input.
        OSError: An input cannot be read or an output written.
    """
    check_outputs(dict(CHECKPOINT=checkpoint, EBV_PICKLE=ebv_pickle),
                  dict(OUT=out, OUT_EBV=out_ebv))
    state_dict, dropped = unwrap_state_dict(restricted_torch_load(checkpoint),
                                            f'{checkpoint!r}')
    converted, dim = _torchvision_resnet_to_mmpretrain(state_dict)
    raw = restricted_torch_load(ebv_pickle)
    if not isinstance(raw, Tensor):
        raise UserInputError(
            f'{ebv_pickle!r} holds {raw!r} ({type(raw).__name__}), not a '
            f'tensor of EBVs; refusing it (nothing from the file was run).')
    ebvs = _orient_ebvs(raw, dim)
    metadata = dict(source=ebv_pickle, tau=tau)
    with tempfile.TemporaryDirectory() as scratch:  # the head's state
        scratch_file = os.path.join(scratch, 'ebvs.safetensors')
        save_ebvs(scratch_file, ebvs, metadata=metadata)
        head = EBVClassifier(ebvs.shape[0], dim, tau=tau,
                             ebv_file=scratch_file)
    for key, value in head.state_dict().items():
        converted[HEAD_EBV + key] = value
    new_ebv_file = not os.path.exists(out_ebv)
    save_ebvs(out_ebv, ebvs, metadata=metadata)
    try:
        save_atomic(
            {
                'meta': dict(source=checkpoint, ebv_file=out_ebv),
                'state_dict': converted
            }, out)
    except BaseException:
        if new_ebv_file:  # no EBV file without its checkpoint
            os.remove(out_ebv)
        raise
    return dict(
        num_classes=ebvs.shape[0],
        ebv_dim=dim,
        num_tensors=len(converted),
        dropped=dropped)
