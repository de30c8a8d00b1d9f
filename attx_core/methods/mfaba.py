"""MFABA (Zhu et al., AAAI 2024), as LMBTough/MFABA's ``mfaba_smooth`` computes it.

A sign-FGSM path that DEScends the target's score S = softmax(softmax(logits))_y (the published model
ends in Softmax and the code applies ``F.softmax`` again): x_{t+1} = clip(x + clip(x_t - alpha *
sign(grad S(x_t)) - x, -eps, eps), 0, 1). The first step is always taken; after each step an image
stops once the model no longer predicts y (so an image the model already misclassifies still gets a
one-step, non-zero map). Attribution ``-sum_t (x_{t+1} - x_t) * grad S(x_t)``.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ..engine import gradients_and_top1, named_objective
from ..validate import require
from .registry import register_method


def _check(p: dict[str, Any]) -> None:
    require(p["epsilon"] > 0, f"epsilon must be > 0, got {p['epsilon']}")
    require(p["alpha"] > 0, f"alpha must be > 0, got {p['alpha']}")
    require(p["num_steps"] >= 1, f"num_steps must be an integer >= 1, got {p['num_steps']!r}")
    require(p["softmaxes"] in (0, 1, 2), f"softmaxes must be 0 (logit), 1 (probability) or 2 (published), got {p['softmaxes']!r}")


@register_method(
    "mfaba",
    "integrated score gradient along a sign-FGSM path descending the target's score, stopped after the prediction flips",
    passes="num_steps",
    version=2,
    published=(
        "LMBTough/MFABA saliency/core/mfaba.py FGSMGrad + MFABA via saliency_zoo.mfaba_smooth: up to 50 steps "
        "x_{t+1} = clip(x + clip(x_t - 0.001*sign(g_t) - x, -0.3, 0.3), 0, 1), g_t the gradient of "
        "softmax(softmax-model output)[label]; the prediction is checked after each step and the image stops "
        "once it differs from the label; map -sum_t (x_{t+1} - x_t)*g_t. The code never zeroes the input "
        "gradient until an image of the batch stops (at batch size 1: the running sum of all gradients)."
    ),
    options={
        "use_sign=False": "mfaba_sharp: x_{t+1} = clip(x_t - 100*alpha*g_t/||g_t||_2, 0, 1), no epsilon ball",
        "softmaxes=1": "differentiates the softmax probability (2 = published double softmax, 0 = the logit)",
        "accumulate=True": "reproduces the published gradient that is never zeroed (running sum of the "
        "gradients, as at batch size 1), used for both the step and the integral",
    },
    conformance="tests/test_conformance_agi_big_mfaba.py",
    check=_check,
)
def mfaba(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    epsilon: float = 0.3,
    num_steps: int = 50,
    alpha: float = 0.001,
    use_sign: bool = True,
    softmaxes: int = 2,
    accumulate: bool = False,
) -> Tensor:
    """MFABA map ``-sum_t (x_{t+1} - x_t) * g_t`` per image, stopped per image after its prediction leaves ``target``.

    Each iteration is one gradient call over the images still running; the stop check for step t
    reuses the forward pass of step t+1, so no pass is spent on a stopped image after its last step.
    """
    objective = named_objective(("logit", "prob", "prob2")[softmaxes])
    point, attr = x.clone(), torch.zeros_like(x)
    idx = torch.arange(x.shape[0], device=x.device)
    acc: Tensor | None = None
    for t in range(num_steps):
        g, pred = gradients_and_top1(model, point[idx], target[idx], objective)
        if t > 0:  # the published check after step t-1, on the forward pass just made at x_t
            keep = pred == target[idx]
            idx, g = idx[keep], g[keep]
            acc = acc[keep] if acc is not None else None
            if idx.numel() == 0:
                break
        if accumulate:
            acc = g if acc is None else acc + g
            g = acc
        here, origin = point[idx], x[idx]
        if use_sign:
            new = (origin + (here - alpha * g.sign() - origin).clamp(-epsilon, epsilon)).clamp(0.0, 1.0)
        else:
            norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (x.dim() - 1)))
            new = (here - alpha * 100 * g / norm).clamp(0.0, 1.0)
        attr[idx] = attr[idx] - (new - here) * g
        point[idx] = new
    return attr
