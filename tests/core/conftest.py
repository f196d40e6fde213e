"""Shared settings of the EBV engine tests."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: the tensors here are tiny and the CPU is shared."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
