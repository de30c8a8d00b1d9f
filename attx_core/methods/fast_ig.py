"""Fast-IG (Hesse et al. 2021): for nonnegatively homogeneous (bias-free) networks IG from zero equals
input * gradient, one pass per image.
"""
from __future__ import annotations

from torch import Tensor, nn

from ..engine import class_score, input_gradients
from .registry import register_method


@register_method("fast_ig", "Fast-IG: input * gradient (IG from zero for bias-free homogeneous nets)", passes="1")
def fast_ig(
    model: nn.Module, x: Tensor, target: Tensor, *, output: str = "prob", reference_bugs: bool = False
) -> Tensor:
    """``x * grad``; ``reference_bugs=True`` returns ``-x * grad``, the sign the published code uses."""
    grad, _ = input_gradients(model, x, target, class_score(output))
    attr = x * grad
    return -attr if reference_bugs else attr
