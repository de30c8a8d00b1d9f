"""Expected Gradients (Erion et al. 2021): IG averaged over baselines drawn from a background set.

EG = E_{x'~background, a~U(0,1)} [(x - x') * grad f(x' + a (x - x'))], a Monte Carlo path integral:
each sample is one segment x' -> x carrying its gradient / n. Background defaults to the other images
of the batch, as in the paper's code. The reference passes no labels (it attributes the classes of
sample 0, its outputs are wrong); here each image gets its own target. That bug is not reproduced.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..engine import Segment, class_score, input_gradients, integrate
from ..validate import check_images, require
from .registry import register_method


@register_method("expected_gradients", "Expected Gradients: IG averaged over background images (others of the batch)", passes="n_samples")
def expected_gradients(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    n_samples: int = 50,
    background: Tensor | None = None,
    seed: int = 3407,
    output: str = "prob",
) -> Tensor:
    """Mean of ``(x - x'_k) * grad(x'_k + a_k (x - x'_k))`` over n seeded draws of (x'_k, a_k) per image.

    With ``background=None`` image i draws x' uniformly from the other images of x (needs >= 2 images).
    """
    require(isinstance(n_samples, int) and n_samples >= 1, f"n_samples must be an integer >= 1, got {n_samples!r}")
    b = x.shape[0]
    gen = torch.Generator().manual_seed(seed)
    if background is None:
        require(b >= 2, "expected_gradients with background=None needs >= 2 images (the others are the background)")
        offset = torch.randint(1, b, (n_samples, b), generator=gen)
        idx = (torch.arange(b) + offset) % b  # never image i itself
        refs = x[idx.to(x.device)]
    else:
        check_images(background, "background")
        require(background.shape[1:] == x.shape[1:], f"background images {tuple(background.shape[1:])} differ from x's {tuple(x.shape[1:])}")
        idx = torch.randint(0, background.shape[0], (n_samples, b), generator=gen)
        refs = background.to(x)[idx.to(x.device)]
    alphas = torch.rand((n_samples, b, 1, 1, 1), generator=gen).to(x)
    points = refs + alphas * (x[None] - refs)  # (n, B, C, H, W)
    grads, _ = input_gradients(model, points.flatten(0, 1), target.repeat(n_samples), class_score(output))
    grads = grads.view(n_samples, *x.shape)
    return integrate(Segment(refs[k], x, grads[k] / n_samples) for k in range(n_samples))
