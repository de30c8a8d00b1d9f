"""MFABA as published, written from LMBTough/MFABA ``saliency/core/mfaba.py`` (``FGSMGrad``, ``MFABA``) and
``saliency_zoo.mfaba_smooth`` / ``mfaba_sharp``, one image at a time. Imports nothing from attx_core.

``model`` returns logits; the published model ends in Softmax and ``use_softmax=True`` applies
``F.softmax`` once more, hence ``softmaxes=2``. The published input gradient is never zeroed (at batch
size 1 it is the running sum of all gradients): ``accumulate=True`` keeps that, the default zeroes it.
The published code computes one more gradient at the last point, which ``MFABA`` drops: omitted here.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def fgsm_grad(model, data, target, epsilon=0.3, num_steps=50, alpha=0.001, use_sign=True, softmaxes=2,
              accumulate=False):
    dt = data.clone().detach().requires_grad_(True)
    hats, grads = [data.clone()], []
    for _ in range(num_steps):
        output = model(dt)
        for _ in range(softmaxes):
            output = F.softmax(output, dim=-1)
        tgt_out = torch.diag(output[:, target]).unsqueeze(-1)
        tgt_out.sum().backward()
        grad = dt.grad.detach().clone()
        if not accumulate:
            dt.grad = None
        grads.append(grad)
        with torch.no_grad():
            if use_sign:
                adv_data = dt - alpha * grad.sign()
                total_grad = torch.clamp(adv_data - data, -epsilon, epsilon)
                dt.data = torch.clamp(data + total_grad, 0, 1)
            else:
                data_grad = grad / grad.view(grad.shape[0], -1).norm(dim=1, keepdim=True).view(-1, 1, 1, 1)
                dt.data = torch.clamp(dt - alpha * data_grad * 100, 0, 1)
            hats.append(dt.data.clone())
            if model(dt).argmax(-1).item() != target.item():  # early stop, checked after the step
                break
    return torch.cat(hats), torch.cat(grads)


def mfaba(model, data, target, **kwargs):
    maps = []
    for b in range(data.shape[0]):
        hats, grads = fgsm_grad(model, data[b : b + 1], target[b : b + 1], **kwargs)
        maps.append(-torch.sum((hats[1:] - hats[:-1]) * grads, dim=0, keepdim=True))
    return torch.cat(maps)
