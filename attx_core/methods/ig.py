"""Integrated Gradients (Sundararajan et al. 2017): the straight path baseline -> x.

As the paper's code runs it (``saliency/core/ig.py``: Captum ``IntegratedGradients``, ``n_steps=50``,
``method="riemann_trapezoid"``): zero baseline, 50 points, target = label, on the softmax model.
Captum's trapezoid evaluates ``steps`` points ``linspace(0, 1, steps)`` and weights them 1/steps
(the two ends 1/(2 steps)); the weights sum to (steps-1)/steps, not 1, so its maps are the trapezoid
rule over steps-1 pieces scaled by (steps-1)/steps. That is the default here (``rule="riemann_trapezoid"``).
"""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..engine import OUTPUTS, QUADRATURE_RULES, class_score, integrate, straight_line
from ..validate import require, require_choice
from .registry import register_method

IG_RULES = ("riemann_trapezoid", *QUADRATURE_RULES)


def resolve_baseline(baseline: str | Tensor, x: Tensor) -> Tensor:
    """The baseline (passed by :func:`check_baseline`) as a tensor of x's shape: ``"zeros"`` (black image) or a
    tensor broadcastable to x."""
    if isinstance(baseline, str):
        return x.new_zeros(x.shape)
    try:
        return baseline.to(device=x.device, dtype=x.dtype).expand_as(x)
    except RuntimeError as err:
        raise ValueError(f"baseline shape {tuple(baseline.shape)} does not broadcast to x's {tuple(x.shape)}") from err


def check_baseline(baseline: str | Tensor) -> None:
    """A baseline is ``"zeros"`` or a tensor (its shape is checked against the images by :func:`resolve_baseline`)."""
    require(isinstance(baseline, Tensor) or baseline == "zeros", f"baseline must be 'zeros' or a tensor, got {baseline!r}")


def _check(p: dict[str, Any]) -> None:
    require(p["steps"] >= 1, f"steps must be an integer >= 1, got {p['steps']!r}")
    require_choice("rule", p["rule"], IG_RULES)
    require(p["rule"] != "riemann_trapezoid" or p["steps"] >= 2,
            f"rule='riemann_trapezoid' needs steps >= 2 (Captum's n_steps > 1), got {p['steps']}")
    require_choice("output", p["output"], OUTPUTS)
    check_baseline(p["baseline"])


@register_method(
    "ig",
    "Integrated Gradients: straight path from a baseline (zeros), Captum's riemann_trapezoid",
    passes="steps + 1 if rule == 'trapezoid' else steps",
    version=2,
    published="saliency/core/ig.py: Captum IntegratedGradients(softmax model), zero baseline, n_steps=50, "
    "method='riemann_trapezoid' (50 points, weights 1/50 with halved ends: they sum to 49/50), target = label.",
    options={
        "rule='trapezoid'": "steps pieces, steps+1 points, trapezoid weights summing to 1 (version-1 default: 51 points)",
        "rule='left'": "left Riemann sum, steps points (Captum riemann_left)",
        "rule='right'": "right Riemann sum, steps points (Captum riemann_right)",
        "output='logit'": "integrates the gradient of the target logit instead of its softmax probability",
    },
    conformance="tests/test_conformance_baselines.py",
    check=_check,
    memory="steps + 1",
)
def integrated_gradients(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    steps: int = 50,
    baseline: str | Tensor = "zeros",
    rule: str = "riemann_trapezoid",
    output: str = "prob",
) -> Tensor:
    """IG of the target's score: ``integrate`` over ``straight_line`` from the baseline to x.

    ``steps`` is Captum's ``n_steps`` for ``riemann_trapezoid``/``left``/``right`` (gradient points per
    image) and the number of pieces for ``trapezoid`` (steps + 1 points).
    """
    base = resolve_baseline(baseline, x)
    objective = class_score(output)
    if rule != "riemann_trapezoid":
        return integrate(straight_line(model, x, base, target, objective, steps, rule))
    # Captum: points linspace(0, 1, steps), weights [1/2, 1, ..., 1, 1/2] / steps = trapezoid over
    # steps - 1 pieces (weights [1/2, 1, ..., 1/2] / (steps - 1)) times (steps - 1) / steps.
    pieces = integrate(straight_line(model, x, base, target, objective, steps - 1, "trapezoid"))
    return pieces * ((steps - 1) / steps)
