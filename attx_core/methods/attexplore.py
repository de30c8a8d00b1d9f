"""AttEXplore (ICLR 2024) and AttEXplore++: integrate the explorer's gradient along its attack path.

One code path: ``attack="ssa"`` at its defaults is AttEXplore as published (spectrum copies + DI + TI +
momentum, descending the three-softmax cross-entropy); any other name in
:data:`~attx_core.attacks.ATTACKS` is an AttEXplore++ explorer with that attack's published settings
(its own steps, kernel, objective and direction); ``attack=None`` is the NoAttack row. Attribution =
``sign * sum_t (x_{t+1} - x_t) * G_t`` (:func:`~attx_core.engine.integrate`), with sign +1 on a path that
ascends its objective and -1 on one that descends it, so the features the path used weigh positively.
"""
from __future__ import annotations

import inspect
import math
from typing import Any

from torch import Tensor, nn

from ..attacks import ATTACKS, explorer_for, path_sign, trajectory
from ..engine import integrate
from ..validate import require
from .registry import register_method

# The NoAttack row of Table 6: the one old path function left for it (saliency_zoo.mfaba_smooth, FGSMGrad at
# commit 2f6028b) is a plain 10-step sign path on the double-softmax probability of y, descended (adversarial),
# with raw gradients: no TI, no momentum, no input transform. (Inferred: eight path functions for eight rows.)
NOATTACK = ("bim", {"objective": "prob2", "direction": "descend", "momentum": None})

_T6 = {"objective": "prob2", "direction": "descend"}
# Old AttEXplore code (commit 2f6028b, saliency/core/mfaba.py) per Table-6 row, as settings of our explorers.
# Every variant but NAA differentiates softmax(softmax(logits))[y] and descends it; DI/TI shrink (ratio 0.9) with
# decay 0; FGSM/PGD integrate raw gradients. Not reproduced: SINI's look-ahead sign (the old code looks ahead against
# its step), NAA's ensemble (noisy copies (1 - l/30)(x + N(0, 0.2)) instead of our l/30 x) and its layer (the last conv).
TABLE6 = {
    None: {**_T6, "momentum": None},
    "ssa": {},
    "pgd": {**_T6, "momentum": None},
    "difgsm": {**_T6, "momentum": 0.0, "di_ratio": 0.9},
    "tifgsm": {**_T6, "momentum": 0.0, "di_prob": 0.5, "di_ratio": 0.9},
    "mifgsm": dict(_T6),
    "sinifgsm": dict(_T6),
    "naa": {"objective": "prob2", "direction": "ascend", "momentum": 1.0},
}
# The old code never zeroed the input gradient in these rows' path functions (not SINI, NAA, SSA).
ACCUMULATING = (None, "pgd", "difgsm", "tifgsm", "mifgsm")
PRESETS: dict[str | None, dict[str | None, dict[str, Any]]] = {
    None: {},
    "paper": {"*": {"epsilon": 48 / 255}},
    "table6": TABLE6,
    "table6_accumulate": {a: {**p, "accumulate": a in ACCUMULATING} for a, p in TABLE6.items()},
}


