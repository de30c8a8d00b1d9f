"""SmoothGrad as published: ``saliency/core/sg.py``, Captum ``NoiseTunnel(Saliency(model)).attribute(
x, target=y, nt_samples=50, stdevs=0.15, abs=False)`` on the softmax model: the mean over samples of the
signed gradient of p_y at x + noise (noise N(0, 0.15^2), not clipped). The noise is an argument
(B, n_samples, C, H, W) so the draws can be shared with attx_core. Imports nothing from attx_core."""
from __future__ import annotations

import torch


def smoothgrad(model, x, target, noise, output="prob"):
    total = torch.zeros_like(x)
    n = noise.shape[1]
    for k in range(n):
        point = (x + noise[:, k]).detach().requires_grad_(True)
        z = model(point)
        out = z.softmax(dim=1) if output == "prob" else z
        (grad,) = torch.autograd.grad(out[torch.arange(x.shape[0]), target].sum(), point)
        total += grad
    return total / n
