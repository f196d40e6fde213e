"""Forward hooks that record layer outputs, and CKA between models."""
import re
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .cka import MinibatchCKA

#: Regular expressions (full match on module names) for common layer sets of
#: mmpretrain classifiers: ResNet-style ``backbone.layerK`` and Swin-style
#: ``backbone.stages.K``.
LAYER_PRESETS = {
    'stages': r'backbone\.(layer\d+|stages\.\d+)',
    'blocks': r'backbone\.(layer\d+\.\d+|stages\.\d+\.blocks\.\d+)',
}

POOLING = ('avg', 'flatten')


def select_layers(model: nn.Module, pattern: str) -> List[str]:
    """Names of the submodules of ``model`` matching a preset or regex.

    Args:
        model (nn.Module): The model to search.
        pattern (str): A key of :data:`LAYER_PRESETS` or a regular
            expression that must match the whole module name (as in
            ``model.named_modules()``).

    Returns:
        list[str]: The matching names, in ``named_modules()`` order.

    Raises:
        ValueError: If no module matches.
        re.error: If ``pattern`` is not a valid regular expression.
    """
    regex = re.compile(LAYER_PRESETS.get(pattern, pattern))
    names = [n for n, _ in model.named_modules() if regex.fullmatch(n)]
    if not names:
        raise ValueError(
            f'No module of {type(model).__name__} matches {pattern!r}. Use '
            f'one of {sorted(LAYER_PRESETS)} or a regex over the names of '
            f'model.named_modules().')
    return names


def pool_features(output: Tensor, pool: str) -> Tensor:
    """A (B, ...) layer output as a (B, p) matrix.

    Args:
        output (Tensor): The layer output, batch first.
        pool (str): ``'avg'`` averages spatial positions of (B, C, H, W)
            maps and tokens of (B, L, C) sequences (a (B, p) output is
            kept); ``'flatten'`` keeps everything.

    Returns:
        Tensor: The (B, p) features.

    Raises:
        ValueError: If ``pool`` is unknown, or ``'avg'`` meets an output
            that is not 2-D, 3-D or 4-D.
    """
    if pool not in POOLING:
        raise ValueError(f'pool must be one of {POOLING}, got {pool!r}.')
    if pool == 'flatten' or output.dim() == 2:
        return output.reshape(output.shape[0], -1)
    if output.dim() == 4:
        return output.mean(dim=(2, 3))
    if output.dim() == 3:
        return output.mean(dim=1)
    raise ValueError(
        f'Cannot average-pool an output shaped {tuple(output.shape)}; '
        f'use pool="flatten".')


class LayerRecorder:
    """Context manager recording pooled outputs of named submodules.

    A layer returning a tuple (such as a Swin stage's ``(x, hw_shape)``) is
    recorded by its first element.

    Args:
        model: The model to hook.
        layer_names: Names from ``model.named_modules()``, in output order.
        pool: ``'avg'`` or ``'flatten'`` (see :func:`pool_features`).
    """

    def __init__(self, model: nn.Module, layer_names: List[str],
                 pool: str = 'avg') -> None:
        modules = dict(model.named_modules())
        missing = [n for n in layer_names if n not in modules]
        if missing:
            raise ValueError(f'{type(model).__name__} has no modules named '
                             f'{missing}.')
        if pool not in POOLING:
            raise ValueError(f'pool must be one of {POOLING}, got {pool!r}.')
        self.layer_names = list(layer_names)
        self.pool = pool
        self._modules = [modules[n] for n in layer_names]
        self._handles: list = []
        self._outputs: Dict[str, Tensor] = {}

    def _hook(self, name: str) -> Callable:

        def record(module: nn.Module, args, output) -> None:
            if isinstance(output, (tuple, list)) and output:
                output = output[0]  # e.g. Swin stages return (x, hw_shape)
            if not isinstance(output, Tensor):
                raise TypeError(
                    f'Layer {name!r} returns {type(output).__name__}, not a '
                    f'Tensor; choose a layer whose output is a tensor.')
            self._outputs[name] = pool_features(output.detach(), self.pool)

        return record

    def __enter__(self) -> 'LayerRecorder':
        self._handles = [
            m.register_forward_hook(self._hook(n))
            for n, m in zip(self.layer_names, self._modules)
        ]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def pop(self) -> List[Tensor]:
        """Outputs of the last forward pass, in ``layer_names`` order."""
        missing = [n for n in self.layer_names if n not in self._outputs]
        if missing:
            raise RuntimeError(f'Layers {missing} did not run in the last '
                               f'forward pass.')
        outputs = [self._outputs[n] for n in self.layer_names]
        self._outputs = {}
        return outputs


@torch.no_grad()
def layerwise_cka(models: Sequence[Tuple[nn.Module, List[str]]],
                  batches: Iterable,
                  forward: Callable[[nn.Module, object], object],
                  pool: str = 'avg',
                  max_batches: Optional[int] = None) -> Tensor:
    """Minibatch CKA between all chosen layers of one or more models.

    The models are put in eval mode. Batches with fewer than 4 samples are
    skipped (see :class:`~.cka.MinibatchCKA`).

    Args:
        models (Sequence[tuple]): ``(model, layer_names)`` pairs; the
            names come from ``model.named_modules()``, e.g. from
            :func:`select_layers`.
        batches (Iterable): The batches; every model sees each one.
        forward (Callable): ``forward(model, batch)`` runs one model on one
            batch; its return value is ignored.
        pool (str): How layer outputs become (B, p) features, see
            :func:`pool_features`. Defaults to ``'avg'``.
        max_batches (int, optional): Use at most this many batches.
            Defaults to None (all).

    Returns:
        Tensor: The symmetric (L, L) float64 matrix over the concatenated
        layer lists, in model order: the block of rows of model i and
        columns of model j compares those two models.

    Raises:
        ValueError: If ``models`` is empty, a layer name is unknown,
            ``pool`` is invalid or cannot pool a layer's output, or a layer
            is constant on every batch.
        TypeError: If a chosen layer does not return a tensor.
        RuntimeError: If a chosen layer did not run in a forward pass, or
            no batch had 4 or more samples.
    """
    if not models:
        raise ValueError('Give at least one (model, layer_names) pair.')
    total = sum(len(layers) for _, layers in models)
    cka = MinibatchCKA(total, total)
    recorders = [LayerRecorder(m, layers, pool) for m, layers in models]
    for model, _ in models:
        model.eval()
    for recorder in recorders:
        recorder.__enter__()
    try:
        for index, batch in enumerate(batches):
            if max_batches is not None and index >= max_batches:
                break
            feats = []
            for (model, _), recorder in zip(models, recorders):
                forward(model, batch)
                feats.extend(recorder.pop())
            cka.update(feats, feats)
    finally:
        for recorder in recorders:
            recorder.__exit__(None, None, None)
    return cka.compute()
