"""Every registered method (and AttEXplore with every explorer) on each of the paper's five models.

Random weights, one 224x224 image, tiny settings: the point is that every method runs on every
architecture (fixed-size ViT/MaxViT, Inception, VGG, ResNet) and returns a finite map of x's shape.
Methods missing from TINY run with their defaults; TINY keys of methods not registered are skipped.
"""
from __future__ import annotations

import pytest
import torch

import attx_core
from attx_core import ATTACKS, METHODS

PAPER_MODELS = ("resnet50", "vgg16", "inception_v3", "vit_b_16", "maxvit_t")
TINY = {
    "saliency": {},
    "ig": {"steps": 2},
    "smoothgrad": {"n_samples": 2},
    "deeplift": {},
    "guided_ig": {"steps": 2},
    "expected_gradients": {"n_samples": 2},
    "fast_ig": {},
    "gradcam": {},
    "big": {"epsilons": (16 / 255,), "num_steps": 1, "steps": 2},
    "mfaba": {"num_steps": 2},
    "agi": {"num_classes": 2, "num_steps": 1},
    "attexplore": {"num_steps": 1, "attack_params": {"N": 1}},  # the default explorer (SSA), one spectrum copy
}
# AttEXplore++ explorers with their sample counts cut to 1-2. NAA (feature layer) and the default SSA
# (DI on fixed-size models) depend on the model and run on all five; the others, model-agnostic
# compositions of the same parts, are spread round-robin so each runs on one model (time budget).
EXPLORER_PARAMS = {"naa": {"ensemble": 2}, "mig": {"scales": 2}, "gra": {"neighbors": 1}, "sinifgsm": {"num_scales": 2}}
SPREAD = [a for a in [*sorted(ATTACKS), None] if a not in ("ssa", "naa")]


def cases(model_name: str) -> list[tuple[str, dict]]:
    """(method, extra params) pairs run on one model."""
    k = PAPER_MODELS.index(model_name)
    explorers = ["naa", *SPREAD[k :: len(PAPER_MODELS)]]
    return [(m, {}) for m in sorted(METHODS)] + [
        ("attexplore", {"attack": a, "attack_params": EXPLORER_PARAMS.get(a)}) for a in explorers
    ]


@pytest.mark.slow
@pytest.mark.parametrize("model_name", PAPER_MODELS)
def test_every_method_on_paper_model(model_name):
    torch.manual_seed(0)
    model = attx_core.models.load(model_name, weights=None)
    images = attx_core.data.sample_images().x
    x = images[:1]
    with torch.no_grad():
        target = model(x).argmax(1)  # the prediction, so MFABA's path is not empty
    for method, extra in cases(model_name):
        params = {**TINY.get(method, {}), **extra}
        if method == "expected_gradients":  # background: other images of the set
            params["background"] = images[1:3]
        attr = attx_core.attribute(model, x, target, method=method, **params)
        assert attr.shape == x.shape, (method, extra)
        assert torch.isfinite(attr).all(), (method, extra)


def test_every_explorer_is_covered():
    covered = {a for name in PAPER_MODELS for m, e in cases(name) if m == "attexplore" for a in [e.get("attack", "ssa")]}
    assert covered == set(ATTACKS) | {None}
