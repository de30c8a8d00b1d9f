"""Ghorbani et al. (AAAI 2019) top-k attack on attribution maps, as Chen et al. / Sarkar et al. run it.

The saliency is the channel sum of |IG| (zero baseline, label's logit). The attack ascends
-sum of the saliency over the original top-k pixels, with the gradient taken through a softplus
copy of the ReLU net (ReLU nets have a zero input-Hessian almost everywhere), in sign steps inside
an Linf ball; a step that changes the ReLU net's prediction is rejected, so every attacked image
keeps its label. Restarts after the first start at a random point of the ball; per image the
restart with the lowest Kendall tau (the worst) is reported.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from ..engine import class_score, integrate, straight_line
from ..metrics import kendall_tau, spearman, topk_intersection
from ..metrics.robustness import saliency
from ..validate import require
from .nets import softplus_surrogate
from .pgd import pgd
from .regularizers import path_ig

Explain = Callable[[Tensor, Tensor], Tensor]  # (x, y) -> attribution maps of x's shape


@dataclass(frozen=True)
class AttackConfig:
    """Top-k attack settings; defaults are the paper's (k = 1000 of 128x128 scaled to 28x28)."""

    k: int = 48
    eps: float = 8 / 255
    iterations: int = 100
    restarts: int = 3
    step: float | None = None  # None: 2.5 * eps / iterations (reaches the ball's surface, Madry's rule)
    ig_steps: int = 100  # IG steps of the evaluated maps
    attack_ig_steps: int | None = None  # IG steps inside the attack's gradient (None: ig_steps)
    beta: float = 10.0  # softplus sharpness of the surrogate
    output: str = "logit"

    def __post_init__(self) -> None:
        require(self.k >= 1 and self.iterations >= 1 and self.restarts >= 1, "k, iterations and restarts must be >= 1")
        require(self.eps > 0, f"eps must be > 0, got {self.eps}")


def scaled_k(pixels: int, k_ref: int = 1000, ref_pixels: int = 128 * 128) -> int:
    """k for an image of ``pixels`` pixels, scaled from the paper's k = 1000 on 128x128 Flower."""
    return max(1, round(k_ref * pixels / ref_pixels))


def ig_maps(net: nn.Module, x: Tensor, y: Tensor, steps: int = 100, output: str = "logit") -> Tensor:
    """IG of the label's score from a zero baseline (trapezoid rule), through the shared engine."""
    return integrate(straight_line(net, x, torch.zeros_like(x), y, class_score(output), steps)).detach()


def topk_attack(net: nn.Module, x: Tensor, y: Tensor, cfg: AttackConfig = AttackConfig(), explain: Explain | None = None, seed: int = 0) -> dict[str, Tensor]:
    """Attack the attribution maps of correctly classified images ``x`` (labels ``y``).

    ``explain`` gives the maps under attack (default: :func:`ig_maps` with ``cfg.ig_steps``); the
    ascent direction is always the surrogate's differentiable IG saliency on the original top-k
    pixels of those maps (for non-differentiable methods this makes the attack a transfer attack).
    Returns per image (B,): ``topk``, ``kendall``, ``spearman`` of the worst restart, and ``x_adv``.
    """
    net = net.eval()
    with torch.no_grad():
        require(bool((net(x).argmax(dim=1) == y).all()), "topk_attack expects correctly classified images; filter them first")
    explain = explain or (lambda inp, lab: ig_maps(net, inp, lab, cfg.ig_steps, cfg.output))
    original = explain(x, y)
    sal = saliency(original)
    mask = torch.zeros_like(sal).scatter_(1, sal.topk(cfg.k, dim=1).indices, 1.0)
    smooth = softplus_surrogate(net, cfg.beta)
    steps = cfg.attack_ig_steps or cfg.ig_steps

    def loss(x_adv: Tensor) -> Tensor:  # -(surrogate saliency mass on the original top-k)
        ig = path_ig(smooth, torch.zeros_like(x_adv), x_adv, y, class_score(cfg.output), steps)
        return -(ig.abs().sum(dim=1).flatten(1) * mask).sum(dim=1)

    def keeps_label(x_adv: Tensor) -> Tensor:
        with torch.no_grad():
            return net(x_adv).argmax(dim=1) == y

    gen = torch.Generator().manual_seed(seed)
    step = cfg.step or 2.5 * cfg.eps / cfg.iterations
    best: dict[str, Tensor] = {}
    for restart in range(cfg.restarts):
        x_adv = pgd(loss, x, cfg.eps, cfg.iterations, step, gen, random_start=restart > 0, accept=keeps_label)
        attacked = explain(x_adv, y)
        scores = {
            "topk": topk_intersection(original, attacked, cfg.k),
            "kendall": kendall_tau(original, attacked),
            "spearman": spearman(original, attacked),
            "x_adv": x_adv,
        }
        if not best:
            best = scores
            continue
        worse = scores["kendall"] < best["kendall"]
        best = {name: torch.where(worse.view(-1, *[1] * (v.dim() - 1)), v, best[name]) for name, v in scores.items()}
    return best
