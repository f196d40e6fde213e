"""Exemplars chosen by herding (iCaRL, Rebuffi et al., CVPR 2017) on the
features of the model being fine-tuned, before its first step."""
from typing import List

import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from torch import Tensor


def herding_order(features: Tensor, count: int) -> List[int]:
    """Indices of ``count`` rows of ``features`` chosen greedily so that the
    mean of the chosen rows stays closest to the mean of all.

    Args:
        features: (n, c) L2-normalised features of one class.
        count: How many to choose (at most n).

    Returns:
        The chosen row indices, in the order they were chosen.
    """
    target = features.mean(dim=0)
    total = torch.zeros_like(target)
    free = torch.ones(len(features), dtype=torch.bool)
    chosen: List[int] = []
    for k in range(1, min(count, len(features)) + 1):
        distance = (target - (total + features) / k).norm(dim=1)
        distance[~free] = float('inf')
        index = int(distance.argmin())
        chosen.append(index)
        free[index] = False
        total += features[index]
    return chosen


@HOOKS.register_module()
class HerdingExemplarsHook(Hook):
    """Replace the random exemplars of the training set's
    :class:`~mmebv.incremental.ReplayDataset` by the ones herding chooses on
    the model's features, once the weights are loaded.

    The features are the model's ``extract_feat`` output (its last level,
    averaged over any spatial dimensions, L2-normalised) of every old-class
    sample of the memory (through the memory's pipeline), in eval mode; ``exemplars_per_class`` stays the
    dataset's. Every rank computes the same choice from the same weights.

    Args:
        batch_size (int): Samples per forward pass. Defaults to 64.
    """

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    @torch.no_grad()
    def features(self, model, dataset) -> Tensor:
        """L2-normalised features of every sample of ``dataset``."""
        was_training = model.training
        model.eval()
        out = []
        for start in range(0, len(dataset), self.batch_size):
            batch = pseudo_collate([
                dataset[i] for i in range(
                    start, min(start + self.batch_size, len(dataset)))])
            inputs = model.data_preprocessor(batch, False)['inputs']
            feats = model.extract_feat(inputs)
            feats = feats[-1] if isinstance(feats, (tuple, list)) else feats
            feats = feats.float()
            if feats.dim() > 2:  # (B, C, H, W...): average the positions
                feats = feats.flatten(2).mean(2)
            out.append(F.normalize(feats, dim=1))
        model.train(was_training)
        return torch.cat(out)

    def choose(self, model, replay) -> List[int]:
        """Herding's exemplars of every old class of ``replay``'s memory."""
        from .replay import ReplayDataset
        if not isinstance(replay, ReplayDataset):
            raise TypeError(
                f'HerdingExemplarsHook needs a ReplayDataset as the training '
                f'set, got {type(replay).__name__}.')
        replay.full_init()
        features = self.features(model, replay.memory)
        chosen: List[int] = []
        for label, indices in sorted(replay.memory_by_class().items()):
            order = herding_order(features[indices],
                                  replay.exemplars_per_class)
            chosen += sorted(indices[i] for i in order)
        return chosen

    def before_train(self, runner) -> None:
        """Choose the exemplars with the loaded weights."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        replay = runner.train_dataloader.dataset
        replay.set_exemplars(self.choose(model, replay))
        runner.logger.info(
            f'HerdingExemplarsHook: {len(replay.exemplars)} exemplars '
            f'chosen by herding.')

