"""Fast-IG (Hesse et al. 2021): for nonnegatively homogeneous (bias-free) networks IG from zero equals
input * gradient, one pass per image.

The published code (``saliency/core/fast_ig.py``) differentiates ``F.cross_entropy(model(x), y)``, the
cross-entropy of the softmax model's output (softmax applied twice), averaged over its batch of 4, and
returns ``x * grad``: the sign of a LOSS, so evidence for the class comes out negative. Here the default
keeps that objective per image and corrects the sign (``x * grad(-CE)``); ``reference_bugs=True``
returns the published sign. The batch mean's 1/B factor is not reproduced (it would make a map depend
on its batch; a positive per-batch scale changes no ranking).
"""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..engine import OUTPUTS, class_score, cross_entropy, input_gradients
from ..validate import require_choice
from .registry import register_method

LOSSES = ("ce", "score")


def _check(p: dict[str, Any]) -> None:
    require_choice("loss", p["loss"], LOSSES)
    require_choice("output", p["output"], OUTPUTS)


@register_method(
    "fast_ig",
    "Fast-IG: input * gradient (IG from zero for bias-free homogeneous nets)",
    passes="1",
    version=2,
    published="saliency/core/fast_ig.py: x * d/dx F.cross_entropy(softmax_model(x), y) (batch mean over 4 images): "
    "the cross-entropy of the probabilities (double softmax), with a loss's sign.",
    options={
        "reference_bugs=True": "the published sign: x * grad(CE), i.e. the negated default (the 1/B batch mean is never applied)",
        "loss='score'": "x * grad of the target's score (probability, or logit with output='logit'): Hesse et al.'s input*gradient",
        "output='logit'": "cross-entropy (or score) of the logits: one softmax instead of two",
    },
    conformance="tests/test_conformance_baselines.py",
    check=_check,
)
def fast_ig(
    model: nn.Module, x: Tensor, target: Tensor, *, loss: str = "ce", output: str = "prob", reference_bugs: bool = False
) -> Tensor:
    """``x * grad(-CE)`` (``loss="ce"``) or ``x * grad(score)`` (``loss="score"``); ``reference_bugs`` negates."""
    if loss == "ce":
        grad, _ = input_gradients(model, x, target, cross_entropy(output))
        grad = -grad
    else:
        grad, _ = input_gradients(model, x, target, class_score(output))
    attr = x * grad
    return -attr if reference_bugs else attr
