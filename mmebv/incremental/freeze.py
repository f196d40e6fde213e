"""A hook training only a model's classifier, its trunk frozen exactly."""
from typing import List, Optional, Sequence, Union

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from torch import nn
from torch.nn.modules.batchnorm import _NormBase


@HOOKS.register_module()
class FreezeTrunkHook(Hook):
    """Freeze every parameter outside ``trainable`` and keep the trunk's
    normalisation layers in eval mode.

    ``paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0)})`` does
    not freeze a trunk: BatchNorm keeps updating its running statistics,
    the trunk's gradients and optimiser state are still computed, and
    whatever is not under the key (a neck, a projection) still trains. Here
    the frozen parameters get ``requires_grad=False`` (no gradient, so no
    optimiser step, momentum or weight decay touches them) and the trunk's
    BatchNorm (any layer with running statistics) is put back in eval mode
    before every training iteration. Typically
    ``custom_hooks = [dict(type='FreezeTrunkHook')]`` trains an EBV head's
    projection (or an FC head) alone.

    In a distributed run, wrap the model with
    ``find_unused_parameters=True``: DDP is built before hooks run.

    Args:
        trainable (str | Sequence[str]): Names of the submodules that keep
            training (``model.named_modules()`` names, e.g. ``'head'`` or
            ``'roi_head.bbox_head.fc_cls'``). Defaults to ``'head'``.
        freeze_norm (bool): Keep the frozen part's normalisation layers in
            eval mode (running statistics fixed). Defaults to True.

    Raises:
        ValueError: no ``trainable`` name given, or (at the start of
            training) a name the model has no submodule for.
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 trainable: Union[str, Sequence[str]] = 'head',
                 freeze_norm: bool = True) -> None:
        self.trainable = ((trainable, ) if isinstance(trainable, str) else
                          tuple(trainable))
        if not self.trainable:
            raise ValueError('FreezeTrunkHook needs at least one trainable '
                             'submodule name.')
        self.freeze_norm = freeze_norm
        self._frozen_norms: List[nn.Module] = []

    def is_trainable(self, name: str) -> bool:
        """Whether the parameter or module ``name`` is in ``trainable``."""
        return any(name == t or name.startswith(t + '.')
                   for t in self.trainable)

    def freeze(self, model: nn.Module) -> List[str]:
        """Freeze ``model`` (unwrapped from DDP) outside ``trainable``.

        Args:
            model: The model.

        Returns:
            The names of the frozen parameters.

        Raises:
            ValueError: a ``trainable`` name is not a submodule of
                ``model``.
        """
        if is_model_wrapper(model):
            model = model.module
        names = dict(model.named_modules())
        missing = [t for t in self.trainable if t not in names]
        if missing:
            children = ', '.join(n for n, _ in model.named_children())
            raise ValueError(
                f'FreezeTrunkHook: the model has no submodule '
                f'{", ".join(map(repr, missing))} to keep training; its '
                f'top-level submodules are: {children}.')
        frozen = []
        for name, param in model.named_parameters():
            if not self.is_trainable(name):
                param.requires_grad_(False)
                param.grad = None
                frozen.append(name)
        self._frozen_norms = [
            module for name, module in names.items()
            if isinstance(module, _NormBase) and not self.is_trainable(name)
        ] if self.freeze_norm else []
        self.set_norm_eval()
        return frozen

    def set_norm_eval(self) -> None:
        """Put the frozen normalisation layers in eval mode."""
        for module in self._frozen_norms:
            module.eval()

    def before_train(self, runner) -> None:
        """Freeze the trunk once the weights are loaded."""
        self.freeze(runner.model)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        """Undo ``model.train()`` on the frozen normalisation layers."""
        self.set_norm_eval()
