"""Integrated Gradients as published: LMBTough/ATTEXPLORE ``saliency/core/ig.py`` runs Captum
``IntegratedGradients(model).attribute(x, target=y, baselines=None, n_steps=50, method="riemann_trapezoid")``
on the softmax model. Captum's rules, written out (``captum/attr/_utils/approximation_methods.py``):
riemann_trapezoid: alphas linspace(0, 1, n), step sizes 1/n with the two ends halved; left: alphas
(0..n-1)/n; right: (1..n)/n; step sizes 1/n. ``"trapezoid"`` (not Captum; attx's option) is n pieces:
n + 1 points, weights 1/n with halved ends. Imports nothing from attx_core; one point at a time.

``model`` returns logits; ``output="prob"`` differentiates softmax(logits)[y] (the published model).
"""
from __future__ import annotations

import torch


def alphas_and_weights(n_steps: int, method: str) -> tuple[list[float], list[float]]:
    if method == "riemann_trapezoid":
        alphas = torch.linspace(0, 1, n_steps).tolist()
        weights = [1 / n_steps] * n_steps
        weights[0] /= 2
        weights[-1] /= 2
    elif method == "riemann_left":
        alphas, weights = torch.linspace(0, 1 - 1 / n_steps, n_steps).tolist(), [1 / n_steps] * n_steps
    elif method == "riemann_right":
        alphas, weights = torch.linspace(1 / n_steps, 1, n_steps).tolist(), [1 / n_steps] * n_steps
    elif method == "trapezoid":
        alphas = [k / n_steps for k in range(n_steps + 1)]
        weights = [1 / n_steps] * (n_steps + 1)
        weights[0] /= 2
        weights[-1] /= 2
    else:
        raise ValueError(method)
    return alphas, weights


def score(model, x, target, output):
    z = model(x)
    out = z.softmax(dim=1) if output == "prob" else z
    return out[torch.arange(x.shape[0]), target]


def integrated_gradients(model, x, target, n_steps=50, method="riemann_trapezoid", baseline=None, output="prob"):
    baseline = torch.zeros_like(x) if baseline is None else baseline.expand_as(x)
    total = torch.zeros_like(x, dtype=torch.float64)
    for alpha, w in zip(*alphas_and_weights(n_steps, method)):
        point = (baseline + alpha * (x - baseline)).detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(score(model, point, target, output).sum(), point)
        total += w * grad.double()
    return ((x - baseline).double() * total).float()
