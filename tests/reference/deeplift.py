"""DeepLIFT as published: ``saliency/core/deeplift.py`` runs ``captum.attr.DeepLift(model).attribute(x,
target=y, baselines=None)`` on Normalize -> network -> Softmax. Written out here by hand, layer by layer,
for a plain conv net ``features`` (Conv2d / ReLU modules) -> spatial mean -> ``head`` (Linear), the
shape of tests/_tiny_task.TinyNet, one image at a time (= Captum at batch size 1):

- every ReLU: multiplier = (relu(h) - relu(h_ref)) / (h - h_ref), the derivative where |h - h_ref| < 1e-10;
- the final Softmax (Captum's rule): target logit multiplier m = (p_y - p_y_ref) / (z_y - z_y_ref), then
  the mean over all entries of the (2, K) gradient is subtracted: logit multipliers m (onehot_y - 1/K);
  ``softmax_rule="rescale"`` (attx's option) keeps m onehot_y; ``output="logit"``: onehot_y;
- linear layers carry multipliers back by their transpose; attribution = (x - ref) * multiplier.

Imports nothing from attx_core (Captum itself is a second check in the tests)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-10


def _forward(net, x):
    """Pre-activations and outputs of every layer of net.features, then logits."""
    records, h = [], x
    for layer in net.features:
        out = layer(h)
        records.append((layer, h, out))
        h = out
    return records, net.head(h.mean(dim=(2, 3)))


def deeplift_tinynet(net, x, target, baseline=None, output="prob", softmax_rule="captum"):
    maps = []
    for i in range(x.shape[0]):
        xi = x[i : i + 1]
        ref = torch.zeros_like(xi) if baseline is None else baseline.expand_as(xi)
        with torch.no_grad():
            rec, z = _forward(net, xi)
            rec_ref, z_ref = _forward(net, ref)
        y = int(target[i])
        k = z.shape[1]
        onehot = F.one_hot(torch.tensor([y]), k).to(z.dtype)
        if output == "logit":
            m_logits = onehot
        else:
            p, p_ref = z.softmax(1)[0, y], z_ref.softmax(1)[0, y]
            dz = z[0, y] - z_ref[0, y]
            m = p * (1 - p) if abs(float(dz)) < EPS else (p - p_ref) / dz
            m_logits = m * (onehot - 1.0 / k) if softmax_rule == "captum" else m * onehot
        # head: logits = W mean(h) + b
        last = rec[-1][2]
        g = (m_logits @ net.head.weight).view(1, -1, 1, 1).expand_as(last) / (last.shape[2] * last.shape[3])
        for (layer, h_in, h_out), (_, r_in, r_out) in zip(reversed(rec), reversed(rec_ref)):
            if isinstance(layer, nn.ReLU):
                d_in, d_out = h_in - r_in, h_out - r_out
                slope = torch.where(d_in.abs() < EPS, (h_in > 0).to(h_in.dtype), d_out / torch.where(d_in.abs() < EPS, torch.ones_like(d_in), d_in))
                g = g * slope
            elif isinstance(layer, nn.Conv2d):
                g = F.conv_transpose2d(g, layer.weight, stride=layer.stride, padding=layer.padding)
            else:
                raise TypeError(f"reference DeepLIFT handles Conv2d and ReLU only, got {type(layer).__name__}")
        maps.append((xi - ref) * g)
    return torch.cat(maps)
