"""One intra-op thread for these small tensors: on a shared 2-core machine, spinning OpenMP
threads of tiny convolutions cost far more than they gain."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
