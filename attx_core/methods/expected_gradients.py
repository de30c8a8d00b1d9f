"""Expected Gradients (Erion et al. 2021): IG averaged over baselines drawn from a background set.

EG = E_{x'~background, a~U(0,1)} [(x - x') * grad f(x' + a (x - x'))], a Monte Carlo path integral:
each sample is one segment x' -> x carrying its gradient / n.

The paper's code (``saliency/saliency_zoo.py::eg`` -> ``AttributionPriorExplainer(dataset, 4, k=1)``
in ``saliency/core/eg.py``) draws, per call, ONE reference per image from the whole evaluation image
set (a shuffled DataLoader) and ONE alpha per image (k = 1), interpolates ``a x + (1 - a) x'`` and
differentiates the softmax model. It passes no labels, so ``gather_nd`` picks the probabilities of
classes 0..3 of image 0: three of four maps are zero and the fourth explains the wrong classes. That
bug is not reproduced: every image explains its own target.

Here the draws are per image (:class:`attx_core.seeding.ImageRandom`, seeded by ``seed`` and the
image's content): reference indices ``rng.randint(0, n_bg, n_samples)`` then alphas
``rng.rand(n_samples)``, so a map never depends on how images are batched. The background is a fixed
image set, never the batch: ``background="sample_images"`` (default) is the 20 packaged photos of
:func:`attx_core.data.sample_images` at x's size; pass the evaluation set itself as a tensor to draw
from it as the paper does.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from torch import Tensor, nn

from ..engine import OUTPUTS, Segment, class_score, input_gradients, integrate
from ..seeding import ImageRandom
from ..validate import check_images, require, require_choice
from .registry import register_method

BACKGROUNDS = ("sample_images",)


@lru_cache(maxsize=4)
def _sample_images(size: int) -> Tensor:
    from ..data import sample_images

    return sample_images(size).x


def resolve_background(background: str | Tensor, x: Tensor) -> Tensor:
    """The background image set (N, C, H, W) on x's device: a tensor, or the packaged photos at x's size
    (``background`` passed the method's check)."""
    if isinstance(background, str):
        require(x.shape[2] == x.shape[3], f"background='sample_images' needs square images, got {tuple(x.shape[2:])}; pass background=")
        bg = _sample_images(int(x.shape[2]))
    else:
        check_images(background, "background")
        bg = background
    require(bg.shape[1:] == x.shape[1:], f"background images {tuple(bg.shape[1:])} differ from x's {tuple(x.shape[1:])}")
    return bg.to(device=x.device, dtype=x.dtype)


def eg_draws(x: Tensor, n_background: int, n_samples: int, seed: int) -> tuple[Tensor, Tensor]:
    """Per-image draws: reference indices (B, n_samples) in [0, n_background) and alphas (B, n_samples)."""
    rng = ImageRandom(x, seed)
    return rng.randint(0, n_background, n_samples), rng.rand(n_samples)


def _check(p: dict[str, Any]) -> None:
    require(p["n_samples"] >= 1, f"n_samples must be an integer >= 1, got {p['n_samples']!r}")
    require(isinstance(p["background"], Tensor) or p["background"] in BACKGROUNDS,
            f"background must be one of {BACKGROUNDS} or a tensor of images, got {p['background']!r}")
    require_choice("output", p["output"], OUTPUTS)


@register_method(
    "expected_gradients",
    "Expected Gradients: IG averaged over references drawn from a fixed image set (k=1 as published)",
    passes="n_samples",
    version=2,
    published="saliency/core/eg.py (AttributionPriorExplainer, k=1, via saliency_zoo.eg): one reference from the whole "
    "image set and one alpha ~ U(0,1) per image, (x - x') * grad p(a x + (1-a) x'); no labels passed, so it "
    "explains classes 0-3 of image 0 (3 of 4 maps zero) - not reproduced: each image explains its own target.",
    options={
        "n_samples=50": "50 references and alphas per image, averaged (Erion et al.'s k; the published code used 1)",
        "background=images": "draw references from the tensor `images` (the paper's: the evaluation set) instead of the 20 packaged photos",
        "output='logit'": "differentiates the target logit instead of its softmax probability",
    },
    conformance="tests/test_conformance_baselines.py",
    check=_check,
    memory="n_samples",
)
def expected_gradients(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    n_samples: int = 1,
    background: str | Tensor = "sample_images",
    seed: int = 3407,
    output: str = "prob",
) -> Tensor:
    """Mean of ``(x - x'_k) * grad(a_k x + (1 - a_k) x'_k)`` over ``n_samples`` per-image draws of (x'_k, a_k)."""
    bg = resolve_background(background, x)
    idx, alphas = eg_draws(x, bg.shape[0], n_samples, seed)
    refs = bg[idx.to(bg.device)].transpose(0, 1)  # (n, B, C, H, W)
    a = alphas.to(x).t().reshape(n_samples, x.shape[0], *([1] * (x.dim() - 1)))
    points = a * x[None] + (1.0 - a) * refs  # the published interpolation, eg.py::_get_samples_input
    grads, _ = input_gradients(model, points.flatten(0, 1), target.repeat(n_samples), class_score(output))
    grads = grads.view(n_samples, *x.shape)
    return integrate(Segment(refs[k], x, grads[k] / n_samples) for k in range(n_samples))
