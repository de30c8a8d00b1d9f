"""Grad-CAM (Selvaraju et al. 2017) at a model's last conv block, upsampled to the input.

The published ``GradCAM`` class (``saliency/saliency_zoo.py``) hooks ResNet-50 ``layer3``, VGG16
``features[29]``, Inception-v3 ``Mixed_7c``; it explains the PREDICTED class (``class_idx=None``) with
the softmax model's probability, takes ReLU(sum_c mean_hw(dS/dA_c) A_c), upsamples bilinearly and
min-max normalises to [0, 1] over the whole batch (it only runs at batch 1, where that is per image).
Here: the predicted class by default (``explain="label"`` for the target), per-image min-max
normalisation (``normalize=False`` for the raw CAM), any batch size, the layer from the model's metadata
(``model.gradcam_layer``: layer4 for ResNet-50, a documented deviation; ``layer="layer3"`` reproduces
the published one), and the map broadcast to the input's 3 channels (for the metrics).
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..engine import OUTPUTS, class_score, input_gradients
from ..validate import require, require_choice
from .registry import register_method


def as_feature_map(act: Tensor) -> Tensor:
    """A layer activation as (B, C, h, w).

    Tokens (B, N, D) become a sqrt(N) grid after dropping a leading class token when N - 1 is a square
    (ViT: 197 -> 14x14); 4-D maps (B, a, b, c) with a == b != c are read as channel-last (B, h, w, C).
    """
    if act.dim() == 3:
        n = act.shape[1]
        if math.isqrt(n - 1) ** 2 == n - 1 and math.isqrt(n) ** 2 != n:
            act = act[:, 1:]
            n -= 1
        side = math.isqrt(n)
        require(side * side == n, f"cannot arrange {n} tokens of the Grad-CAM layer on a square grid")
        return act.transpose(1, 2).reshape(act.shape[0], act.shape[2], side, side)
    require(act.dim() == 4, f"Grad-CAM layer output must be (B,C,h,w) or tokens (B,N,D), got {tuple(act.shape)}")
    if act.shape[1] == act.shape[2] != act.shape[3]:
        return act.permute(0, 3, 1, 2)
    return act


def resolve_layer(model: nn.Module, layer: str | nn.Module | None) -> nn.Module:
    """The module to hook: ``layer`` itself, a submodule name of ``model.net``, or ``model.gradcam_layer``."""
    if isinstance(layer, nn.Module):
        return layer
    name = layer if layer is not None else getattr(model, "gradcam_layer", None)
    require(name is not None, "model has no gradcam_layer metadata; pass layer= a module or a submodule name")
    try:
        return model.layer(name) if hasattr(model, "layer") else model.get_submodule(name)
    except AttributeError as err:
        raise ValueError(f"model has no submodule {name!r} for Grad-CAM") from err


EXPLAIN = ("predicted", "label")


def normalize_per_image(cam: Tensor) -> Tensor:
    """Min-max to [0, 1] per image; a constant map (e.g. all zero after the ReLU) becomes zeros, not NaN."""
    flat = cam.flatten(1)
    lo, hi = flat.min(dim=1).values, flat.max(dim=1).values
    span = (hi - lo).view(-1, *([1] * (cam.dim() - 1)))
    out = (cam - lo.view_as(span)) / torch.where(span > 0, span, torch.ones_like(span))
    return torch.where(span > 0, out, torch.zeros_like(out))


def _check(p: dict[str, Any]) -> None:
    require_choice("explain", p["explain"], EXPLAIN)
    require_choice("output", p["output"], OUTPUTS)


@register_method(
    "gradcam",
    "Grad-CAM of the predicted class at the model's last conv block, ReLU, upsample, [0,1] per image, 3 channels",
    passes="1",
    version=2,
    published="saliency/saliency_zoo.py::GradCAM: predicted class (class_idx=None), softmax probability, ResNet-50 layer3 / "
    "VGG16 features[29] / Inception-v3 Mixed_7c, ReLU, bilinear upsample, min-max over the whole batch (batch 1 only).",
    options={
        "explain='label'": "explains the given target (label) instead of the model's prediction",
        "normalize=False": "the raw ReLU'd CAM (no min-max to [0, 1])",
        "layer='layer3'": "on ResNet-50, the published layer (default: model.gradcam_layer = layer4, the last conv block)",
        "output='logit'": "differentiates the logit instead of the softmax probability",
    },
    conformance="tests/test_conformance_baselines.py",
    check=_check,
)
def gradcam(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    layer: str | nn.Module | None = None,
    explain: str = "predicted",
    normalize: bool = True,
    output: str = "prob",
) -> Tensor:
    """ReLU(sum_c mean_hw(dS/dA_c) * A_c) at ``layer``; the one oracle backward fills the layer gradient.

    ``explain="predicted"`` replaces ``target`` by the model's top-1 class (as the published code);
    ``normalize`` min-max scales each image's map to [0, 1].
    """
    score = class_score(output)
    objective = (lambda logits, _t: score(logits, logits.argmax(dim=1))) if explain == "predicted" else score
    acts: list[Tensor] = []
    grads: dict[int, Tensor] = {}

    def capture(module: nn.Module, inputs: tuple, out: Tensor) -> None:
        require(isinstance(out, Tensor), f"Grad-CAM layer must output a tensor, got {type(out).__name__}")
        idx = len(acts)
        acts.append(out.detach())
        out.register_hook(lambda g: grads.__setitem__(idx, g.detach()))

    handle = resolve_layer(model, layer).register_forward_hook(capture)
    try:
        input_gradients(model, x, target, objective)
    finally:
        handle.remove()
    act = as_feature_map(torch.cat(acts))
    grad = as_feature_map(torch.cat([grads[i] for i in range(len(acts))]))
    cam = F.relu((grad.mean(dim=(2, 3), keepdim=True) * act).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
    if normalize:
        cam = normalize_per_image(cam)
    return cam.expand(-1, x.shape[1], -1, -1).contiguous()
