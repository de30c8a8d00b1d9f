"""Guided Integrated Gradients (Kapishnikov et al. 2021), as PAIR saliency's ``GuidedIG``.

The path starts at the baseline and, at each of ``steps`` steps, moves the ``fraction`` of features
with the smallest |gradient| toward x until the L1 distance to x has shrunk by 1/steps of the total,
keeping every feature within ``max_dist`` (in path-fraction units) of the straight-line schedule.
Defaults are what the paper's wrapper ran (``saliency/saliency_zoo.py::guided_ig`` calling the vendored
PAIR ``saliency/core/guided_ig.py``): 15 steps on the LOGITS (``model[:2]``, no final softmax), fraction
0.25, max_dist 0.02, zero baseline, one image at a time. PAIR's own default is 200 steps. Every move is a
:class:`Segment` carrying the gradient of its step; the attribution is their ``integrate``. Images are
processed together: one gradient batch per step, the inner moves masked per image.
"""
from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import Tensor, nn

from ..engine import OUTPUTS, Objective, Segment, class_score, input_gradients, integrate
from ..validate import require, require_choice
from .ig import check_baseline, resolve_baseline
from .registry import register_method

TOL = 1e-9  # PAIR's EPSILON for "L1 target reached"


def _isclose(a: Tensor, b: Tensor) -> Tensor:
    """``math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)`` elementwise (PAIR's test; symmetric, unlike torch.isclose)."""
    return (a - b).abs() <= torch.maximum(TOL * torch.maximum(a.abs(), b.abs()), torch.full_like(a, TOL))


def guided_path(
    model: nn.Module, x: Tensor, baseline: Tensor, target: Tensor, objective: Objective,
    steps: int, fraction: float, max_dist: float,
) -> Iterator[Segment]:
    """Segments of the Guided IG path baseline -> x (float64 path state, as PAIR's numpy code)."""
    shape = x.shape
    x_in, base = x.flatten(1).double(), baseline.flatten(1).double()
    diff = x_in - base
    total = diff.abs().sum(dim=1)
    k = int(fraction * (x_in.shape[1] - 1)) + 1  # np.quantile(..., interpolation="lower") as kthvalue
    cur = base.clone()
    for step in range(steps):
        grad_actual, _ = input_gradients(model, cur.view(shape).to(x.dtype), target, objective)
        grad_actual = grad_actual.flatten(1).double()
        grad = grad_actual.clone()
        alpha = (step + 1) / steps
        a_min, a_max = max(alpha - max_dist, 0.0), min(alpha + max_dist, 1.0)
        x_min, x_max = base + diff * a_min, base + diff * a_max
        l1_target = total * (1 - alpha)
        active = total > 0
        while active.any():
            old = cur
            x_alpha = torch.where(diff != 0, (cur - base) / torch.where(diff != 0, diff, 1.0), a_max)
            cur = torch.where((x_alpha < a_min) & active[:, None], x_min, cur)
            l1_cur = (cur - x_in).abs().sum(dim=1)
            done = _isclose(l1_target, l1_cur)
            grad = torch.where(cur == x_max, torch.inf, grad)
            thr = grad.abs().kthvalue(k, dim=1).values
            chosen = (grad.abs() <= thr[:, None]) & (grad != torch.inf)
            l1_s = ((cur - x_max).abs() * chosen).sum(dim=1)
            gamma = torch.where(l1_s > 0, (l1_cur - l1_target) / torch.where(l1_s > 0, l1_s, 1.0), torch.inf)
            move = (active & ~done)[:, None] & chosen
            toward = cur + (x_max - cur) * gamma.clamp(max=1.0)[:, None]
            cur = torch.where(move, torch.where(gamma[:, None] > 1, x_max, toward), cur)
            yield Segment(old.view(shape), cur.view(shape), grad_actual.view(shape))
            active = active & ~done & (gamma > 1) & (l1_s > 0)  # l1_s == 0: nothing left to move


def _check(p: dict[str, Any]) -> None:
    require(p["steps"] >= 1, f"steps must be an integer >= 1, got {p['steps']!r}")
    require(0.0 < p["fraction"] <= 1.0, f"fraction must lie in (0, 1], got {p['fraction']}")
    require(0.0 <= p["max_dist"] <= 1.0, f"max_dist must lie in [0, 1], got {p['max_dist']}")
    require_choice("output", p["output"], OUTPUTS)
    check_baseline(p["baseline"])


@register_method(
    "guided_ig",
    "Guided IG: adaptive path moving low-gradient features first (paper wrapper: 15 steps on logits)",
    passes="steps",
    version=2,
    published="saliency/saliency_zoo.py::guided_ig -> saliency/core/guided_ig.py (PAIR GuidedIG.GetMask): x_steps=15, "
    "fraction 0.25, max_dist 0.02, zero baseline, gradient of the target LOGIT (model[:2], softmax dropped), float64 path.",
    options={
        "steps=200": "PAIR's library default (more, finer steps; the paper's tables ran 15)",
        "output='prob'": "differentiates the softmax probability instead of the logit",
    },
    conformance="tests/test_conformance_baselines.py",
    check=_check,
)
def guided_ig(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    steps: int = 15,
    fraction: float = 0.25,
    max_dist: float = 0.02,
    baseline: str | Tensor = "zeros",
    output: str = "logit",
) -> Tensor:
    """Guided IG of the target's score; ``steps`` gradient batches, each over all images."""
    base = resolve_baseline(baseline, x)
    path = guided_path(model, x, base, target, class_score(output), steps, fraction, max_dist)
    return integrate(path).to(x.dtype)
