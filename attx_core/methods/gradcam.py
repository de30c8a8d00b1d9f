"""Grad-CAM (Selvaraju et al. 2017) at a model's last conv block, upsampled to the input.

The reference runs Captum's LayerGradCam at ResNet layer3 and only at batch 1; here the layer comes
from the model's metadata (``model.gradcam_layer``, layer4 for ResNet-50), any batch size works, and
the map is bilinearly upsampled to the input and broadcast to its 3 channels (for the metrics).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..engine import class_score, input_gradients
from ..validate import require
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


@register_method("gradcam", "Grad-CAM at the model's last conv block, ReLU, bilinear upsample, 3 channels", passes="1")
def gradcam(
    model: nn.Module, x: Tensor, target: Tensor, *, layer: str | nn.Module | None = None, output: str = "prob"
) -> Tensor:
    """ReLU(sum_c mean_hw(dS/dA_c) * A_c) at ``layer``; the one oracle backward fills the layer gradient."""
    acts: list[Tensor] = []
    grads: dict[int, Tensor] = {}

    def capture(module: nn.Module, inputs: tuple, out: Tensor) -> None:
        require(isinstance(out, Tensor), f"Grad-CAM layer must output a tensor, got {type(out).__name__}")
        idx = len(acts)
        acts.append(out.detach())
        out.register_hook(lambda g: grads.__setitem__(idx, g.detach()))

    handle = resolve_layer(model, layer).register_forward_hook(capture)
    try:
        input_gradients(model, x, target, class_score(output))
    finally:
        handle.remove()
    act = as_feature_map(torch.cat(acts))
    grad = as_feature_map(torch.cat([grads[i] for i in range(len(acts))]))
    cam = F.relu((grad.mean(dim=(2, 3), keepdim=True) * act).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
    return cam.expand(-1, x.shape[1], -1, -1).contiguous()
