"""Guided IG as published: ``saliency/saliency_zoo.py::guided_ig`` (model[:2], i.e. LOGITS, x_steps=15,
zero baseline, one image) calling the vendored PAIR ``saliency/core/guided_ig.py::guided_ig_impl``
(fraction 0.25, max_dist 0.02), transcribed line by line in numpy float64. Imports nothing from
attx_core. ``model`` returns logits; ``output="prob"`` differentiates softmax(logits)[y] instead."""
from __future__ import annotations

import math

import numpy as np
import torch

EPSILON = 1e-9


def l1_distance(x1, x2):
    return np.abs(x1 - x2).sum()


def translate_x_to_alpha(x, x_input, x_baseline):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x_input - x_baseline != 0, (x - x_baseline) / (x_input - x_baseline), np.nan)


def translate_alpha_to_x(alpha, x_input, x_baseline):
    assert 0 <= alpha <= 1.0
    return x_baseline + (x_input - x_baseline) * alpha


def guided_ig_impl(x_input, x_baseline, grad_func, steps=200, fraction=0.25, max_dist=0.02):
    x_input = np.asarray(x_input, dtype=np.float64)
    x_baseline = np.asarray(x_baseline, dtype=np.float64)
    x = x_baseline.copy()
    l1_total = l1_distance(x_input, x_baseline)
    attr = np.zeros_like(x_input, dtype=np.float64)
    total_diff = x_input - x_baseline
    if np.abs(total_diff).sum() == 0:
        return attr
    for step in range(steps):
        grad_actual = grad_func(x)
        grad = grad_actual.copy()
        alpha = (step + 1.0) / steps
        alpha_min = max(alpha - max_dist, 0.0)
        alpha_max = min(alpha + max_dist, 1.0)
        x_min = translate_alpha_to_x(alpha_min, x_input, x_baseline)
        x_max = translate_alpha_to_x(alpha_max, x_input, x_baseline)
        l1_target = l1_total * (1 - (step + 1) / steps)
        gamma = np.inf
        while gamma > 1.0:
            x_old = x.copy()
            x_alpha = translate_x_to_alpha(x, x_input, x_baseline)
            x_alpha[np.isnan(x_alpha)] = alpha_max
            x[x_alpha < alpha_min] = x_min[x_alpha < alpha_min]
            l1_current = l1_distance(x, x_input)
            if math.isclose(l1_target, l1_current, rel_tol=EPSILON, abs_tol=EPSILON):
                attr += (x - x_old) * grad_actual
                break
            grad[x == x_max] = np.inf
            threshold = np.quantile(np.abs(grad), fraction, method="lower")
            s = np.logical_and(np.abs(grad) <= threshold, grad != np.inf)
            l1_s = (np.abs(x - x_max) * s).sum()
            if l1_s > 0:
                gamma = (l1_current - l1_target) / l1_s
            else:
                gamma = np.inf
            if gamma > 1.0:
                x[s] = x_max[s]
            else:
                assert gamma > 0, gamma
                x[s] = translate_alpha_to_x(gamma, x_max, x)[s]
            attr += (x - x_old) * grad_actual
    return attr


def guided_ig(model, x, target, steps=15, fraction=0.25, max_dist=0.02, output="logit"):
    """The published wrapper, one image at a time (it only runs at batch size 1)."""
    maps = []
    for i in range(x.shape[0]):

        def grad_func(point, i=i):
            images = torch.from_numpy(point[None]).float().requires_grad_(True)
            z = model(images)
            out = z.softmax(dim=1) if output == "prob" else z
            (grads,) = torch.autograd.grad(out[:, int(target[i])].sum(), images)
            return grads[0].double().numpy()

        im = x[i].detach().double().numpy()
        maps.append(guided_ig_impl(im, np.zeros(im.shape), grad_func, steps, fraction, max_dist))
    return torch.from_numpy(np.stack(maps))
