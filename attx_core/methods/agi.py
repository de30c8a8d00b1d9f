"""AGI (Pan et al. 2021): adversarial gradient integration over paths towards other classes.

For each of ``num_classes`` fixed random target classes (seeded, the same for every image; a class
equal to the image's target is replaced by the next sampled one), a sign-step path ascends that
class's probability until the model predicts it; along it the target's probability gradient is
integrated: ``-sum_t (x_{t+1} - x_t) * grad p_y(x_t)``, summed over the classes. All classes of all
images go through the model together.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..attacks import trajectory
from ..engine import Segment, class_score, input_gradients, integrate
from ..validate import require
from .registry import register_method


def adversarial_classes(target: Tensor, count: int, num_classes: int, seed: int) -> Tensor:
    """(count, B) target classes: a fixed seeded sample of classes, skipping each image's own class."""
    gen = torch.Generator().manual_seed(seed)
    pool = torch.randperm(num_classes, generator=gen)[: count + 1].to(target.device)
    keep = pool[None, :] != target[:, None]  # (B, count+1): at most one False per row
    rank = keep.cumsum(1)
    chosen = torch.stack([pool[(keep & (rank == k + 1)).float().argmax(1)] for k in range(count)])
    return chosen


@register_method("agi", "adversarial gradient integration over paths towards fixed random classes", passes="2*num_classes*num_steps")
def agi(
    model: nn.Module, x: Tensor, target: Tensor, *, step: float = 0.05, num_steps: int = 20, num_classes: int = 20, seed: int = 3407
) -> Tensor:
    """Sum over adversarial classes of the integrated target-probability gradient along AGI's path."""
    total = getattr(model, "num_classes", 1000)
    require(step > 0, f"step must be > 0, got {step}")
    require(num_steps >= 1, f"num_steps must be >= 1, got {num_steps}")
    require(1 <= num_classes < total, f"num_classes must lie in 1..{total - 1}, got {num_classes}")
    goals = adversarial_classes(target, num_classes, total, seed).flatten()  # class-major (K*B,)
    xs = x.repeat(num_classes, 1, 1, 1)
    ys = target.repeat(num_classes)
    path = list(trajectory(model, xs, goals, "bim", direction="ascend", objective=class_score("prob"), stop="reached",
                           epsilon=1.0, num_steps=num_steps, alpha=step))
    starts = torch.cat([seg.start for seg in path])
    grads, _ = input_gradients(model, starts, ys.repeat(len(path)), class_score("prob"))
    label_path = (Segment(seg.start, seg.end, g) for seg, g in zip(path, grads.split(xs.shape[0])))
    return integrate(label_path, sign=-1.0).view(num_classes, *x.shape).sum(0)
