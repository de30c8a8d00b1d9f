"""Sarkar et al.'s training regularizer as their TF graph computes it, one path point at a time.

Transcribes ``Flower/model.py`` of anirbansarkar-cs/Enhanced_regularizers_attributional_robustness
(``_build_model`` in train mode, ``BaseAttr``, ``TNCA_Attr``, ``kl_divergence``, ``comp_attr_shift``)
for NCHW tensors. Every quantity is per image here (the TF code sums them over the batch). Imports
nothing from attx_core.

* ``IG``: sum over k = 1..m of the gradient of CE = -sum onehot * log(clip(softmax, 1e-10, 1)) at
  z = x + k/m (x' - x), times (x' - x) / m; ``change_attr = -(IG)``.
* ``base_attr``: same sum of the gradient of softmax[y] along 0 -> x.
* TCA / NCA: along 0 -> x', gradients of softmax[y] and of the softmax of the top class other than y
  *at that point*; times (x' - 0) / m, channel-summed, softmax over pixels.
* term = (KL(U||NCA) - KL(U||TCA)) + (L1 of change where signs differ + sum of base*change where they agree).
"""
from __future__ import annotations

import torch


def _grad(f, z):
    z = z.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(z), z)
    return g


def change_attr(net, x, x_adv, y, m):
    """-(IG of the clipped cross-entropy along x -> x'), per image (B, C, H, W)."""
    ig = 0
    for k in range(1, m + 1):
        z = x + float(k) / m * (x_adv - x)
        ce = lambda t: -(torch.log(net(t).softmax(dim=1).clamp(1e-10, 1.0)).gather(1, y[:, None])).sum()  # noqa: E731
        ig = ig + _grad(ce, z)
    ig = ig * (x_adv - x) / float(m)
    return -ig


def base_attr(net, x, y, m):
    base = torch.zeros_like(x)
    ig = 0
    for k in range(1, m + 1):
        z = base + float(k) / m * (x - base)
        ig = ig + _grad(lambda t: net(t).softmax(dim=1).gather(1, y[:, None]).sum(), z)
    return ig * (x - base) / float(m)


def tnca_dist(net, x_adv, y, m):
    base = torch.zeros_like(x_adv)
    nca, tca = 0, 0
    for k in range(1, m + 1):
        z = base + float(k) / m * (x_adv - base)
        with torch.no_grad():
            top2 = net(z).softmax(dim=1).topk(2, dim=1).indices
        neg = torch.where(top2[:, 0] == y, top2[:, 1], top2[:, 0])
        nca = nca + _grad(lambda t: net(t).softmax(dim=1).gather(1, neg[:, None]).sum(), z)
        tca = tca + _grad(lambda t: net(t).softmax(dim=1).gather(1, y[:, None]).sum(), z)
    flat = lambda ig: (ig * (x_adv - base) / float(m)).sum(dim=1).flatten(1).softmax(dim=1)  # noqa: E731
    return flat(tca), flat(nca)


def kl_divergence(p, q):
    return (p * torch.log(p / q)).sum(dim=1)


def comp_attr_shift(base, change):
    b, c = base.flatten(1), change.flatten(1)
    matched = torch.sign(b) == torch.sign(c)
    mul = b * c
    reg_1 = torch.where(matched, mul, torch.zeros_like(mul)).sum(dim=1)
    reg_2 = torch.where(matched, torch.zeros_like(c), c).abs().sum(dim=1)
    return reg_1, reg_2


def regularizer(net, x, x_adv, y, m):
    """Per image: {"dist": KL_NCA - KL_TCA, "sign": IG_reg_2_term + IG_reg_1_term}."""
    tca, nca = tnca_dist(net, x_adv, y, m)
    uniform = torch.full_like(tca, 1.0 / tca.shape[1])
    reg_1, reg_2 = comp_attr_shift(base_attr(net, x, y, m), change_attr(net, x, x_adv, y, m))
    return {"dist": kl_divergence(uniform, nca) - kl_divergence(uniform, tca), "sign": reg_2 + reg_1}
