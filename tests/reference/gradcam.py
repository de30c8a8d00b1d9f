"""Grad-CAM as published: the ``GradCAM`` class of ``saliency/saliency_zoo.py`` (hooks on the target
layer: ResNet-50 ``layer3``, VGG16 ``features[29]``, Inception-v3 ``Mixed_7c``), transcribed. It runs at
batch size 1 only (``score.backward()`` needs a scalar), so images go one at a time; its min-max
normalisation is over the whole batch, i.e. per image. ``class_idx=None`` explains the predicted class.
The published "logit" is the softmax model's output (probabilities). ``normalize=False`` skips the
min-max (attx's option). Returns (B, 1, H, W). Imports nothing from attx_core; ``model`` returns logits."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def gradcam_one(model, layer, input, class_idx=None, normalize=True, output="prob"):
    store = {}

    def forward_hook(module, inp, out):
        store["activations"] = out
        out.register_hook(lambda g: store.__setitem__("gradients", g))

    handle = layer.register_forward_hook(forward_hook)
    try:
        b, c, h, w = input.size()
        with torch.enable_grad():
            z = model(input.detach().requires_grad_(True))
            logit = z.softmax(dim=1) if output == "prob" else z
            if class_idx is None:
                score = logit[:, logit.max(1)[-1]].squeeze()
            else:
                score = logit[:, class_idx].squeeze()
            score.backward()
    finally:
        handle.remove()
    gradients, activations = store["gradients"], store["activations"].detach()
    b, k, u, v = gradients.size()
    alpha = gradients.view(b, k, -1).mean(2)
    weights = alpha.view(b, k, 1, 1)
    saliency_map = (weights * activations).sum(1, keepdim=True)
    saliency_map = F.relu(saliency_map)
    saliency_map = F.interpolate(saliency_map, size=(h, w), mode="bilinear", align_corners=False)
    if normalize:
        saliency_map_min, saliency_map_max = saliency_map.min(), saliency_map.max()
        saliency_map = (saliency_map - saliency_map_min).div(saliency_map_max - saliency_map_min).data
    return saliency_map.detach()


def gradcam(model, layer, x, target=None, normalize=True, output="prob"):
    """``target=None``: the predicted class (published); else the given classes."""
    return torch.cat([
        gradcam_one(model, layer, x[i : i + 1], None if target is None else int(target[i]), normalize, output)
        for i in range(x.shape[0])
    ])
