"""BIG, Boundary-based Integrated Gradients (Wang et al. 2021): IG from a nearby decision-boundary point.

Default: the paper group's reimplementation (LMBTough/ATTEXPLORE ``saliency/core/big.py``) that produced
the tables: one Linf sign-FGSM search (eps 16/255, 50 steps of eps/50) ascending the cross-entropy of the
softmax model's output, then Captum's IG (``riemann_trapezoid``, 50 points) of the target's probability
from that point to x. ``norm="l2"`` with the original BIG radii (:data:`BIG_L2_EPSILONS`, 40 steps) is
zifanw/boundary's L2 PGD search (foolbox ``L2PGD``): normalised-gradient steps and projection on the L2
ball. With several radii an image keeps the point of the first radius that changes its top-1 and is not
attacked at the later ones; an image that no radius flips keeps the first radius's point.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..engine import OUTPUTS, input_gradients, integrate, straight_line
from ..validate import require, require_choice
from .registry import register_method

BIG_L2_EPSILONS = (36 / 255, 64 / 255, 0.3, 0.5, 0.7, 0.9, 1.1)  # zifanw/boundary default.py, L2 radii
NORMS = ("linf", "l2")
BIG_RULES = ("captum", "trapezoid")


def _output(logits: Tensor, output: str) -> Tensor:
    return logits.softmax(dim=1) if output == "prob" else logits


def _per_sample_norm(t: Tensor) -> Tensor:
    return t.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (t.dim() - 1)))


def search(
    model: nn.Module, x: Tensor, target: Tensor, epsilon: float, num_steps: int, *, norm: str = "linf",
    search_output: str = "prob", accumulate: bool = False,
) -> Tensor:
    """One boundary search at radius ``epsilon``: ``num_steps`` steps ascending the cross-entropy.

    Linf (group's ``FGSM``): ``x_{t+1} = clip(x + clip(x_t + (eps/num_steps) * sign(g) - x, -eps, eps), 0, 1)``.
    L2 (foolbox ``L2PGD`` as BIG calls it, without its random start): ``x_t + s * g/||g||``, projected on
    the L2 ball of radius eps around x, clipped to [0, 1]; BIG passes ``rel_stepsize = 2*eps/num_steps``,
    which foolbox multiplies by eps, so ``s = 2 * eps**2 / num_steps``.
    """

    def loss(logits: Tensor, cls: Tensor) -> Tensor:
        return F.cross_entropy(_output(logits, search_output), cls, reduction="none")

    point, acc = x.clone(), None
    for _ in range(num_steps):
        g, _ = input_gradients(model, point, target, loss)
        if accumulate:
            acc = g if acc is None else acc + g
            g = acc
        if norm == "linf":
            point = (x + (point + epsilon / num_steps * g.sign() - x).clamp(-epsilon, epsilon)).clamp(0.0, 1.0)
        else:
            point = point + 2 * epsilon**2 / num_steps * g / _per_sample_norm(g)
            delta = point - x
            point = (x + delta * (epsilon / _per_sample_norm(delta)).clamp(max=1.0)).clamp(0.0, 1.0)
    return point


def boundary_points(
    model: nn.Module, x: Tensor, target: Tensor, epsilons: tuple[float, ...], num_steps: int, *, norm: str = "linf",
    search_output: str = "prob", accumulate: bool = False,
) -> Tensor:
    """Per image, the search point of the first radius whose top-1 is not the target, else the first radius's point."""
    points = x.clone()
    todo = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    for k, eps in enumerate(epsilons):
        idx = todo.nonzero()[:, 0]
        adv = search(model, x[idx], target[idx], float(eps), num_steps, norm=norm, search_output=search_output,
                     accumulate=accumulate)
        with torch.no_grad():
            flipped = model(adv).argmax(dim=1) != target[idx]
        if k == 0:
            points[idx] = adv
        else:
            points[idx[flipped]] = adv[flipped]
        todo[idx[flipped]] = False
        if not todo.any():
            break
    return points


def captum_ig(model: nn.Module, x: Tensor, baseline: Tensor, target: Tensor, output: str, steps: int) -> Tensor:
    """IG as Captum's ``riemann_trapezoid`` computes it: ``steps`` points linspace(0, 1), weights 1/steps
    with both ends halved (they sum to (steps-1)/steps), times (x - baseline)."""

    def score(logits: Tensor, cls: Tensor) -> Tensor:
        return _output(logits, output).gather(1, cls[:, None])[:, 0]

    alphas = torch.linspace(0.0, 1.0, steps, dtype=torch.float64).tolist()
    points = torch.cat([baseline + a * (x - baseline) for a in alphas])
    grads, _ = input_gradients(model, points, target.repeat(steps), score)
    weights = torch.full((steps,), 1.0 / steps, dtype=x.dtype, device=x.device)
    weights[0] /= 2
    weights[-1] /= 2
    total = (grads.view(steps, *x.shape) * weights.view(-1, *([1] * x.dim()))).sum(0)
    return total * (x - baseline)


def _check(p: dict[str, Any]) -> None:
    epsilons = tuple(float(e) for e in p["epsilons"])
    require(len(epsilons) >= 1 and all(e > 0 for e in epsilons), f"epsilons must be a non-empty list of positive values, got {epsilons}")
    require(list(epsilons) == sorted(epsilons), f"epsilons must increase, got {epsilons}")
    require(p["num_steps"] >= 1, f"num_steps must be an integer >= 1, got {p['num_steps']!r}")
    require_choice("norm", p["norm"], NORMS)
    require_choice("search_output", p["search_output"], OUTPUTS)
    require_choice("output", p["output"], OUTPUTS)
    require_choice("rule", p["rule"], BIG_RULES)
    least = 2 if p["rule"] == "captum" else 1
    require(p["steps"] >= least, f"steps must be an integer >= {least} for rule={p['rule']!r}, got {p['steps']!r}")


@register_method(
    "big",
    "Boundary IG: IG from a boundary point found by a sign-FGSM (or L2 PGD) search to x; the sign search amplifies float noise, "
    "so maps differ between CPU thread counts (e.g. correlation 0.48 for 1 vs 2 threads; results record `threads`)",
    passes="len(epsilons)*num_steps + steps",
    version=2,
    published=(
        "LMBTough/ATTEXPLORE saliency/core/big.py (FGSM, boundary_search, BIG) via saliency_zoo.big: 50 sign steps "
        "of (16/255)/50 ascending CrossEntropyLoss of the softmax model's output (double softmax), kept in the "
        "16/255 Linf ball and [0, 1], all steps taken; then Captum IG riemann_trapezoid n_steps=50 of the label's "
        "probability from that point (flipped or not) to x. Its input gradient is never zeroed (sign of the "
        "running sum). zifanw/boundary (the original) runs foolbox L2PGD at radii 36/255 .. 1.1, 40 steps."
    ),
    options={
        "accumulate=True": "reproduces the published search gradient that is never zeroed (sign of the running sum)",
        "norm='l2', epsilons=BIG_L2_EPSILONS, num_steps=40, search_output='logit', output='logit'": "the original "
        "BIG (zifanw/boundary): L2 PGD (step 2*eps^2/num_steps, L2-ball projection, no random start) on the logits' "
        "cross-entropy over the radii, first flipping radius kept, Captum IG of the logit (its CW search is not included)",
        "rule='trapezoid'": "steps+1 points with weights summing to 1 (attx's straight_line) instead of Captum's",
    },
    conformance="tests/test_conformance_agi_big_mfaba.py",
    check=_check,
    memory="steps + 1",
)
def big(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    epsilons: tuple[float, ...] = (16 / 255,),
    num_steps: int = 50,
    steps: int = 50,
    norm: str = "linf",
    search_output: str = "prob",
    output: str = "prob",
    rule: str = "captum",
    accumulate: bool = False,
) -> Tensor:
    """IG of the target's score along the straight line boundary point -> x.

    ``search_output`` is what the search's cross-entropy is taken over (``"prob"``: the published
    double softmax), ``output`` the IG score. Cost per image: ``num_steps`` per radius tried (the
    ``passes`` formula is the worst case) plus ``steps`` IG points (``steps + 1`` with ``rule="trapezoid"``).
    """
    epsilons = tuple(float(e) for e in epsilons)
    start = boundary_points(model, x, target, epsilons, num_steps, norm=norm, search_output=search_output, accumulate=accumulate)
    if rule == "captum":
        return captum_ig(model, x, start, target, output, steps)

    def score(logits: Tensor, cls: Tensor) -> Tensor:
        return _output(logits, output).gather(1, cls[:, None])[:, 0]

    return integrate(straight_line(model, x, start, target, score, steps))
