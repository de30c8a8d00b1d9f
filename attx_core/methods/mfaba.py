"""MFABA (Zhu et al., AAAI 2024): the AttEXplore integrator over a plain sign-FGSM path that stops
as soon as the prediction leaves the target class (per image)."""
from __future__ import annotations

from torch import Tensor, nn

from ..attacks import trajectory
from ..engine import OUTPUTS, class_score, integrate
from ..validate import require
from .registry import register_method


@register_method("mfaba", "integrated score gradient along a sign-FGSM path, stopped when the prediction flips", passes="num_steps")
def mfaba(
    model: nn.Module, x: Tensor, target: Tensor, *, epsilon: float = 0.3, num_steps: int = 50, alpha: float = 0.001, output: str = "prob"
) -> Tensor:
    """``-sum_t (x_{t+1} - x_t) * grad score_y(x_t)`` on the BIM path descending the target's score."""
    require(output in OUTPUTS, f"output must be one of {OUTPUTS}, got {output!r}")
    path = trajectory(
        model, x, target, "bim", direction="descend", objective=class_score(output), stop="flipped",
        epsilon=epsilon, num_steps=num_steps, alpha=alpha,
    )
    return integrate(path, sign=-1.0)
