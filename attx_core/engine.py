"""The one idea of attx: an attribution is a path integral of gradients along a trajectory.

A trajectory generator yields :class:`Segment` s (start point, end point, gradient used on that
segment); :func:`integrate` sums ``(end - start) * grad`` once for every method. Exploration methods
(AttEXplore, its attack-driven variants, MFABA, AGI) generate the path by an attack and integrate
the objective's gradient with the sign of the path's direction; IG-style methods walk a straight line (:func:`straight_line`).
:func:`input_gradients` is the single gradient oracle: batched, chunked to a memory budget.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .validate import env_int

OUTPUTS = ("prob", "logit")
Objective = Callable[[Tensor, Tensor], Tensor]  # (logits, target) -> per-sample scalar


def model_device(model: nn.Module) -> torch.device:
    """Device of the model's first parameter or buffer (CPU for a parameter-free module)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def chunk_size(device: torch.device | str | None = None, sample_numel: int = 3 * 224 * 224) -> int:
    """Samples per forward/backward chunk, a memory budget (not a semantic): $ATTX_CHUNK, else the
    number of samples of ``sample_numel`` elements that fit 64 ImageNet images on a GPU and 4 on a CPU,
    where small chunks stay in cache (EfficientNet-Lite0 fwd+bwd on 2 cores: 20 ms/image at 4, 26 at
    8, 31 at 16, 92 at 64; forward 16, 12, 11, 29 ms). Small images (MNIST) get larger chunks."""
    env = env_int("ATTX_CHUNK", "samples per forward/backward chunk")
    if env is not None:
        return env
    images = 64 if torch.device(device or "cpu").type == "cuda" else 4
    return max(1, images * 3 * 224 * 224 // max(1, sample_numel))


def model_output(logits: Tensor, output: str) -> Tensor:
    """The model output a method differentiates: ``"prob"`` (softmax, the paper code's model) or ``"logit"``."""
    if output == "prob":
        return logits.softmax(dim=1)
    if output == "logit":
        return logits
    raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")


def class_score(output: str) -> Objective:
    """Objective: the target's entry of the model output (probability or logit)."""

    def objective(logits: Tensor, target: Tensor) -> Tensor:
        return model_output(logits, output).gather(1, target[:, None])[:, 0]

    return objective


def cross_entropy(output: str) -> Objective:
    """Objective: cross-entropy of the target over the model output.

    With ``output="prob"`` this is the published AttEXplore loss: the reference model already ends in
    softmax and ``CrossEntropyLoss`` applies a second one. ``output="logit"`` is the single-softmax loss.
    """

    def objective(logits: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(model_output(logits, output), target, reduction="none")

    return objective


LOGIT_OBJECTIVES = {  # the scalar functions of (logits, target) whose input gradient methods and attacks take
    "ce": "cross-entropy of the logits (TransferAttack's attacks)",
    "ce_prob": "cross-entropy over softmax(logits): two softmaxes",
    "ce_prob2": "cross-entropy over softmax(softmax(logits)): three softmaxes, the published AttEXplore loss",
    "prob": "softmax probability of the target",
    "prob2": "softmax(softmax(logits)) of the target: the old Table-6 code (model ends in Softmax, F.softmax again)",
    "logit": "logit of the target",
}


def named_objective(name: str) -> Objective:
    """The objective called ``name`` in :data:`LOGIT_OBJECTIVES` (data, so explorers and methods can name theirs),
    composed from :func:`cross_entropy` and :func:`class_score`; a trailing 2 applies one more softmax first."""
    if name not in LOGIT_OBJECTIVES:
        raise ValueError(f"objective must be one of {list(LOGIT_OBJECTIVES)}, got {name!r}")
    base = {"ce": cross_entropy("logit"), "ce_prob": cross_entropy("prob"), "ce_prob2": cross_entropy("prob"),
            "prob": class_score("prob"), "prob2": class_score("prob"), "logit": class_score("logit")}[name]
    if name.endswith("2"):
        return lambda logits, target: base(logits.softmax(dim=1), target)
    return base


def input_gradients(
    model: nn.Module, x: Tensor, target: Tensor, objective: Objective, create_graph: bool = False
) -> tuple[Tensor, Tensor]:
    """Gradient of ``objective`` w.r.t. each sample of x, and the objective values.

    Samples are independent (eval mode), so one backward of the sum per chunk gives every
    per-sample gradient; chunks of :func:`chunk_size` bound the memory. With ``create_graph=True``
    an x that is part of a graph stays attached, so the gradients are differentiable w.r.t. x's
    inputs and the model's parameters (double backprop: attributional-robustness training).
    """
    grads, values = [], []
    step = chunk_size(x.device, x[0].numel())
    for start in range(0, x.shape[0], step):
        xc = x[start : start + step]
        if not (create_graph and xc.requires_grad):
            xc = xc.detach().requires_grad_(True)
        with torch.enable_grad():
            value = objective(model(xc), target[start : start + step])
            (grad,) = torch.autograd.grad(value.sum(), xc, create_graph=create_graph)
        grads.append(grad)
        values.append(value if create_graph else value.detach())
    return torch.cat(grads), torch.cat(values)


def target_gradients(model: nn.Module, x: Tensor, targets: Tensor, objective: Objective) -> tuple[Tensor, Tensor]:
    """Gradients (K, N, ...) of ``objective`` w.r.t. each sample of x for each row of ``targets`` (K, N), and every
    sample's top-1 class, from ONE forward pass per chunk (one backward per row): the K objectives of a point
    (AGI's adversarial and explained classes) and a path's stop check (MFABA, AGI) share their forward pass."""
    grads, top1 = [], []
    step = chunk_size(x.device, x[0].numel())
    for start in range(0, x.shape[0], step):
        xc = x[start : start + step].detach().requires_grad_(True)
        with torch.enable_grad():
            logits = model(xc)
            values = [objective(logits, row[start : start + step]).sum() for row in targets]
            grads.append(torch.stack([torch.autograd.grad(v, xc, retain_graph=k + 1 < len(values))[0] for k, v in enumerate(values)]))
        top1.append(logits.detach().argmax(dim=1))
    return torch.cat(grads, dim=1), torch.cat(top1)


def gradients_and_top1(model: nn.Module, x: Tensor, target: Tensor, objective: Objective) -> tuple[Tensor, Tensor]:
    """:func:`input_gradients` plus every sample's top-1 class from the same forward pass, so a path's
    stop check (MFABA, AGI) costs no extra pass."""
    grads, top1 = target_gradients(model, x, target[None], objective)
    return grads[0], top1


@dataclass
class Segment:
    """One piece of a trajectory: from ``start`` to ``end`` with the gradient ``grad`` used on it."""

    start: Tensor
    end: Tensor
    grad: Tensor


def integrate(segments: Iterable[Segment], sign: float = 1.0) -> Tensor:
    """``sign * sum_t (end_t - start_t) * grad_t``: the path integral every method shares.

    Exploration paths take ``sign = +1`` when they ascend their objective and ``-1`` when they descend
    it, so both directions give positive weight to the features the path moved along its gradient.
    """
    total: Tensor | None = None
    for seg in segments:
        term = (seg.end - seg.start) * seg.grad
        total = term if total is None else total + term
    if total is None:
        raise ValueError("a trajectory must have at least one segment")
    return sign * total


QUADRATURE_RULES = ("trapezoid", "left", "right")  # how the integrator weighs a segment's two end gradients


def straight_line(
    model: nn.Module,
    x: Tensor,
    baseline: Tensor,
    target: Tensor,
    objective: Objective,
    steps: int,
    rule: str = "trapezoid",
    create_graph: bool = False,
) -> Iterator[Segment]:
    """Segments of the straight path baseline -> x in ``steps`` equal pieces.

    ``rule`` picks the gradient used on a piece: mean of both ends (trapezoid), its start or its end;
    only the points the rule needs are evaluated, all of them (for all images) in one chunked pass.
    ``create_graph=True`` keeps the segments differentiable w.r.t. both ends and the parameters.
    """
    if rule not in QUADRATURE_RULES:
        raise ValueError(f"rule must be one of {QUADRATURE_RULES}, got {rule!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    alphas = torch.linspace(0.0, 1.0, steps + 1, device=x.device, dtype=x.dtype)
    points = baseline[None] + alphas.view(-1, *([1] * x.dim())) * (x - baseline)[None]  # (steps+1, B, ...)
    first, last = {"left": (0, steps), "right": (1, steps + 1), "trapezoid": (0, steps + 1)}[rule]
    flat = points[first:last].flatten(0, 1)
    grads, _ = input_gradients(model, flat, target.repeat(last - first), objective, create_graph=create_graph)
    grads = grads.view(last - first, *x.shape)
    for k in range(steps):
        g = (grads[k] + grads[k + 1]) / 2 if rule == "trapezoid" else grads[k]
        yield Segment(points[k], points[k + 1], g)
