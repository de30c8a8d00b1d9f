"""Saliency as published: ``saliency/core/saliencymap.py`` (Table 1's "SaliencyMap": Captum
``Saliency(model).attribute(x, target)``, default ``abs=True``) and ``saliency/core/sm.py`` (``abs=False``),
on the softmax model. Imports nothing from attx_core. ``model`` returns logits."""
from __future__ import annotations

import torch


def saliency(model, x, target, abs=True, output="prob"):
    x = x.detach().requires_grad_(True)
    z = model(x)
    out = z.softmax(dim=1) if output == "prob" else z
    (grad,) = torch.autograd.grad(out[torch.arange(x.shape[0]), target].sum(), x)
    return grad.abs() if abs else grad
