"""SmoothGrad (Smilkov et al. 2017): the input gradient averaged over Gaussian-noised copies of x.

Paper-code settings: 50 samples, noise std 0.15 in [0,1] pixel units, signed (no abs).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..engine import class_score, input_gradients
from ..validate import require
from .registry import register_method


@register_method("smoothgrad", "mean input gradient over noisy copies of x (std in [0,1] units, signed)", passes="n_samples")
def smoothgrad(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    n_samples: int = 50,
    std: float = 0.15,
    seed: int = 3407,
    output: str = "prob",
) -> Tensor:
    """Mean gradient at ``x + N(0, std^2)`` (noise not clipped), all samples batched in one oracle call.

    Noise is drawn image-major, shape (B, n_samples, C, H, W), from a generator seeded with ``seed``:
    the same draws as Captum's ``NoiseTunnel`` after ``torch.manual_seed(seed)``.
    """
    require(isinstance(n_samples, int) and n_samples >= 1, f"n_samples must be an integer >= 1, got {n_samples!r}")
    require(std >= 0, f"std must be >= 0, got {std}")
    gen = torch.Generator(device=x.device).manual_seed(seed)
    noise = torch.randn((x.shape[0], n_samples, *x.shape[1:]), generator=gen, device=x.device, dtype=x.dtype) * std
    noisy = (x[:, None] + noise).flatten(0, 1)
    grads, _ = input_gradients(model, noisy, target.repeat_interleave(n_samples), class_score(output))
    return grads.view(x.shape[0], n_samples, *x.shape[1:]).mean(dim=1)
