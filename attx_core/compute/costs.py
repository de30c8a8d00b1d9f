"""The one cost model: what one image of a store entry costs, in forward+backward passes of EfficientNet-Lite0,
and how many CPU-hours a number of passes takes."""
from __future__ import annotations

import ast
import math
from typing import Any, Mapping

from ..experiments.resolve import IMAGE_SIZE
from ..experiments.runners import passes_per_image
from ..metrics import num_points
from ..robust.costs import SPLIT_SIZES, measured_hours
from ..robust.training import BASE_OBJECTIVES
from ..store import StoreEntry

# Relative cost of a pass on the stand-ins: lite1/lite2 cost ~1.3x/1.7x lite0.
MODEL_COST = {"efficientnet_lite1": 1.3, "efficientnet_lite2": 1.7}
FORWARD_COST = 0.75  # a forward pass relative to forward+backward (0.09 s / 0.12 s on 2 cores)
# Cost units (lite0 forward+backward passes) per second of `attx compute` on one CPU thread, as its progress bar
# measured on Table 1 (15-30 on a shared 2-core machine): pages turn what is missing into hours with it.
CPU_PASSES_PER_SECOND = 20.0


def _passes(method: str, params: Mapping[str, Any]) -> float:
    """A method's passes per image from a store key's parameters (containers are stored as their repr), 1 where the
    formula cannot be read."""
    def value(v: Any) -> Any:
        if isinstance(v, str) and v[:1] in "{[(":
            try:
                return ast.literal_eval(v)
            except (ValueError, SyntaxError):
                return v
        return v

    passes = passes_per_image(method, {k: value(v) for k, v in params.items()})
    return passes if math.isfinite(passes) else 1.0


def key_cost(key: Mapping[str, Any]) -> float:
    """Estimated cost of one image of the store entry with this key: the method's passes plus the metric's
    forwards, scaled by the model's size (a sanity-check entry: every method at every stage; a robustness entry: one
    trained and evaluated net, the mean of its scale's measured one-thread hours per net)."""
    if key.get("model") == "robust":
        per_net = [h / len(BASE_OBJECTIVES) for d in SPLIT_SIZES if (h := measured_hours(key["method"], d)) is not None]
        return sum(per_net) / len(per_net) * 3600 * CPU_PASSES_PER_SECOND if per_net else 1.0
    if "methods" in key:
        passes = sum(_passes(m, p) for m, p in key["methods"].items()) * (len(key.get("layers", [])) + 1)
    else:
        passes = _passes(key["method"], key.get("params", {})) if "method" in key else 1.0
    if isinstance(key.get("insdel"), dict):
        passes += 2 * num_points(IMAGE_SIZE * IMAGE_SIZE, int(key["insdel"].get("step", IMAGE_SIZE))) * FORWARD_COST
    if "n_perturbations" in key:
        passes += (int(key["n_perturbations"]) + 1) * FORWARD_COST
    return passes * MODEL_COST.get(str(key.get("model")), 1.0)


def entry_cost(entry: StoreEntry) -> float:
    """:func:`key_cost` of a store entry."""
    return key_cost(entry.key)


def cpu_hours(passes: float) -> float:
    """Estimated hours of ``attx compute`` on one CPU thread for ``passes`` cost units."""
    return passes / CPU_PASSES_PER_SECOND / 3600


def hours_text(hours: float) -> str:
    """Projected CPU-hours as a reader sees them: ``"2.5"``, or ``"<0.1"`` for a few minutes (never a bare 0.0)."""
    return f"{hours:.1f}" if hours >= 0.1 else "<0.1"
