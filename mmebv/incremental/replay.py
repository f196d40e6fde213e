"""A replay buffer: the new classes' data mixed with exemplars of old ones."""
import copy
import warnings
from typing import Dict, List, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmpretrain.registry import DATASETS

#: Exemplar selection rules :class:`ReplayDataset` implements.
SELECTIONS = ('random', )


def _build(dataset: Union[dict, BaseDataset], name: str) -> BaseDataset:
    if isinstance(dataset, dict):
        return DATASETS.build(dataset)
    if isinstance(dataset, BaseDataset):
        return dataset
    raise TypeError(f'ReplayDataset: {name} must be a dataset or its config '
                    f'dict, got {type(dataset).__name__}.')


@DATASETS.register_module()
class ReplayDataset:
    """The data of the step's new classes followed by replayed exemplars of
    the old classes, ``ratio`` old samples per new one.

    ``exemplars_per_class`` samples of each class of ``memory`` are chosen
    once (the buffer); the replayed part cycles through them until it holds
    ``round(ratio * len(dataset))`` samples, so the buffer is repeated to
    reach the ratio (1:1 by default). A shuffling sampler mixes both parts
    in every batch. Indices ``[0, len(dataset))`` are the new data, the
    others replayed samples (see ``num_new``). Exemplars are chosen at
    random with ``seed``; :class:`~mmebv.incremental.HerdingExemplarsHook`
    replaces them by herding's choice on the model's features (iCaRL).

    Args:
        dataset (dict | BaseDataset): The new classes' training data. Its
            metainfo is the wrapper's.
        memory (dict | BaseDataset): The old classes' training data.
        exemplars_per_class (int): Samples kept per old class (all of a
            class when it has fewer). Defaults to 20.
        selection (str): How exemplars are chosen: ``'random'``. Defaults
            to ``'random'``.
        ratio (float): Replayed samples per new sample, >= 0. Defaults to
            1.0.
        seed (int): Seed of the exemplar choice. Defaults to 0.
        lazy_init (bool): Choose the exemplars on first use. Defaults to
            False.

    Raises:
        ValueError: a bad argument.
        TypeError: ``dataset`` or ``memory`` is not a dataset or config.
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 memory: Union[dict, BaseDataset],
                 exemplars_per_class: int = 20,
                 selection: str = 'random',
                 ratio: float = 1.0,
                 seed: int = 0,
                 lazy_init: bool = False) -> None:
        if isinstance(exemplars_per_class, bool) or not isinstance(
                exemplars_per_class, int) or exemplars_per_class < 1:
            raise ValueError(f'exemplars_per_class={exemplars_per_class!r} '
                             f'must be a positive integer')
        if selection not in SELECTIONS:
            raise ValueError(
                f'selection={selection!r} is not implemented; use one of '
                f"{SELECTIONS}; for herding add "
                f"custom_hooks=[dict(type='HerdingExemplarsHook')], which "
                f"chooses on the model's features.")
        if not ratio >= 0:
            raise ValueError(f'ratio={ratio!r} must be >= 0 (replayed '
                             f'samples per new sample)')
        self.dataset = _build(dataset, 'dataset')
        self.memory = _build(memory, 'memory')
        self.exemplars_per_class = exemplars_per_class
        self.selection = selection
        self.ratio = float(ratio)
        self.seed = seed
        self.exemplars: List[int] = []
        self.num_new = 0
        self.num_replayed = 0
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        """The new data's metainfo (a copy)."""
        return copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

    def memory_labels(self) -> List[int]:
        """The class of every sample of the memory."""
        if hasattr(self.memory, 'get_gt_labels'):
            return [int(x) for x in self.memory.get_gt_labels()]
        return [int(self.memory.get_cat_ids(i)[0])
                for i in range(len(self.memory))]

    def memory_by_class(self) -> Dict[int, List[int]]:
        """The memory's sample indices of each class."""
        by_class: Dict[int, List[int]] = {}
        for index, label in enumerate(self.memory_labels()):
            by_class.setdefault(label, []).append(index)
        return by_class

    def full_init(self) -> None:
        """Initialise both datasets and choose the exemplars (once)."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        self.memory.full_init()
        by_class = self.memory_by_class()
        rng = np.random.default_rng(self.seed)
        self.exemplars = []
        for label in sorted(by_class):
            indices = by_class[label]
            keep = min(self.exemplars_per_class, len(indices))
            chosen = rng.choice(len(indices), size=keep, replace=False)
            self.exemplars += [indices[i] for i in sorted(chosen)]
        self.num_new = len(self.dataset)
        self.num_replayed = (round(self.ratio * self.num_new)
                             if self.exemplars else 0)
        if 0 < self.num_replayed < len(self.exemplars):
            warnings.warn(
                f'ReplayDataset replays {self.num_replayed} samples per '
                f'epoch but holds {len(self.exemplars)} exemplars: the last '
                f'{len(self.exemplars) - self.num_replayed} are never '
                f'replayed. Raise ratio or lower exemplars_per_class.')
        self._fully_initialized = True

    def set_exemplars(self, indices: Sequence[int]) -> None:
        """Replay the memory's samples at ``indices`` instead (the number
        replayed per epoch is unchanged).

        Raises:
            ValueError: no index, a repeated one or one outside the memory.
        """
        self.full_init()
        indices = [int(i) for i in indices]
        if not indices or len(set(indices)) != len(indices) or not all(
                0 <= i < len(self.memory) for i in indices):
            raise ValueError(
                f'set_exemplars needs distinct indices of the memory '
                f'(0..{len(self.memory) - 1}), got {len(indices)} indices.')
        self.exemplars = indices

    def source(self, idx: int):
        """``(dataset, index in it)`` of the sample at ``idx``."""
        self.full_init()
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f'index {idx} out of range for a '
                             f'ReplayDataset of {len(self)} samples')
        if idx < self.num_new:
            return self.dataset, idx
        replayed = idx - self.num_new
        return self.memory, self.exemplars[replayed % len(self.exemplars)]

    def get_data_info(self, idx: int) -> dict:
        """The annotation of the sample at ``idx``."""
        dataset, index = self.source(idx)
        return dataset.get_data_info(index)

    def get_cat_ids(self, idx: int) -> List[int]:
        """The category of the sample at ``idx``."""
        dataset, index = self.source(idx)
        return dataset.get_cat_ids(index)

    def __getitem__(self, idx: int) -> dict:
        dataset, index = self.source(idx)
        return dataset[index]

    def __len__(self) -> int:
        self.full_init()
        return self.num_new + self.num_replayed

    def __repr__(self) -> str:
        return (f'ReplayDataset({len(self.dataset)} new samples, '
                f'{len(self.exemplars)} exemplars of the memory '
                f'({self.exemplars_per_class} per class, '
                f'{self.selection}), {self.num_replayed} replayed samples, '
                f'ratio {self.ratio:g})')
