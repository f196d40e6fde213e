"""The smallest mmengine training: a linear classifier on random vectors.

For tests of runner-level behaviour (checkpoints, resume, hooks) that need
real mmengine runs but no codebase model.
"""
import torch
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset


class ToyDataset(Dataset):
    """``size`` random 4-d vectors, labelled by index parity."""

    def __init__(self, size: int = 8) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        generator = torch.Generator().manual_seed(index)
        return dict(inputs=torch.randn(4, generator=generator),
                    labels=torch.tensor(index % 2))


class ToyModel(BaseModel):
    """A 4 -> 2 linear classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=nn.functional.cross_entropy(logits, labels))
        return logits
