"""INFD: explanation infidelity (Yeh et al. 2019) in the AttEXplore group's version (lower is better).

Each perturbation picks H*W random entries of the 3*H*W (channels mixed) and subtracts
``I = clip(x + 0.2 z, x - 1, x)`` there (z standard normal). With ``exp = sum(I * attr)`` and
``diff = logit_y(x) - logit_y(x - I)``, the attribution is rescaled by the optimal
``beta = mean(diff * exp) / (mean(exp^2) + 1e-8)`` and ``infd = mean((diff - beta * exp)^2)``
(Captum's ``infidelity(..., normalize=True)`` with the same perturbations gives the same number).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..engine import chunk_size, model_device
from ..execution import forward_only, predict
from ..validate import check_attribution, check_images, check_target, require


def infidelity_perturbation(x: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """One random perturbation per image: returns ``(I, x - I)``; the draws come from ``generator`` (CPU)."""
    b, c, h, w = x.shape
    chosen = torch.rand(b, c * h * w, generator=generator).argsort(dim=1)[:, : h * w]
    z = torch.randn(b, c * h * w, generator=generator)
    mask = torch.zeros(b, c * h * w).scatter_(1, chosen, 1.0).view_as(x).to(x)
    z = z.view_as(x).to(x)
    perturbation = mask * torch.minimum(torch.maximum(x + 0.2 * z, x - 1), x)
    return perturbation, x - perturbation


@torch.no_grad()
def infidelity(
    model: nn.Module,
    x: Tensor,
    attributions: Tensor,
    target: Tensor | int | list[int],
    n_perturbations: int = 100,
    seed: int = 3407,
    batch_size: int | None = None,
) -> Tensor:
    """INFD per image (B,) of ``attributions`` for the logit of ``target``; perturbations seeded by ``seed``.

    ``batch_size`` = perturbed images per forward pass (default :func:`attx_core.engine.chunk_size`).
    """
    check_images(x)
    check_attribution(attributions, x)
    device = model_device(model)
    x, attributions = x.to(device), attributions.to(device)
    target = check_target(target, x.shape[0], getattr(model, "num_classes", None)).to(device)
    require(isinstance(n_perturbations, int) and n_perturbations >= 1, f"n_perturbations must be an integer >= 1, got {n_perturbations!r}")
    batch_size = chunk_size(device, x[0].numel()) if batch_size is None else batch_size
    require(isinstance(batch_size, int) and batch_size >= 1, f"batch_size must be an integer >= 1, got {batch_size!r}")

    generator = torch.Generator().manual_seed(seed)
    b = x.shape[0]
    per_forward = max(1, batch_size // b)  # perturbations of every image per forward chunk
    clean = predict(model, x, batch_size, samples=(n_perturbations + 1) * b).gather(1, target[:, None])[:, 0]
    forward = forward_only(model, n_perturbations * b, batch_size)
    explained, diffs = [], []
    for start in range(0, n_perturbations, per_forward):
        n = min(per_forward, n_perturbations - start)
        pairs = [infidelity_perturbation(x, generator) for _ in range(n)]
        perturbation = torch.stack([p for p, _ in pairs])  # (n, B, C, H, W)
        perturbed = torch.stack([q for _, q in pairs]).flatten(0, 1)
        logits = torch.cat([forward(perturbed[i : i + batch_size]) for i in range(0, n * b, batch_size)])
        logits = logits.gather(1, target.repeat(n)[:, None])[:, 0].view(n, b)
        diffs.append(clean[None] - logits)
        explained.append((perturbation * attributions[None]).flatten(2).sum(dim=2))
    exp, diff = torch.cat(explained).double(), torch.cat(diffs).double()  # (n_perturbations, B)
    beta = (diff * exp).mean(dim=0) / ((exp * exp).mean(dim=0) + 1e-8)
    return ((diff - beta * exp) ** 2).mean(dim=0).float()
