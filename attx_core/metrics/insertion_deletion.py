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

``fractions`` puts the curve points at these fractions of the pixels instead of every ``step`` pixels (ROAD's
10%, ..., 90%). The ``"road"`` substrate is not one image but ROAD's noisy linear imputation (Rong et al., ICML
2022, ``road/imputations.py``) of the pixels not shown at each curve point, from the pixels shown there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from scipy.sparse.linalg import spsolve
from torch import Tensor, nn

from ..engine import chunk_size, model_device
from ..execution import forward_only, predict
from ..validate import check_attribution, check_images, check_target, require

ORDERS = ("reference", "pixel")
SUBSTRATES = ("zeros", "blur", "road")
# ROAD's NoisyLinearImputer: each neighbour's weight (the 4 direct ones 1/6, the 4 diagonal ones 1/12) and the noise's
# standard deviation on [0, 1] pixel values; its removal fractions 10%, 20%, ..., 90%.
ROAD_WEIGHTS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12), ((0, -1), 1 / 6), ((-1, -1), 1 / 12),
                ((1, 0), 1 / 6), ((-1, 0), 1 / 6))
ROAD_NOISE = 0.01
ROAD_FRACTIONS = tuple(k / 10 for k in range(1, 10))


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
    require(substrate != "road", "the road substrate has no fixed image: it imputes each curve point (road_impute)")
    if substrate == "zeros":
        return torch.zeros_like(x)
    kernel = _rise_kernel().to(x)
    return F.conv2d(x, kernel, padding=kernel.shape[-1] // 2, groups=3)


def road_impute(image: Tensor, known: Tensor, noise: float = ROAD_NOISE, generator: torch.Generator | None = None) -> Tensor:
    """ROAD's noisy linear imputation of one image (3,H,W) where ``known`` (H,W) is False: every missing pixel is the
    weighted mean of its in-image neighbours (:data:`ROAD_WEIGHTS`), one sparse linear system over the missing pixels
    solved per channel, plus Gaussian noise of std ``noise`` (drawn as ROAD does, channels x missing pixels)."""
    require(image.dim() == 3 and tuple(known.shape) == tuple(image.shape[1:]),
            f"road_impute takes one image (C,H,W) and a mask (H,W), got {tuple(image.shape)} and {tuple(known.shape)}")
    h, w = known.shape
    shown = known.flatten().bool().cpu().numpy()
    require(bool(shown.any()), "ROAD imputes from the pixels shown: at least one pixel must be known")
    flat = image.detach().flatten(1)
    missing = np.flatnonzero(~shown)
    if not len(missing):
        return image.detach().clone()
    values = flat.double().cpu().numpy()
    n = len(missing)
    variable = np.full(h * w, -1)
    variable[missing] = np.arange(n)
    row, col = np.divmod(missing, w)
    weights, rhs = np.zeros(n), np.zeros((n, values.shape[0]))
    rows, cols, entries = [np.arange(n)], [np.arange(n)], []
    for (dr, dc), weight in ROAD_WEIGHTS:
        r, c = row + dr, col + dc
        inside = np.flatnonzero((r >= 0) & (r < h) & (c >= 0) & (c < w))
        neighbour = r[inside] * w + c[inside]
        weights[inside] += weight
        given = shown[neighbour]
        rhs[inside[given]] -= weight * values[:, neighbour[given]].T
        rows.append(inside[~given])
        cols.append(variable[neighbour[~given]])
        entries.append(np.full(int((~given).sum()), weight))
    system = sp.csc_matrix((np.concatenate([-weights, *entries]), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    solved = torch.from_numpy(np.asarray(spsolve(system, rhs)).reshape(n, -1)).float().T
    out = flat.clone()
    out[:, torch.from_numpy(missing).to(out.device)] = (solved + noise * torch.randn(solved.shape, generator=generator)).to(out)
    return out.view_as(image)


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
    fractions: Sequence[float] | None = None,
    seed: int = 0,
) -> InsDelResult:
    """Insertion and deletion AUC of ``attributions`` for images x (B,3,H,W), RISE protocol, batched.

    ``target=None`` scores the model's top-1 class on the clean image (the paper's protocol).
    ``batch_size`` = images per forward pass (default :func:`attx_core.engine.chunk_size`).
    ``step`` = pixels per curve point: 224 is the paper's; 448 or 896 moved no method's mean AUC by 0.002 on
    72 Lite0 images (README, "Insertion/deletion resolution"): a shortcut for exploratory runs, not for Table 1.
    ``fractions``: curve points at ``int(H*W*f)`` pixels moved instead (increasing, in [0, 1]; the AUC is the
    trapezoid over them, normalised by their span); ``"road"`` needs them strictly inside (0, 1). ``seed``: ROAD's
    noise at curve point p of mode m (0 insertion, 1 deletion) comes from a generator seeded ``seed + 2p + m``.

    Example::

        >>> res = insertion_deletion(model, x, maps)          # step 224, zeros, reference order
        >>> res.insertion.mean(), res.deletion.mean()
    """
    check_images(x)
    check_attribution(attributions, x)
    require(isinstance(step, int) and step >= 1, f"step must be an integer >= 1, got {step!r}")
    require(substrate in SUBSTRATES, f"substrate must be one of {SUBSTRATES}, got {substrate!r}")
    require(order in ORDERS, f"order must be one of {ORDERS}, got {order!r}")
    spots = None if fractions is None else [float(f) for f in fractions]
    require(spots is None or (len(spots) >= 2 and all(0 <= a < b <= 1 for a, b in zip(spots, spots[1:]))),
            f"fractions must be at least two increasing values in [0, 1], got {fractions!r}")
    require(substrate != "road" or (spots is not None and 0 < spots[0] and spots[-1] < 1),
            f"the road substrate imputes from the pixels shown: it needs fractions strictly inside (0, 1), e.g. {ROAD_FRACTIONS}")
    batch_size = chunk_size(model_device(model), x[0].numel()) if batch_size is None else batch_size
    require(isinstance(batch_size, int) and batch_size >= 1, f"batch_size must be an integer >= 1, got {batch_size!r}")

    device = model_device(model)
    x = x.to(device)
    b, _, h, w = x.shape
    points = num_points(h * w, step) if spots is None else len(spots)
    limits = torch.arange(points, device=device) * step if spots is None else torch.tensor([int(h * w * f) for f in spots], device=device)
    total = 2 * b * points  # every (mode, image, point) triple, mode 0 = insertion, 1 = deletion
    if target is None:
        target = predict(model, x, batch_size, samples=b + total).argmax(dim=1)
    target = check_target(target, b, getattr(model, "num_classes", None)).to(device)

    keys = pixel_keys(attributions.to(device), order).view(b, 1, h, w)
    background = None if substrate == "road" else substrate_images(x, substrate)
    forward = forward_only(model, total, batch_size)
    scores = torch.empty(total, device=device)
    for start in range(0, total, batch_size):
        idx = torch.arange(start, min(start + batch_size, total), device=device)
        mode, image, point = idx // (b * points), (idx // points) % b, idx % points
        moved = keys[image] < limits[point].view(-1, 1, 1, 1)  # (n,1,H,W), shared by the channels
        shows_image = moved == (mode == 0).view(-1, 1, 1, 1)  # inserted, or not yet deleted
        if background is None:
            images = torch.stack([road_impute(x[i], s[0], generator=torch.Generator().manual_seed(seed + 2 * p + m))
                                  for i, s, p, m in zip(image.tolist(), shows_image, point.tolist(), mode.tolist())])
        else:
            images = torch.where(shows_image, x[image], background[image])
        probs = forward(images).softmax(dim=1)
        scores[idx] = probs.gather(1, target[image][:, None])[:, 0]
    curves = scores.view(2, b, points)
    broken = (~torch.isfinite(curves)).any(dim=2).any(dim=0).nonzero().flatten().tolist()
    require(not broken, f"insertion_deletion: the model returned NaN or inf scores on the curves of image(s) {broken} "
            "(damaged weights, or a network that overflows on masked images): no AUC is computed from them")
    if spots is not None:
        at = torch.tensor(spots, device=device, dtype=curves.dtype)
        areas = torch.trapezoid(curves, at, dim=-1) / (at[-1] - at[0])
        return InsDelResult(areas[0], areas[1], curves[0], curves[1], target)
    return InsDelResult(auc(curves[0]), auc(curves[1]), curves[0], curves[1], target)
