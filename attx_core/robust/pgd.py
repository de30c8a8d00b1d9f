"""Linf projected sign-gradient ascent, shared by Madry training, the RAR/AR inner maximisation and
the adversarial-accuracy evaluation (the top-k attribution attack runs its own loop: it scores every
iterate, as the authors' code does)."""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

Loss = Callable[[Tensor], Tensor]  # x_adv (B,...) -> per-sample loss (B,), to be maximised


def pgd(
    loss: Loss,
    x: Tensor,
    eps: float,
    steps: int,
    step_size: float,
    generator: torch.Generator | None = None,
    random_start: bool = True,
    accept: Callable[[Tensor], Tensor] | None = None,
) -> Tensor:
    """Maximise ``loss`` over the Linf ball of radius ``eps`` around x (within [0,1]) by sign steps.

    ``random_start`` draws a uniform start in the ball from ``generator``. ``accept(x_new) -> (B,) bool``
    rejects a step per sample (that sample keeps its previous point), e.g. to keep the label.
    """
    x = x.detach()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        x_adv = (x + (2 * noise - 1) * eps).clamp(0, 1)
        if accept is not None:
            x_adv = torch.where(_view(accept(x_adv), x), x_adv, x)
    else:
        x_adv = x.clone()
    for _ in range(steps):
        point = x_adv.clone().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(loss(point).sum(), point)
        new = torch.min(torch.max(x_adv + step_size * grad.sign(), x - eps), x + eps).clamp(0, 1)
        x_adv = new if accept is None else torch.where(_view(accept(new), x), new, x_adv)
    return x_adv.detach()


def _view(mask: Tensor, like: Tensor) -> Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))
