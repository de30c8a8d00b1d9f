"""The implementations that issue 22 replaced, kept verbatim as the reference of the equivalence tests
(tests/test_equivalence_issue22.py): AGI with its batch duplicated (two forward passes per iteration)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from attx_core.engine import class_score, input_gradients
from attx_core.methods.agi import adversarial_classes


def gradients_and_top1(model: nn.Module, x: Tensor, target: Tensor, objective) -> tuple[Tensor, Tensor]:
    top1: list[Tensor] = []

    def tracked(logits: Tensor, cls: Tensor) -> Tensor:
        top1.append(logits.detach().argmax(dim=1))
        return objective(logits, cls)

    grads, _ = input_gradients(model, x, target, tracked)
    return grads, torch.cat(top1)


def agi(model: nn.Module, x: Tensor, target: Tensor, *, step: float = 0.05, num_steps: int = 20, num_classes: int = 20,
        seed: int = 3407, path: str = "published", explain: str = "prediction", class_choice: str = "random") -> Tensor:
    total = int(getattr(model, "num_classes", 1000))
    if explain == "prediction":
        with torch.no_grad():
            label = model(x).argmax(dim=1)
    else:
        label = target
    goals = adversarial_classes(label, num_classes, total, seed, class_choice)  # (K, B)
    k = goals.shape[0]
    rows_x = x.repeat(k, 1, 1, 1)  # class-major rows (K*B, C, H, W)
    goal, lab = goals.flatten(), label.repeat(k)
    point, attr = rows_x.clone(), torch.zeros_like(rows_x)
    active = goal >= 0
    for _ in range(num_steps):
        idx = active.nonzero()[:, 0]
        if idx.numel() == 0:
            break
        n = idx.numel()
        here = point[idx]
        grads, preds = gradients_and_top1(model, torch.cat([here, here]), torch.cat([goal[idx], lab[idx]]), class_score("prob"))
        go = preds[:n] != goal[idx]  # the published stop: the prediction at x_i reached the class
        active[idx[~go]] = False
        idx, g_adv, g_lab = idx[go], grads[:n][go], grads[n:][go]
        origin = rows_x[idx] if path == "published" else point[idx]
        new = (origin + step * g_adv.sign()).clamp(0.0, 1.0)
        attr[idx] = attr[idx] - g_lab * (new - origin)
        point[idx] = new
    return attr.view(k, *x.shape).sum(0)
