"""AttEXplore (ICLR 2024) and AttEXplore++: integrate loss gradients along a transferable-attack path.

One code path: ``attack="ssa"`` at the defaults is plain AttEXplore (spectrum copies + DI + TI +
momentum, descending the double-softmax cross-entropy as the published code does); any other name
in :data:`~attx_core.attacks.ATTACKS` is the AttEXplore++ explorer; ``attack=None`` the NoAttack row
(the same integrator, momentum and TI, no exploration transform). Attribution =
``-sum_t (x_{t+1} - x_t) * G_t`` via :func:`~attx_core.engine.integrate`.
"""
from __future__ import annotations

import inspect
from typing import Any

from torch import Tensor, nn

from ..attacks import ATTACKS, Explorer, trajectory
from ..engine import OUTPUTS, class_score, cross_entropy, integrate
from ..validate import require
from .registry import register_method

PRESETS = {None: {}, "paper": {"epsilon": 48 / 255}}
KNOBS = ("N", "rho", "sigma", "momentum", "di_prob", "ti_size", "beta")  # forwarded where the explorer has them


@register_method(
    "attexplore",
    "AttEXplore/AttEXplore++: integrated loss gradient along an attack path (attack= picks the explorer)",
    passes="num_steps*N",
)
def attexplore(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    epsilon: float = 16 / 255,
    num_steps: int = 10,
    N: int = 20,
    rho: float = 0.5,
    sigma: float = 16 / 255,
    momentum: float = 1.0,
    di_prob: float = 0.5,
    ti_size: int = 7,
    use_sign: bool = True,
    direction: str = "descend",
    output: str = "prob",
    seed: int = 3407,
    attack: str | None = "ssa",
    attack_params: dict[str, Any] | None = None,
    preset: str | None = None,
    beta: float = 3.5,
    reference_bugs: bool = False,
) -> Tensor:
    """AttEXplore map; the knobs N, rho, sigma, momentum, di_prob, ti_size, beta configure the explorer
    where it has a parameter of that name (``attack_params`` sets any other explorer parameter).

    ``preset="paper"`` uses the paper text's epsilon 48/255 (code default 16/255).
    ``reference_bugs=True`` reproduces the old Table-6 code: the softmax probability of the target
    as the differentiated objective and input gradients accumulated over steps (never zeroed).
    """
    require(preset in PRESETS, f"preset must be one of {list(PRESETS)}, got {preset!r}")
    if preset is not None:
        require(epsilon == 16 / 255, f"preset={preset!r} sets epsilon; do not pass epsilon too")
        epsilon = PRESETS[preset]["epsilon"]
    require(attack is None or attack in ATTACKS, f"unknown attack {attack!r}; known attacks: None (NoAttack), {', '.join(ATTACKS)}")
    require(N >= 1 and int(N) == N, f"N must be an integer >= 1, got {N}")
    require(0 <= rho <= 1, f"rho must lie in [0, 1], got {rho}")
    require(sigma >= 0, f"sigma must be >= 0, got {sigma}")
    require(momentum >= 0, f"momentum must be >= 0, got {momentum}")
    require(0 <= di_prob <= 1, f"di_prob must lie in [0, 1], got {di_prob}")
    require(ti_size <= 1 or ti_size % 2 == 1, f"ti_size must be odd (or 0/1 for off), got {ti_size}")
    require(output in OUTPUTS, f"output must be one of {OUTPUTS}, got {output!r}")
    require(beta >= 0, f"beta must be >= 0, got {beta}")
    knobs = dict(N=N, rho=rho, sigma=sigma, momentum=momentum, di_prob=di_prob, ti_size=ti_size, beta=beta)
    common = dict(epsilon=epsilon, num_steps=num_steps, use_sign=use_sign, seed=seed)
    if attack is None:
        explorer: str | Explorer = Explorer(ti_size=ti_size, momentum=momentum)
        params = common
    else:
        explorer = attack
        own = inspect.signature(ATTACKS[attack].build).parameters
        params = {**common, **{k: v for k, v in knobs.items() if k in own}, **(attack_params or {})}
    objective = class_score("prob") if reference_bugs else cross_entropy(output)
    path = trajectory(model, x, target, explorer, direction=direction, objective=objective, accumulate_grads=reference_bugs, **params)
    return integrate(path, sign=-1.0)
