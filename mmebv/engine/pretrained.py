"""Loud checks that ``Pretrained`` backbone weights really loaded.

mmengine's ``Pretrained`` initialiser loads with ``strict=False`` and only
logs what did not match, so a checkpoint of another layout (or a backbone that
ignores ``init_cfg.prefix``, or an ``init_weights`` that overwrites the loaded
values) silently trains from scratch. :class:`PretrainedCheckHook` compares,
before the first iteration, every module that has a ``Pretrained``
``init_cfg`` with its checkpoint and raises unless nearly all of it holds the
checkpoint's values.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor, nn


class PretrainedLoadError(RuntimeError):
    """A ``Pretrained`` checkpoint did not (or only partly) load."""


@dataclass
class PretrainedLoadReport:
    """How much of a module holds its checkpoint's values.

    ``loaded_fraction`` counts elements of the module's state dict.
    """
    checkpoint: str
    loaded_fraction: float
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    shape_mismatch: List[str] = field(default_factory=list)
    value_mismatch: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)


def load_prefixed_state_dict(
        checkpoint: str, prefix: Optional[str] = None) -> Dict[str, Tensor]:
    """The tensors of ``checkpoint`` (``state_dict`` if present) under
    ``prefix`` with the prefix removed; raises if there are none."""
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state_dict = loaded.get('state_dict', loaded) if isinstance(
        loaded, dict) else None
    if not isinstance(state_dict, dict):
        raise PretrainedLoadError(
            f'{checkpoint!r} holds no state dict (got {type(loaded)}).')
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
        state_dict = {
            key[len(prefix):]: value
            for key, value in state_dict.items() if key.startswith(prefix)
        }
        if not state_dict:
            raise PretrainedLoadError(
                f'{checkpoint!r} has no key starting with {prefix!r}; '
                f'convert a classifier checkpoint with '
                f'tools/model_converters/ebv_to_backbone.py, or fix '
                f'init_cfg.prefix.')
    return state_dict


def compare_with_checkpoint(module: nn.Module,
                            checkpoint: str,
                            prefix: Optional[str] = None
                            ) -> PretrainedLoadReport:
    """Compare ``module``'s current state with ``checkpoint`` (under
    ``prefix``), key by key and value by value."""
    expected = load_prefixed_state_dict(checkpoint, prefix)
    report = PretrainedLoadReport(checkpoint, 0.0)
    total = loaded_elements = 0
    state = module.state_dict()
    for key, value in state.items():
        total += value.numel()
        if key not in expected:
            report.missing.append(key)
        elif expected[key].shape != value.shape:
            report.shape_mismatch.append(
                f'{key}: model {tuple(value.shape)} vs checkpoint '
                f'{tuple(expected[key].shape)}')
        elif not torch.equal(value.detach().cpu(),
                             expected[key].to(value.dtype)):
            report.value_mismatch.append(key)
        else:
            report.loaded.append(key)
            loaded_elements += value.numel()
    report.unexpected = [key for key in expected if key not in state]
    report.loaded_fraction = loaded_elements / max(total, 1)
    return report


def check_pretrained_loaded(module: nn.Module,
                            checkpoint: str,
                            prefix: Optional[str] = None,
                            min_loaded: float = 0.9,
                            name: str = 'module') -> PretrainedLoadReport:
    """Check that ``module`` holds the weights of ``checkpoint``.

    It passes when at least ``min_loaded`` of the elements of the module's
    state equal the checkpoint's values and no key has another shape than
    in the checkpoint.

    Args:
        module (nn.Module): The module that should hold the weights.
        checkpoint (str): Path or URL of the checkpoint.
        prefix (str, optional): Compare only the checkpoint keys under this
            prefix (e.g. ``'backbone.'``), with it removed. Defaults to None
            (all keys).
        min_loaded (float): Least fraction of the state (in elements) that
            must equal the checkpoint's values. Defaults to 0.9.
        name (str): What to call ``module`` in the error message. Defaults
            to ``'module'``.

    Returns:
        PretrainedLoadReport: Which keys loaded, are missing, have another
        shape or other values, and which checkpoint keys were unused.

    Raises:
        PretrainedLoadError: If the check fails, or the checkpoint holds no
            state dict or no key under ``prefix``.
    """
    report = compare_with_checkpoint(module, checkpoint, prefix)
    if report.shape_mismatch or report.loaded_fraction < min_loaded:
        def head(keys: List[str]) -> str:
            return ', '.join(keys[:5]) + (' ...' if len(keys) > 5 else '')

        raise PretrainedLoadError(
            f'{name} ({type(module).__name__}) does not hold the weights of '
            f'{checkpoint!r} (prefix {prefix!r}): '
            f'{report.loaded_fraction:.1%} of its state loaded (need '
            f'{min_loaded:.0%}); {len(report.missing)} keys missing '
            f'[{head(report.missing)}], {len(report.shape_mismatch)} of '
            f'another shape [{head(report.shape_mismatch)}], '
            f'{len(report.value_mismatch)} with other values '
            f'[{head(report.value_mismatch)}], {len(report.unexpected)} '
            f'checkpoint keys unused [{head(report.unexpected)}]. The '
            f'checkpoint must come from the same backbone architecture '
            f'(tools/model_converters/ebv_to_backbone.py writes '
            f'"backbone."-prefixed keys), the backbone type must honour '
            f'init_cfg.prefix (e.g. use mmpretrain.SwinTransformer), and '
            f'nothing may re-initialise loaded weights (values that differ).')
    return report


def pretrained_modules(model: nn.Module
                       ) -> List[Tuple[str, nn.Module, dict]]:
    """(name, module, init_cfg) of each module with a ``Pretrained`` init."""
    found = []
    for name, module in model.named_modules():
        init_cfgs = getattr(module, 'init_cfg', None) or []
        if isinstance(init_cfgs, dict):
            init_cfgs = [init_cfgs]
        for init_cfg in init_cfgs:
            if isinstance(init_cfg, dict) and init_cfg.get(
                    'type') == 'Pretrained':
                found.append((name or 'model', module, init_cfg))
    return found


@HOOKS.register_module()
class PretrainedCheckHook(Hook):
    """Before training, fail unless every ``Pretrained`` init really loaded.

    Skipped only when the Runner really loaded a checkpoint (resumed one,
    or loaded ``load_from``): then the weights come from it. ``resume=True``
    with nothing to resume (a fresh work dir, as auto-resume on preemptible
    clusters meets it) is checked like any start.

    Args:
        min_loaded: Least fraction of a module's state (in elements) that
            must equal the checkpoint's values.
    """

    priority = 'VERY_HIGH'

    def __init__(self, min_loaded: float = 0.9) -> None:
        if not 0 < min_loaded <= 1:
            raise ValueError(f'min_loaded must be in (0, 1], got {min_loaded}')
        self.min_loaded = min_loaded

    def before_train(self, runner) -> None:
        # Runner.load_or_resume, which runs before this hook, sets
        # _has_loaded only when it resumed or loaded a checkpoint.
        if getattr(runner, '_has_loaded', False):
            print_log('PretrainedCheckHook: skipped (the weights come from '
                      'the checkpoint the run resumed or loaded).',
                      logger='current')
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        modules = pretrained_modules(model)
        if not modules:
            raise PretrainedLoadError(
                'PretrainedCheckHook is configured but no module has a '
                "'Pretrained' init_cfg; remove the hook or set the "
                "backbone's init_cfg.")
        for name, module, init_cfg in modules:
            report = check_pretrained_loaded(
                module, init_cfg['checkpoint'], init_cfg.get('prefix'),
                self.min_loaded, name)
            print_log(
                f'PretrainedCheckHook: {name} holds '
                f'{report.loaded_fraction:.2%} of its state from '
                f'{report.checkpoint!r} ({len(report.missing)} keys not in '
                f'the checkpoint).',
                logger='current')
