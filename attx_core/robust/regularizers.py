"""Attribution regularizers: Sarkar, Sarkar & Balasubramanian (AAAI 2021) and RAR (Chen et al. 2019).

All IGs here are differentiable (:func:`path_ig`), right Riemann sums over ``steps`` equal pieces
(the TF code's points k/m, k = 1..m). With x' a PGD point near x (``Flower/model.py`` of the authors):

* distribution term: TCA = IG(0 -> x') of p_y, NCA = IG(0 -> x') of the top non-true class
  probability (chosen afresh at every path point, as the authors' ``TNCA_Attr`` does), each
  channel-summed and softmaxed over pixels; term = KL(U || NCA) - KL(U || TCA), U uniform.
  Minimising it pulls NCA towards uniform and pushes TCA away from uniform (concentrated).
* sign-aware shift term: Base = IG(0 -> x) of p_y, Change = IG(x -> x') of log p_y (the authors'
  ``change_attr = -(IG of the cross-entropy)``); the sum of Base*Change where the signs agree plus
  |Change| where they differ (per input entry).
* RAR's IG norm: ||IG(x -> x') of the cross-entropy||_1 (= ||Change||_1).

The outer IGs use all m points (m = 20 for Sarkar et al., 50 for RAR); only the inner attack uses
every 4th (RAR: every 5th / 10th), see :func:`inner_loss`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..engine import Objective, class_score, cross_entropy, integrate, straight_line
from ..validate import require

REGS = ("dist", "sign", "both")


def path_ig(model: nn.Module, start: Tensor, end: Tensor, target: Tensor, objective: Objective, steps: int, rule: str = "right") -> Tensor:
    """IG of ``objective`` along the straight path start -> end, differentiable w.r.t. both ends and the
    model's parameters (double backprop), as training and the top-k attack need."""
    return integrate(straight_line(model, end, start, target, objective, steps, rule, create_graph=True))


def log_prob(logits: Tensor, target: Tensor) -> Tensor:
    """Objective: log p_y (log-softmax of the target)."""
    return F.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]


def top_other_prob(logits: Tensor, target: Tensor) -> Tensor:
    """Objective: the largest softmax probability among the classes other than the target."""
    probs = logits.softmax(dim=1)
    others = probs.masked_fill(F.one_hot(target, probs.shape[1]).bool(), -1.0)
    return others.max(dim=1).values


def distribution_term(tca: Tensor, nca: Tensor) -> Tensor:
    """KL(U || softmax(NCA)) - KL(U || softmax(TCA)) per image, maps channel-summed, softmax over pixels.

    KL(U || P) = -log n - mean_i log P_i, so the term is mean_i log TCA_i - mean_i log NCA_i.
    """
    require(tca.shape == nca.shape and tca.dim() == 4, f"TCA and NCA must be (B,C,H,W) of one shape, got {tuple(tca.shape)}, {tuple(nca.shape)}")
    log_t = F.log_softmax(tca.sum(dim=1).flatten(1), dim=1)
    log_n = F.log_softmax(nca.sum(dim=1).flatten(1), dim=1)
    return log_t.mean(dim=1) - log_n.mean(dim=1)


def sign_shift_term(base: Tensor, change: Tensor) -> Tensor:
    """Per image: sum of Base*Change over entries where sign(Base) == sign(Change), plus |Change| elsewhere."""
    require(base.shape == change.shape, f"Base and Change must have one shape, got {tuple(base.shape)}, {tuple(change.shape)}")
    same = torch.sign(base) == torch.sign(change)
    return torch.where(same, base * change, change.abs()).flatten(1).sum(dim=1)


def ig_change(model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor, steps: int = 20) -> Tensor:
    """Change = IG(x -> x') of log p_y (= minus the IG of the cross-entropy): the authors' ``change_attr``.

    Its entries sum to about log p_y(x') - log p_y(x) (completeness), negative when x' is an attack.
    """
    return path_ig(model, x, x_adv, y, log_prob, steps)


def ig_norm(model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor, steps: int = 20) -> Tensor:
    """RAR's ||IG(x -> x') of the cross-entropy||_1 per image (the sign of the IG does not matter)."""
    return path_ig(model, x, x_adv, y, cross_entropy("logit"), steps).abs().flatten(1).sum(dim=1)


def inner_loss(model: nn.Module, x: Tensor, y: Tensor, lam: float, steps: int = 5):
    """The inner maximisation of AR / IG-SUM-NORM: x' -> CE(x') + lam * ||IG(x -> x')||_1 per image
    (``steps`` = m / approx_factor points: 5 of Sarkar et al.'s 20)."""

    def loss(x_adv: Tensor) -> Tensor:
        return F.cross_entropy(model(x_adv), y, reduction="none") + lam * ig_norm(model, x, x_adv, y, steps)

    return loss


def regularizer_terms(model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor, reg: str = "both", steps: int = 20) -> dict[str, Tensor]:
    """Sarkar et al.'s regularizer terms per image: ``dist`` and / or ``sign`` (as ``reg`` asks)."""
    require(reg in REGS, f"reg must be one of {REGS}, got {reg!r}")
    terms: dict[str, Tensor] = {}
    if reg in ("dist", "both"):
        zero = torch.zeros_like(x)
        tca = path_ig(model, zero, x_adv, y, class_score("prob"), steps)
        nca = path_ig(model, zero, x_adv, y, top_other_prob, steps)
        terms["dist"] = distribution_term(tca, nca)
    if reg in ("sign", "both"):
        base = path_ig(model, torch.zeros_like(x), x, y, class_score("prob"), steps)
        terms["sign"] = sign_shift_term(base, ig_change(model, x, x_adv, y, steps))
    return terms


def attribution_regularizer(model: nn.Module, x: Tensor, x_adv: Tensor, y: Tensor, reg: str = "both", steps: int = 20) -> Tensor:
    """Sarkar et al.'s regularizer per image: the distribution term, the sign-aware term, or their sum."""
    return sum(regularizer_terms(model, x, x_adv, y, reg, steps).values())
