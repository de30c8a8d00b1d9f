"""BIG as published, written from LMBTough/ATTEXPLORE ``saliency/core/big.py`` (``FGSM``, ``boundary_search``,
``take_closer_bd``, ``BIG``) with Captum's ``IntegratedGradients(method="riemann_trapezoid")``, and the
original zifanw/boundary search (foolbox ``L2PGD`` with ``rel_stepsize = 2 * eps / steps``, no random start).
Batched like the published code. Imports nothing from attx_core.

``model`` returns logits; the published model ends in Softmax, so its ``CrossEntropyLoss(model(x))`` is
the cross-entropy over probabilities (``search_output="prob"``) and Captum's score is the probability
(``output="prob"``). The published search gradient is never zeroed: ``accumulate=True`` keeps that.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _out(model, x, output):
    z = model(x)
    return F.softmax(z, dim=-1) if output == "prob" else z


class FGSM:
    def __init__(self, epsilon, search_output="prob", accumulate=False):
        self.epsilon = epsilon
        self.criterion = nn.CrossEntropyLoss()
        self.search_output, self.accumulate = search_output, accumulate

    def __call__(self, model, data, target, num_steps=50):
        alpha = self.epsilon / num_steps
        dt = data.clone().detach().requires_grad_(True)
        for _ in range(num_steps):
            loss = self.criterion(_out(model, dt, self.search_output), target)
            loss.backward()
            data_grad_sign = dt.grad.data.sign()
            if not self.accumulate:
                dt.grad = None
            with torch.no_grad():
                adv_data = dt + alpha * data_grad_sign
                total_grad = torch.clamp(adv_data - data, -self.epsilon, self.epsilon)
                dt.data = torch.clamp(data + total_grad, 0, 1)
        with torch.no_grad():
            adv_pred = model(dt).argmax(-1)
        return dt.detach(), adv_pred != target


class L2PGD:
    """foolbox L2ProjectedGradientDescentAttack as BIG calls it, random_start=False."""

    def __init__(self, epsilon, search_output="logit", accumulate=False):
        self.epsilon, self.search_output, self.accumulate = epsilon, search_output, accumulate

    def __call__(self, model, x0, target, num_steps=40):
        stepsize = (2 * self.epsilon / num_steps) * self.epsilon  # rel_stepsize * epsilon
        x, acc = x0.clone(), None
        for _ in range(num_steps):
            x = x.detach().requires_grad_(True)
            loss = F.cross_entropy(_out(model, x, self.search_output), target, reduction="sum")
            grad = torch.autograd.grad(loss, x)[0]
            if self.accumulate:
                acc = grad if acc is None else acc + grad
                grad = acc
            with torch.no_grad():
                norms = grad.flatten(1).norm(dim=-1).clamp_min(1e-12).view(-1, 1, 1, 1)
                x = x + stepsize * grad / norms
                d = x - x0
                dn = d.flatten(1).norm(dim=-1).clamp_min(1e-12).view(-1, 1, 1, 1)
                x = x0 + d * torch.clamp(self.epsilon / dn, max=1.0)
                x = torch.clamp(x, 0, 1)
        with torch.no_grad():
            adv_pred = model(x).argmax(-1)
        return x.detach(), adv_pred != target


def boundary_search(model, attacks, data, target, num_steps):
    batch_boundary_points, batch_success = None, None
    for attack in attacks:
        c_boundary_points, c_success = attack(model, data, target, num_steps=num_steps)
        if batch_boundary_points is None:
            batch_boundary_points, batch_success = c_boundary_points.clone(), c_success.clone()
        else:
            for i in range(batch_boundary_points.shape[0]):
                if not batch_success[i] and c_success[i]:
                    batch_boundary_points[i] = c_boundary_points[i]
                    batch_success[i] = c_success[i]
    return batch_boundary_points  # take_closer_bd(None, ...) twice returns these points unchanged


def captum_ig(model, inputs, baselines, target, n_steps=50, output="prob"):
    """Captum IntegratedGradients.attribute(method="riemann_trapezoid")."""
    step_sizes = [1 / n_steps] * n_steps
    step_sizes[0] /= 2
    step_sizes[-1] /= 2
    alphas = torch.linspace(0, 1, n_steps, dtype=torch.float64).tolist()
    scaled = torch.cat([baselines + a * (inputs - baselines) for a in alphas]).requires_grad_(True)
    out = _out(model, scaled, output)
    sel = out[torch.arange(scaled.shape[0]), target.repeat(n_steps)]
    grads = torch.autograd.grad(sel.sum(), scaled)[0]
    scaled_grads = grads.contiguous().view(n_steps, -1) * torch.tensor(step_sizes).view(n_steps, 1)
    total_grads = scaled_grads.view(n_steps, *inputs.shape).sum(0)
    return total_grads * (inputs - baselines)


def trapezoid_ig(model, inputs, baselines, target, steps=50, output="prob"):
    """The plain trapezoid rule on steps+1 points (weights sum to 1)."""
    total = torch.zeros_like(inputs)
    for k in range(steps + 1):
        point = (baselines + (k / steps) * (inputs - baselines)).detach().requires_grad_(True)
        out = _out(model, point, output)
        g = torch.autograd.grad(out[torch.arange(point.shape[0]), target].sum(), point)[0]
        total = total + g * (0.5 if k in (0, steps) else 1.0) / steps
    return total * (inputs - baselines)


def big(model, data, target, epsilons=(16 / 255,), num_steps=50, gradient_steps=50, norm="linf", search_output="prob",
        output="prob", rule="captum", accumulate=False):
    make = FGSM if norm == "linf" else L2PGD
    attacks = [make(eps, search_output, accumulate) for eps in epsilons]
    cls_bd = boundary_search(model, attacks, data, target, num_steps)
    ig = captum_ig if rule == "captum" else trapezoid_ig
    return ig(model, data, cls_bd, target, gradient_steps, output)
