"""AGI, Adversarial Gradient Integration (Pan et al. 2021), as the published code computes it.

For each adversarial class l (a fixed seeded sample, the same for every image) and each image,
``num_steps`` iterations: stop as soon as the model predicts l at the current point x_i; otherwise take
the gradients of two softmax probabilities there, g_adv of class l and g_lab of the explained class
(the model's prediction on x), step from the ORIGINAL image, ``x_{i+1} = clip(x + step * sign(g_adv))``,
and accumulate ``-g_lab(x_i) * (x_{i+1} - x)``. The map is the sum over classes. Every (image, class)
pair is a row of one batch: each iteration is one :func:`~attx_core.engine.target_gradients` call over
the rows still active: one forward pass gives both gradients (one backward each) and the predictions the
stop rule needs.
"""
from __future__ import annotations

import random
from typing import Any

import torch
from torch import Tensor, nn

from ..engine import class_score, target_gradients
from ..validate import require, require_choice
from .registry import register_method

PATHS = ("published", "cumulative")
EXPLAINS = ("prediction", "target")
CLASS_CHOICES = ("random", "spaced")


def adversarial_classes(label: Tensor, count: int, num_classes: int, seed: int = 3407, choice: str = "random") -> Tensor:
    """(K, B) adversarial classes per image; -1 marks a pair that is skipped.

    ``choice="random"`` (ATTEXPLORE's ``saliency_zoo.agi``): ``random.seed(seed);
    random.sample(range(0, num_classes - 1), count)``, a class equal to the image's ``label`` replaced
    by the next one (K = count). ``choice="spaced"`` (pd90506/AGI ``AGI_main.py``): the classes
    ``range(0, num_classes - 1, num_classes // count)``, a class equal to the label skipped.
    """
    require(choice in CLASS_CHOICES, f"class_choice must be one of {CLASS_CHOICES}, got {choice!r}")
    require(isinstance(count, int) and 1 <= count < num_classes, f"num_classes must be an integer in 1..{num_classes - 1}, got {count!r}")
    if choice == "random":
        ids = torch.tensor(random.Random(seed).sample(list(range(0, num_classes - 1)), count), device=label.device)
        same = ids[:, None] == label[None, :]
        shifted = torch.where(ids < num_classes - 1, ids + 1, ids - 1)[:, None].expand_as(same)
        return torch.where(same, shifted, ids[:, None].expand_as(same))
    ids = torch.arange(0, num_classes - 1, num_classes // count, device=label.device)
    goals = ids[:, None].repeat(1, label.shape[0])
    return goals.masked_fill(goals == label[None, :], -1)


def _check(p: dict[str, Any]) -> None:
    require(p["step"] > 0, f"step must be > 0, got {p['step']}")
    require(p["num_steps"] >= 1, f"num_steps must be an integer >= 1, got {p['num_steps']!r}")
    require(p["num_classes"] >= 1, f"num_classes must be an integer >= 1, got {p['num_classes']!r}")
    require_choice("path", p["path"], PATHS)
    require_choice("explain", p["explain"], EXPLAINS)
    require_choice("class_choice", p["class_choice"], CLASS_CHOICES)


@register_method(
    "agi",
    "adversarial gradient integration: sign steps towards fixed random classes, explained-class gradient integrated",
    passes="num_classes*num_steps",  # forward passes, each with two backward passes
    version=2,
    published=(
        "pd90506/AGI (AGI_main.py, utils.py pgd_step/fgsm_step) and its copy in LMBTough/ATTEXPLORE "
        "(saliency/core/agi.py, saliency_zoo.agi): per target class, up to max_iter=20 iterations that stop "
        "when the prediction equals the target class; x_{i+1} = clip(x + 0.05*sign(grad p_target(x_i)), 0, 1) "
        "from the ORIGINAL x (no normalisation of the gradient), accumulating -grad p_pred(x_i)*(x_{i+1} - x), "
        "p_pred the probability of the model's prediction on x; 20 classes random.sample(range(999)) under "
        "random.seed(3407), a class equal to the prediction shifted to l+1. The batched copy mixes images "
        "(output[:, targeted].sum()); we compute each image as the published code does at batch size 1."
    ),
    options={
        "path='cumulative'": "steps from the current point, x_{i+1} = clip(x_i + step*sign(g)), and integrates "
        "-g_lab(x_i)*(x_{i+1} - x_i): the path-integral reading of the paper (the old attx default)",
        "explain='target'": "explains the given target instead of the prediction (label gradient and class shift use target)",
        "class_choice='spaced'": "pd90506/AGI_main.py's classes range(0, 999, 1000//num_classes), a class equal to the "
        "explained one skipped instead of shifted",
    },
    conformance="tests/test_conformance_agi_big_mfaba.py",
    check=_check,
    memory="4 * num_classes",
)
def agi(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    step: float = 0.05,
    num_steps: int = 20,
    num_classes: int = 20,
    seed: int = 3407,
    path: str = "published",
    explain: str = "prediction",
    class_choice: str = "random",
) -> Tensor:
    """AGI map: the sum over adversarial classes of ``-sum_i g_lab(x_i) * (x_{i+1} - origin)``.

    ``explain="prediction"`` (published) attributes the model's top-1 class on x and ignores
    ``target`` (it matters for misclassified images); ``explain="target"`` attributes ``target``.
    A row (image, class) stops once the model predicts that class; its later iterations cost nothing.
    """
    total = int(getattr(model, "num_classes", 1000))
    require(num_classes < total, f"num_classes must be an integer in 1..{total - 1}, got {num_classes!r}")
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
        grads, preds = target_gradients(model, point[idx], torch.stack([goal[idx], lab[idx]]), class_score("prob"))
        go = preds != goal[idx]  # the published stop: the prediction at x_i reached the class
        active[idx[~go]] = False
        idx, g_adv, g_lab = idx[go], grads[0][go], grads[1][go]
        origin = rows_x[idx] if path == "published" else point[idx]
        new = (origin + step * g_adv.sign()).clamp(0.0, 1.0)
        attr[idx] = attr[idx] - g_lab * (new - origin)
        point[idx] = new
    return attr.view(k, *x.shape).sum(0)
