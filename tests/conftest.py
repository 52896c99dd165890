"""Shared test configuration."""

import importlib.util

import pytest


@pytest.fixture(autouse=True)
def _single_torch_thread():
    """Run torch on one thread when it is installed; never import it otherwise."""
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(1)
    yield
