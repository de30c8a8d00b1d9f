"""The faster AGI (one forward pass for both gradients) computes what the implementation it replaced computed:
maps within 1e-6 relative difference in float64, on a tiny network and on EfficientNet-Lite0."""
from __future__ import annotations

import copy

import pytest
import torch

from attx_core import data, models
from attx_core.methods import METHODS, attribute
from reference import before_issue22 as before


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.fixture(scope="module")
def tiny64():
    torch.manual_seed(0)
    return models.load("tiny_cnn", weights=None).double()


@pytest.fixture(scope="module")
def lite64(lite0):
    return copy.deepcopy(lite0).double()


AGI_CONFIGS = [
    {"num_classes": 3, "num_steps": 6},
    {"num_classes": 3, "num_steps": 6, "path": "cumulative", "step": 0.2},  # rows stop at different iterations
    {"num_classes": 4, "num_steps": 4, "explain": "target", "class_choice": "spaced"},
]


@pytest.mark.parametrize("params", AGI_CONFIGS, ids=[str(c) for c in AGI_CONFIGS])
def test_agi_equals_two_forward_version_tiny(tiny64, params):
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=torch.float64)  # 15-20 rows: several chunks
    y = torch.tensor([3, 7, 500, 0, 999])
    assert _relative(attribute(tiny64, x, y, method="agi", **params), before.agi(tiny64, x, y, **params)) <= 1e-6


def test_agi_equals_two_forward_version_lite0(lite64):
    x, y = data.sample_images(224).subset(2)
    params = {"num_classes": 2, "num_steps": 2}
    x = x.double()
    assert _relative(attribute(lite64, x, y, method="agi", **params), before.agi(lite64, x, y, **params)) <= 1e-6


def test_agi_keeps_its_version():
    assert METHODS["agi"].version == 2  # stored AGI maps stay valid: nothing is recomputed
