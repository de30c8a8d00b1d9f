"""Integrated Gradients (Sundararajan et al. 2017): the straight path baseline -> x, trapezoid rule.

As the paper's code runs it: zero baseline, 50 steps, target = label, on the softmax model.
"""
from __future__ import annotations

from torch import Tensor, nn

from ..engine import class_score, integrate, straight_line
from ..validate import require
from .registry import register_method


def resolve_baseline(baseline: str | Tensor, x: Tensor) -> Tensor:
    """The baseline as a tensor of x's shape: ``"zeros"`` (black image) or a tensor broadcastable to x."""
    if isinstance(baseline, str):
        require(baseline == "zeros", f"baseline must be 'zeros' or a tensor, got {baseline!r}")
        return x.new_zeros(x.shape)
    require(isinstance(baseline, Tensor), f"baseline must be 'zeros' or a tensor, got {type(baseline).__name__}")
    try:
        return baseline.to(device=x.device, dtype=x.dtype).expand_as(x)
    except RuntimeError as err:
        raise ValueError(f"baseline shape {tuple(baseline.shape)} does not broadcast to x's {tuple(x.shape)}") from err


@register_method("ig", "Integrated Gradients: straight path from a baseline (zeros), trapezoid rule", passes="steps + 1")
def integrated_gradients(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    steps: int = 50,
    baseline: str | Tensor = "zeros",
    rule: str = "trapezoid",
    output: str = "prob",
) -> Tensor:
    """IG of the target's score: ``integrate`` over ``straight_line`` from the baseline to x."""
    require(isinstance(steps, int) and steps >= 1, f"steps must be an integer >= 1, got {steps!r}")
    base = resolve_baseline(baseline, x)
    return integrate(straight_line(model, x, base, target, class_score(output), steps, rule))
