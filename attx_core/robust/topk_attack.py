"""Ghorbani et al. (AAAI 2019) top-k attack on IG saliency maps, as RAR / Sarkar et al. ran it.

The authors' code (``ig_attack.py`` and ``model.py`` of ``jfc43/robust-attribution-regularization`` and
``anirbansarkar-cs/Enhanced_regularizers_attributional_robustness``; from ``amiratag/InterpretationFragility``):

* saliency = channel sum of |IG| of the label's logit from a zero baseline (right Riemann sum over
  ``ig_steps`` = 100 points), *normalised* to sum to H*W;
* the attack minimises the share of the softplus surrogate's normalised saliency on the original top-``k``
  pixels (surrogate: every ReLU -> softplus with beta 1, every leaky ReLU -> 0.1x + 0.9 softplus(x)),
  with sign steps of ``step`` from the clean image, projected on the Linf ball of radius ``eps`` and [0, 1];
* after every step the iterate is scored by Kendall's tau between the original and its saliency (the ReLU
  net's); an iterate whose label flipped scores 1 (fully robust); the reported point is the iterate with the
  lowest score, and an image none of whose iterates scored below 1 reports top-k intersection, Kendall and
  Spearman of 1;
* the reported top-k intersection uses ``eval_k`` (MNIST attacks k = 200 and reports k = 100).

The authors repeat the attack ``attribution_attack_times`` = 3 times from the clean image; the attack is
deterministic, so the runs are identical and one is run here (``restarts=1``). ``restarts > 1`` (an option,
a stronger attack) starts the further runs at uniform random points of the ball; per image the run with
the lowest Kendall is reported, as the authors' ``np.argmin(kendalls)``.
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
from .regularizers import path_ig

Explain = Callable[[Tensor, Tensor], Tensor]  # (x, y) -> attribution maps of x's shape


@dataclass(frozen=True)
class AttackConfig:
    """Top-k attack settings; defaults are the authors' MNIST ones (per dataset: ``evaluate.attack_config``)."""

    k: int = 200  # top-k pixels of the attack's loss (k_top)
    eval_k: int | None = 100  # k of the reported intersection (eval_k_top); None: k
    eps: float = 0.3
    iterations: int = 100
    step: float = 0.01
    restarts: int = 1
    ig_steps: int = 100  # IG points of the evaluated maps
    attack_ig_steps: int | None = None  # IG points inside the attack's gradient (None: ig_steps, the authors')
    beta: float = 1.0  # softplus sharpness of the surrogate
    output: str = "logit"

    def __post_init__(self) -> None:
        require(self.k >= 1 and self.iterations >= 1 and self.restarts >= 1, "k, iterations and restarts must be >= 1")
        require(self.eval_k is None or self.eval_k >= 1, f"eval_k must be >= 1 or None, got {self.eval_k}")
        require(self.eps > 0 and self.step > 0, f"eps and step must be > 0, got {self.eps}, {self.step}")
        require(self.ig_steps >= 1 and (self.attack_ig_steps is None or self.attack_ig_steps >= 1), "IG steps must be >= 1")


def ig_maps(net: nn.Module, x: Tensor, y: Tensor, steps: int = 100, output: str = "logit", rule: str = "right") -> Tensor:
    """IG of the label's score from a zero baseline (the authors' right Riemann sum), through the shared engine."""
    return integrate(straight_line(net, x, torch.zeros_like(x), y, class_score(output), steps, rule)).detach()


def normalized_saliency(maps: Tensor) -> Tensor:
    """Per image (B, H*W): channel sum of |maps| rescaled to sum to H*W (the authors' ``saliency``)."""
    s = maps.abs().sum(dim=1).flatten(1)
    return s * s.shape[1] / s.sum(dim=1, keepdim=True)


def topk_mask(maps: Tensor, k: int) -> Tensor:
    """(B, H*W) float mask of each map's k most salient pixels."""
    sal = saliency(maps)
    require(k <= sal.shape[1], f"k ({k}) exceeds the pixels per map ({sal.shape[1]})")
    return torch.zeros_like(sal).scatter_(1, sal.topk(k, dim=1).indices, 1.0)


