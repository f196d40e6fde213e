"""Build OpenMMLab models and test loaders from a config + checkpoint.

Works for mmpretrain, mmdet and mmseg configs alike (the config's
``default_scope`` picks the registries). OpenMMLab is imported on call.
"""
from typing import Optional

import torch
from torch import nn


def load_config(config: str, cfg_options: Optional[dict] = None):
    """``Config.fromfile`` plus ``--cfg-options``-style overrides."""
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_model(cfg, checkpoint: Optional[str] = None) -> nn.Module:
    """The model of ``cfg`` (with the top-level ``data_preprocessor``
    merged in, as mmengine's Runner does) in eval mode, with the tensors of
    ``checkpoint`` loaded strictly (every key must match; the file's other
    objects are never unpickled) when given, else ``init_weights()``."""
    import mmebv  # noqa: F401  (registers mmebv modules)
    from mmengine.registry import MODELS, init_default_scope

    from mmebv.cls.checkpoint_io import (restricted_torch_load,
                                         unwrap_state_dict)

    init_default_scope(cfg.get('default_scope', 'mmengine'))
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:  # as the Runner does
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    if checkpoint is None:
        model.init_weights()
    else:
        state_dict, _ = unwrap_state_dict(restricted_torch_load(checkpoint))
        model.load_state_dict(state_dict, strict=True)
    return model.eval()


def build_loader(cfg, split: str = 'test', batch_size: Optional[int] = None):
    """The ``<split>_dataloader`` of ``cfg`` (no workers, no shuffling)."""
    from mmengine.runner import Runner

    key = f'{split}_dataloader'
    if key not in cfg or cfg[key] is None:
        raise KeyError(f'The config has no {key}; choose another --split.')
    loader_cfg = cfg[key].copy()
    loader_cfg.update(num_workers=0, persistent_workers=False)
    if batch_size is not None:
        loader_cfg['batch_size'] = batch_size
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    return Runner.build_dataloader(loader_cfg)


@torch.no_grad()
def tensor_forward(model: nn.Module, batch: dict):
    """Preprocess a loader batch and run the model in ``tensor`` mode."""
    data = model.data_preprocessor(batch, False)
    return model(**data, mode='tensor')

