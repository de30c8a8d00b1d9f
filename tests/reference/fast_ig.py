"""Fast-IG as published: ``saliency/core/fast_ig.py``:
``loss = F.cross_entropy(model(data), target); loss.backward(); return data * data.grad`` with the
softmax model, so the cross-entropy is taken of probabilities (a second softmax) and averaged over the
batch. ``loss="score"`` (attx's option, Hesse et al.'s input * gradient of the class score) is
``x * grad p_y`` (or of the logit). Imports nothing from attx_core. ``model`` returns logits."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def fast_ig(model, x, target, loss="ce", output="prob"):
    data = x.detach().clone().requires_grad_(True)
    z = model(data)
    out = z.softmax(dim=1) if output == "prob" else z
    if loss == "ce":
        value = F.cross_entropy(out, target)  # mean over the batch, as published
    else:
        value = out[torch.arange(x.shape[0]), target].sum()
    value.backward()
    return (data * data.grad).detach()