def topk_share(smooth: nn.Module, x_adv: Tensor, y: Tensor, mask: Tensor, steps: int, output: str = "logit") -> Tensor:
    """The attack's loss per image: the share of the normalised surrogate IG saliency on the masked pixels."""
    ig = path_ig(smooth, torch.zeros_like(x_adv), x_adv, y, class_score(output), steps)
    return (normalized_saliency(ig) * mask).sum(dim=1)


def _view(mask: Tensor, like: Tensor) -> Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))


def topk_attack(net: nn.Module, x: Tensor, y: Tensor, cfg: AttackConfig = AttackConfig(), explain: Explain | None = None,
                seed: int = 0) -> dict[str, Tensor]:
    """Attack the attribution maps of correctly classified images ``x`` (labels ``y``), as the authors did.

    ``explain`` gives the maps under attack (default: :func:`ig_maps` with ``cfg.ig_steps``); the
    descent direction is always the surrogate's differentiable IG saliency share on the original top-k
    pixels of those maps (for non-differentiable methods this makes the attack a transfer attack).
    Returns per image (B,): ``topk`` (at ``eval_k``), ``kendall``, ``spearman`` of the reported point,
    ``x_adv`` (that point; x where no iterate scored below 1) and ``flipped`` (the reported run's last
    iterate changed the label).
    """
    net = net.eval()
    with torch.no_grad():
        require(bool((net(x).argmax(dim=1) == y).all()), "topk_attack expects correctly classified images; filter them first")
    explain = explain or (lambda inp, lab: ig_maps(net, inp, lab, cfg.ig_steps, cfg.output))
    original = explain(x, y)
    mask = topk_mask(original, cfg.k)
    eval_k = cfg.eval_k or cfg.k
    smooth = softplus_surrogate(net, cfg.beta)
    steps = cfg.attack_ig_steps or cfg.ig_steps
    gen = torch.Generator().manual_seed(seed)
    best: dict[str, Tensor] = {}
    for restart in range(cfg.restarts):
        x_t = x.detach().clone()
        if restart > 0:
            noise = torch.rand(x.shape, generator=gen, dtype=x.dtype).to(x.device)
            x_t = (x + (2 * noise - 1) * cfg.eps).clamp(0, 1)
        low = torch.ones(x.shape[0], dtype=torch.float64, device=x.device)  # the authors' min_criterion = 1
        point, maps = x.detach().clone(), original.clone()
        for _ in range(cfg.iterations):
            x_t = x_t.requires_grad_(True)
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(topk_share(smooth, x_t, y, mask, steps, cfg.output).sum(), x_t)
            x_t = (x + (x_t.detach() - cfg.step * grad.sign() - x).clamp(-cfg.eps, cfg.eps)).clamp(0, 1)
            with torch.no_grad():
                flipped = net(x_t).argmax(dim=1) != y
            attacked = explain(x_t, y)
            score = torch.where(flipped, torch.ones_like(low), kendall_tau(original, attacked))
            better = score < low
            low = torch.where(better, score, low)
            point = torch.where(_view(better, x), x_t, point)
            maps = torch.where(_view(better, maps), attacked, maps)
        moved = low < 1
        one = torch.ones_like(low)
        scores = {
            "topk": torch.where(moved, topk_intersection(original, maps, eval_k), one),
            "kendall": torch.where(moved, kendall_tau(original, maps), one),
            "spearman": torch.where(moved, spearman(original, maps), one),
            "x_adv": point,
            "flipped": flipped,
        }
        if not best:
            best = scores
            continue
        worse = scores["kendall"] < best["kendall"]
        best = {name: torch.where(_view(worse, v), v, best[name]) for name, v in scores.items()}
    return best


__all__ = ["AttackConfig", "ig_maps", "normalized_saliency", "topk_attack", "topk_mask", "topk_share"]
