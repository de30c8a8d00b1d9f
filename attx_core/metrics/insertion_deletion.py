"""Insertion / deletion AUC (Petsiuk et al. 2018, RISE ``CausalMetric``) as the AttEXplore code computes it.

Deletion starts from the image and replaces the most salient pixels by the substrate, ``step`` at a
time; insertion starts from the substrate and copies them in. The score is the softmax probability
of the clean image's top-1 class; AUC is the normalised trapezoid over ``ceil(H*W/step) + 1`` points.

Both orders reduce to one per-pixel *key*: a pixel is moved (in all channels) at every curve point
``i`` with ``key < i * step``. With ``order="pixel"`` the key is the pixel's rank in the
channel-summed map. With ``order="reference"`` it is the minimum over channels of the pixel's rank in
that channel's own ranking: the published code ranks the signed 3-channel map per channel and, by
numpy advanced indexing (``start[0, :, coords] = finish[0, :, coords]`` with ``coords`` of shape
(3, step)), writes the union of the three channels' positions into all three channels, cumulatively.
All curve points are built as masks on the model's device and scored in batches.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from torch import Tensor, nn

from ..engine import chunk_size, model_device
from ..execution import forward_only, predict
from ..validate import check_attribution, check_images, check_target, require

ORDERS = ("reference", "pixel")
SUBSTRATES = ("zeros", "blur")


@dataclass
class InsDelResult:
    """Per-image insertion/deletion AUCs (B,), their curves (B, points) and the scored class (B,)."""

    insertion: Tensor
    deletion: Tensor
    insertion_curve: Tensor
    deletion_curve: Tensor
    target: Tensor


def auc(curve: Tensor) -> Tensor:
    """Trapezoid area under curves (..., points) with x spaced evenly on [0, 1]: RISE's ``auc``."""
    require(curve.shape[-1] >= 2, f"a curve needs at least 2 points, got {curve.shape[-1]}")
    return (curve.sum(-1) - curve[..., 0] / 2 - curve[..., -1] / 2) / (curve.shape[-1] - 1)


def coarser_auc(curve: Tensor, factor: int) -> Tensor:
    """AUC of the same curves at ``factor`` times the step: every ``factor``-th point. Exact (the curve
    the coarser step would give) when H*W is a multiple of ``step * factor``; used by the resolution study."""
    require(isinstance(factor, int) and factor >= 1 and (curve.shape[-1] - 1) % factor == 0,
            f"factor must divide the curve's {curve.shape[-1] - 1} steps, got {factor!r}")
    return auc(curve[..., ::factor])


def num_points(pixels: int, step: int) -> int:
    """Curve points for ``pixels`` pixels moved ``step`` at a time: ceil(pixels/step) + 1."""
    return math.ceil(pixels / step) + 1


@lru_cache(maxsize=None)
def _rise_kernel(klen: int = 11, sigma: float = 5.0) -> Tensor:
    """RISE's ``gkern``: scipy's gaussian_filter of a centred delta, one kernel per channel (3,1,k,k)."""
    delta = np.zeros((klen, klen))
    delta[klen // 2, klen // 2] = 1.0
    k = torch.from_numpy(gaussian_filter(delta, sigma).astype(np.float32))
    return k.expand(3, 1, klen, klen).contiguous()


def substrate_images(x: Tensor, substrate: str) -> Tensor:
    """The fully-perturbed image: black (``"zeros"``, the AttEXplore setting) or RISE's blur (klen 11, sigma 5)."""
    require(substrate in SUBSTRATES, f"substrate must be one of {SUBSTRATES}, got {substrate!r}")
    if substrate == "zeros":
        return torch.zeros_like(x)
    kernel = _rise_kernel().to(x)
    return F.conv2d(x, kernel, padding=kernel.shape[-1] // 2, groups=3)


def _descending_ranks(scores: Tensor) -> Tensor:
    """Rank of every entry along the last dim in the order ``np.flip(np.argsort(v))`` (0 = most salient)."""
    order = scores.argsort(dim=-1, stable=True).flip(-1)
    positions = torch.arange(scores.shape[-1], device=scores.device).expand_as(order)
    return torch.empty_like(order).scatter_(-1, order, positions)


def pixel_keys(attributions: Tensor, order: str) -> Tensor:
    """Per pixel (B, H*W), the curve point index times ``step`` from which it is moved (see module doc)."""
    require(order in ORDERS, f"order must be one of {ORDERS}, got {order!r}")
    flat = attributions.flatten(2)  # (B, C, HW)
    if order == "pixel":
        return _descending_ranks(flat.sum(dim=1))
    return _descending_ranks(flat).amin(dim=1)


@torch.no_grad()
def insertion_deletion(
    model: nn.Module,
    x: Tensor,
    attributions: Tensor,
    target: Tensor | int | list[int] | None = None,
    step: int = 224,
    substrate: str = "zeros",
    order: str = "reference",
    batch_size: int | None = None,
) -> InsDelResult:
    """Insertion and deletion AUC of ``attributions`` for images x (B,3,H,W), RISE protocol, batched.

    ``target=None`` scores the model's top-1 class on the clean image (the paper's protocol).
    ``batch_size`` = images per forward pass (default :func:`attx_core.engine.chunk_size`).
    ``step`` = pixels per curve point: 224 is the paper's; 448 or 896 moved no method's mean AUC by 0.002 on
    72 Lite0 images (README, "Insertion/deletion resolution"): a shortcut for exploratory runs, not for Table 1.

    Example::

        >>> res = insertion_deletion(model, x, maps)          # step 224, zeros, reference order
        >>> res.insertion.mean(), res.deletion.mean()
    """
    check_images(x)
    check_attribution(attributions, x)
    require(isinstance(step, int) and step >= 1, f"step must be an integer >= 1, got {step!r}")
    require(substrate in SUBSTRATES, f"substrate must be one of {SUBSTRATES}, got {substrate!r}")
    require(order in ORDERS, f"order must be one of {ORDERS}, got {order!r}")
    batch_size = chunk_size(model_device(model), x[0].numel()) if batch_size is None else batch_size
    require(isinstance(batch_size, int) and batch_size >= 1, f"batch_size must be an integer >= 1, got {batch_size!r}")

    device = model_device(model)
    x = x.to(device)
    b, _, h, w = x.shape
    points = num_points(h * w, step)
    total = 2 * b * points  # every (mode, image, point) triple, mode 0 = insertion, 1 = deletion
    if target is None:
        target = predict(model, x, batch_size, samples=b + total).argmax(dim=1)
    target = check_target(target, b, getattr(model, "num_classes", None)).to(device)

    keys = pixel_keys(attributions.to(device), order).view(b, 1, h, w)
    background = substrate_images(x, substrate)
    forward = forward_only(model, total, batch_size)
    scores = torch.empty(total, device=device)
    for start in range(0, total, batch_size):
        idx = torch.arange(start, min(start + batch_size, total), device=device)
        mode, image, point = idx // (b * points), (idx // points) % b, idx % points
        moved = keys[image] < (point * step).view(-1, 1, 1, 1)  # (n,1,H,W), shared by the channels
        shows_image = moved == (mode == 0).view(-1, 1, 1, 1)  # inserted, or not yet deleted
        images = torch.where(shows_image, x[image], background[image])
        probs = forward(images).softmax(dim=1)
        scores[idx] = probs.gather(1, target[image][:, None])[:, 0]
    curves = scores.view(2, b, points)
    return InsDelResult(auc(curves[0]), auc(curves[1]), curves[0], curves[1], target)
