"""Checkpoint conversions: classifier -> backbone, authors' release -> ours."""
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch
from torch import Tensor

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


def classifier_to_backbone(src: str, dst: str) -> Tuple[List[str], List[str]]:
    """Keep the ``backbone.*`` tensors of a classifier checkpoint.

    Writes ``{'state_dict': {'backbone.<name>': Tensor}}`` (tensors only,
    loadable with ``torch.load(..., weights_only=True)``) atomically to
    ``dst``. Returns the kept keys and the dropped ones.
    """
    state_dict, non_tensors = unwrap_state_dict(restricted_torch_load(src))
    kept = OrderedDict((k, v.detach().cpu().contiguous())
                       for k, v in state_dict.items()
                       if k.startswith(BACKBONE_PREFIX))
    if not kept:
        raise ValueError(
            f'{src!r} holds no {BACKBONE_PREFIX!r} keys (first keys: '
            f'{list(state_dict)[:5]}); it is not an mmpretrain classifier '
            f'checkpoint.')
    dropped = [k for k in state_dict if k not in kept] + non_tensors
    save_atomic({'state_dict': kept}, dst)
    return list(kept), dropped


def _orient_ebvs(ebvs: Tensor, dim: int) -> Tensor:
    """The released EBVs as unit (N, d) rows, whatever their orientation."""
    if ebvs.dim() != 2:
        raise ValueError(f'Expected a 2-D EBV tensor, got shape '
                         f'{tuple(ebvs.shape)}.')
    ebvs = ebvs.detach().to('cpu', torch.float32)
    candidates = [t for t in (ebvs, ebvs.t()) if t.shape[1] == dim]
    for candidate in candidates:
        if ((candidate.double().norm(dim=1) - 1).abs().max() <=
                EBV_NORM_TOLERANCE):
            return torch.nn.functional.normalize(candidate, dim=1)
    if not candidates:
        raise ValueError(
            f'The EBV tensor is {tuple(ebvs.shape)} but the checkpoint '
            f'projects to d = {dim}; they do not belong together.')
    raise ValueError(
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
            raise ValueError(
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
    ``head.ebv.*``) to ``out``; both atomically. Returns a summary.
    """
    state_dict, dropped = unwrap_state_dict(restricted_torch_load(checkpoint))
    converted, dim = _torchvision_resnet_to_mmpretrain(state_dict)
    raw = restricted_torch_load(ebv_pickle)
    if not isinstance(raw, Tensor):
        raise ValueError(f'{ebv_pickle!r} holds a {type(raw).__name__}, not '
                         f'a tensor of EBVs.')
    ebvs = _orient_ebvs(raw, dim)
    save_ebvs(out_ebv, ebvs, metadata=dict(source=ebv_pickle, tau=tau))
    head = EBVClassifier(ebvs.shape[0], dim, tau=tau, ebv_file=out_ebv)
    for key, value in head.state_dict().items():
        converted[HEAD_EBV + key] = value
    save_atomic(
        {
            'meta': dict(source=checkpoint, ebv_file=out_ebv),
            'state_dict': converted
        }, out)
    return dict(
        num_classes=ebvs.shape[0],
        ebv_dim=dim,
        num_tensors=len(converted),
        dropped=dropped)
