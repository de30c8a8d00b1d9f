"""The faster AGI (one forward pass for both gradients) and AttEXplore's batched input transforms compute what the
implementations they replaced computed: maps within 1e-6 relative difference in float64, on a tiny network and on
EfficientNet-Lite0."""
from __future__ import annotations

import copy

import pytest
import torch
from reference import before_issue22 as before

from attx_core import attacks, data, models, transforms
from attx_core.methods import METHODS, attribute


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
    x, y = data.sample_images(128).subset(2)  # float64 convolutions are slow: small photos keep it fast
    params = {"num_classes": 2, "num_steps": 2}
    x = x.double()
    assert _relative(attribute(lite64, x, y, method="agi", **params), before.agi(lite64, x, y, **params)) <= 1e-6


def test_methods_keep_their_versions():
    assert METHODS["agi"].version == 2 and METHODS["attexplore"].version == 2  # stored maps stay valid: nothing is recomputed


def _before_and_after(model, x, y, monkeypatch, **params):
    after = attribute(model, x, y, method="attexplore", **params)
    with monkeypatch.context() as patch:
        patch.setattr(attacks, "copy_gradients", before.copy_gradients)
        patch.setattr(transforms.Spectrum, "__call__", before.spectrum)
        reference = attribute(model, x, y, method="attexplore", **params)
    return after, reference


EXPLORER_CONFIGS = [
    {"N": 6, "num_steps": 3},  # AttEXplore: spectrum copies, DI 1.15 padded to the larger size, TI, momentum
    {"N": 6, "num_steps": 3, "di_prob": 1.0},  # every copy resized: many sizes
    {"attack": "difgsm", "num_steps": 3},  # DI resized back
    {"attack": "difgsm", "num_steps": 3, "preset": "table6"},  # DI ratio 0.9: shrunk and padded to the input size
    {"attack": "tifgsm", "num_steps": 3, "di_prob": 0.7},
    {"attack": "gra", "num_steps": 2, "attack_params": {"neighbors": 3}},  # another leaf copy transform
    {"attack": "sinifgsm", "num_steps": 2},  # a transform differentiated through
]


@pytest.mark.parametrize("params", EXPLORER_CONFIGS, ids=[str(c) for c in EXPLORER_CONFIGS])
def test_attexplore_equals_per_sample_transforms_tiny(tiny64, params, monkeypatch):
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    after, reference = _before_and_after(tiny64, x, torch.tensor([1, 2, 3]), monkeypatch, **params)
    assert _relative(after, reference) <= 1e-6


def test_attexplore_equals_per_sample_transforms_lite0(lite64, monkeypatch):
    x, y = data.sample_images(128).subset(2)
    after, reference = _before_and_after(lite64, x.double(), y, monkeypatch, N=2, num_steps=2, di_prob=1.0)
    assert _relative(after, reference) <= 1e-6
