"""AGI as published, written from pd90506/AGI (AGI_main.py, utils.py ``pgd_step``/``fgsm_step``) and
LMBTough/ATTEXPLORE (``saliency_zoo.agi``, ``saliency/core/agi.py``), one image at a time (the published
loop at batch size 1). Imports nothing from attx_core.

``model`` returns logits (the published ``agi`` strips the final Softmax: ``model = model[:2]``).
Options (not published): ``cumulative=True`` steps from the current point and integrates
``-g_lab * (x_{i+1} - x_i)``; ``explain="target"`` uses the given label instead of the prediction;
``class_choice="spaced"`` is AGI_main.py's ``range(0, 999, int(1000 / topk))`` with ``continue`` on the
explained class.
"""
from __future__ import annotations

import random

import torch
import torch.nn.functional as F


def fgsm_step(image, epsilon, data_grad_adv, data_grad_lab):
    delta = epsilon * data_grad_adv.sign()
    perturbed_rect = torch.clamp(image + delta, min=0, max=1)  # + delta because we are ascending
    delta = perturbed_rect - image
    delta = -data_grad_lab * delta
    return perturbed_rect, delta


def pgd_step(image, epsilon, model, init_pred, targeted, max_iter, cumulative=False):
    perturbed_image = image.clone()
    c_delta = torch.zeros_like(image)
    for _ in range(max_iter):
        perturbed_image.requires_grad = True
        output = model(perturbed_image)
        pred = output.max(1, keepdim=True)[1]
        if pred.item() == targeted.item():  # attack successful: stop
            break
        output = F.softmax(output, dim=1)
        loss = output[0, targeted.item()]
        data_grad_adv = torch.autograd.grad(loss, perturbed_image, retain_graph=True)[0]
        loss_lab = output[0, init_pred.item()]
        data_grad_lab = torch.autograd.grad(loss_lab, perturbed_image)[0]
        origin = perturbed_image.detach() if cumulative else image
        perturbed_image, delta = fgsm_step(origin, epsilon, data_grad_adv, data_grad_lab)
        c_delta += delta
    return c_delta, perturbed_image


def selected_ids(topk, num_classes=1000, class_choice="random", seed=3407):
    if class_choice == "random":
        state = random.getstate()
        random.seed(seed)
        ids = random.sample(list(range(0, num_classes - 1)), topk)
        random.setstate(state)
        return ids
    return list(range(0, num_classes - 1, int(num_classes / topk)))


def agi(model, data, target, epsilon=0.05, max_iter=20, topk=20, num_classes=1000, explain="prediction",
        class_choice="random", cumulative=False):
    maps = []
    for b in range(data.shape[0]):
        image = data[b : b + 1]
        with torch.no_grad():
            init_pred = model(image).argmax(-1)
        label = init_pred if explain == "prediction" else target[b : b + 1]
        step_grad = torch.zeros_like(image)
        for l in selected_ids(topk, num_classes, class_choice):
            targeted = torch.tensor([l])
            if class_choice == "random":
                if l < num_classes - 1:
                    targeted[targeted == label] = l + 1
                else:
                    targeted[targeted == label] = l - 1
            elif targeted.item() == label.item():
                continue  # we don't want to attack to the predicted class
            delta, _ = pgd_step(image, epsilon, model, label, targeted, max_iter, cumulative)
            step_grad = step_grad + delta
        maps.append(step_grad)
    return torch.cat(maps)