def explorer_settings(attack: str | None, preset: str | None = None, explicit: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The explorer and its full settings: its published defaults, then the preset's row, then the
    ``explicit`` values. Unknown attacks or presets, and knobs the explorer lacks, raise ValueError."""
    require(preset in PRESETS, f"preset must be one of {list(PRESETS)}, got {preset!r}")
    require(attack is None or attack in ATTACKS, f"unknown attack {attack!r}; known attacks: None (NoAttack), {', '.join(ATTACKS)}")
    rows = PRESETS[preset]
    require("*" in rows or not rows or attack in rows,
            f"preset {preset!r} has no row for attack {attack!r}; it has: {[a for a in rows if a != '*']}")
    name, base = NOATTACK if attack is None else (attack, {})
    settings = {**base, **rows.get("*", {}), **rows.get(attack, {}), **(explicit or {})}
    _, full = explorer_for(name, settings)
    return name, full


def _passes(params: dict[str, Any]) -> float:
    """Forward+backward passes per image: the chosen explorer's formula on its resolved settings."""
    explicit = {**{k: params[k] for k in KNOBS if params.get(k) is not None}, **(params.get("attack_params") or {})}
    name, full = explorer_settings(params.get("attack", "ssa"), params.get("preset"), explicit)
    names = {**full, "ceil": math.ceil, "len": len}
    return float(eval(ATTACKS[name].passes, {"__builtins__": {}}, names))  # noqa: S307 - registry formula


@register_method(
    "attexplore",
    "AttEXplore/AttEXplore++: integrated explorer gradient along an attack path (attack= picks the explorer)",
    passes=_passes,
    version=2,
    published="LMBTough/ATTEXPLORE ampe.py: SSA path (N=20, rho 0.5, sigma 16/255, DI bilinear 224->[224,257) pad 257, "
    "TI 7x7, MI), eps 16/255, 10 steps, three softmaxes in the CE loss, path DESCENDS the loss, A = -sum dx * G. "
    "Table 6 rows: old commit 2f6028b (objective softmax(softmax)[y] descended, never-zeroed gradients).",
    options={
        "attack=NAME": "AttEXplore++ explorer with that attack's published (TransferAttack) settings, objective and direction",
        "attack=None": "NoAttack row: 10 sign steps on softmax(softmax)[y], descended, raw gradients",
        "objective='ce'": "single-softmax cross-entropy (the paper's formula) instead of the published three softmaxes",
        "direction='ascend'": "adversarial path (SSA as an attack); the integrator's sign follows, so the map stays positive",
        "accumulate=True": "the old code's never-zeroed input gradient (running sum of all gradients)",
        "preset='paper'": "epsilon 48/255 (the paper's text and Table 5's best) instead of the code's 16/255",
        "preset='table6'": "the old Table-6 code's semantics per row (adversarial on softmax(softmax)[y], fresh gradients)",
        "preset='table6_accumulate'": "table6 plus the old accumulation where the old code had it (NoAttack, PGD, DI, TI, MI)",
    },
    conformance="tests/test_conformance_explorers.py",
)
def attexplore(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    attack: str | None = "ssa",
    epsilon: float | None = None,
    num_steps: int | None = None,
    N: int | None = None,
    rho: float | None = None,
    sigma: float | None = None,
    momentum: float | None = None,
    di_prob: float | None = None,
    ti_size: int | None = None,
    beta: float | None = None,
    use_sign: bool | None = None,
    objective: str | None = None,
    direction: str | None = None,
    accumulate: bool | None = None,
    seed: int = 3407,
    attack_params: dict[str, Any] | None = None,
    preset: str | None = None,
) -> Tensor:
    """AttEXplore map along the explorer ``attack``'s path. Every knob left at None keeps the explorer's
    published value (``ATTACKS[attack].defaults``; AttEXplore's for ``"ssa"``); a knob the explorer does
    not have raises ValueError. ``attack_params`` sets any other explorer parameter. ``preset`` picks a
    row of :data:`PRESETS` (``"paper"``, ``"table6"``, ``"table6_accumulate"``).
    """
    knobs = {k: v for k, v in locals().items() if k in KNOBS}
    extra = dict(attack_params or {})
    both = sorted(k for k in extra if knobs.get(k) is not None)
    require(not both, f"set {', '.join(both)} either as a keyword or in attack_params, not both")
    explicit = {**{k: v for k, v in knobs.items() if v is not None}, **extra, "seed": seed}
    name, full = explorer_settings(attack, preset, explicit)
    return integrate(trajectory(model, x, target, name, **full), sign=path_sign(full["direction"]))


# The explorer knobs AttEXplore exposes as keywords: declared once, by its signature.
KNOBS = tuple(name for name in inspect.signature(attexplore).parameters
              if name not in ("model", "x", "target", "attack", "seed", "attack_params", "preset"))
