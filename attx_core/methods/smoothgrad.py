"""SmoothGrad (Smilkov et al. 2017): the input gradient averaged over Gaussian-noised copies of x.

Paper-code settings (``saliency/core/sg.py``): Captum ``NoiseTunnel(Saliency(model))`` on the softmax
model, 50 samples, noise std 0.15 in [0,1] pixel units, signed (``abs=False``), target = label.
Noise is drawn per image (:class:`attx_core.seeding.ImageRandom`), so a map is the same alone or in
any batch; Captum draws from the global generator in batch order (same distribution, other draws).
"""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..engine import OUTPUTS, class_score, input_gradients
from ..seeding import ImageRandom
from ..validate import require, require_choice
from .registry import register_method


def smoothgrad_noise(x: Tensor, n_samples: int, std: float, seed: int) -> Tensor:
    """The noise SmoothGrad adds: (B, n_samples, C, H, W), image i's rows from its own generator."""
    return ImageRandom(x, seed).randn(n_samples, *x.shape[1:]) * std


def _check(p: dict[str, Any]) -> None:
    require(p["n_samples"] >= 1, f"n_samples must be an integer >= 1, got {p['n_samples']!r}")
    require(0 <= p["std"] <= 1, f"std must lie in [0, 1] (noise in [0, 1] pixel units; published 0.15), got {p['std']}")
    require_choice("output", p["output"], OUTPUTS)


@register_method(
    "smoothgrad",
    "mean input gradient over noisy copies of x (std in [0,1] units, signed)",
    passes="n_samples",
    version=2,
    published="saliency/core/sg.py: Captum NoiseTunnel(Saliency(softmax model)).attribute(nt_samples=50, "
    "stdevs=0.15, abs=False): mean gradient of the target probability at x + N(0, 0.15^2), noise not clipped.",
    options={
        "output='logit'": "differentiates the target logit instead of its softmax probability",
    },
    conformance="tests/test_conformance_baselines.py",
    check=_check,
    memory="n_samples",
)
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

    The noise is :func:`smoothgrad_noise`: per image, independent of the batch it is computed in.
    """
    noise = smoothgrad_noise(x, n_samples, std, seed)
    noisy = (x[:, None] + noise).flatten(0, 1)
    grads, _ = input_gradients(model, noisy, target.repeat_interleave(n_samples), class_score(output))
    return grads.view(x.shape[0], n_samples, *x.shape[1:]).mean(dim=1)
