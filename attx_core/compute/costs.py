"""The one cost model: what one image of a store entry costs, in forward+backward passes of EfficientNet-Lite0,
and how many CPU-hours a number of passes takes."""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

from ..experiments.resolve import IMAGE_SIZE
from ..experiments.runners import passes_per_image
from ..metrics import num_points
from ..robust.costs import SPLIT_SIZES, measured_hours
from ..robust.training import BASE_OBJECTIVES
from ..store import StoreEntry

# Relative cost of a forward+backward pass on the stand-ins, as AttEXplore's median attribution seconds per image on
# the store's one-thread records measure it against Lite0's (same settings, same days: 17.1-17.5 s and 18.1-19.4 s
# against 13.9-14.7 s). The metric's forwards cost the same on all three (OpenVINO; 450 forwards took 13-17 s per
# image on Lite0 and on Lite2), so they are not scaled.
MODEL_COST = {"efficientnet_lite1": 1.2, "efficientnet_lite2": 1.3}
# Cost units (lite0 forward+backward passes) per second of `attx compute` on one CPU thread, and a forward's share of
# a pass: pages turn what is missing into hours with them. Both as the store's own one-thread records measured them
# (`attx compute --status` prints the measurement beside them; 2026-12-06, the 2-core AMD EPYC: 13.7 passes/s over
# 2,804 records, a forward 0.44 of a pass over 40 records whose batches kept their wall time).
CPU_PASSES_PER_SECOND = 13.7
FORWARD_COST = 0.44


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


def key_parts(key: Mapping[str, Any]) -> tuple[float, float]:
    """(forward+backward passes, forward-only passes) of one image of the store entry with this key: the method's
    passes scaled by the model's size (a sanity-check entry: every method at every stage), then the metric's forwards."""
    if "methods" in key:
        passes = sum(_passes(m, p) for m, p in key["methods"].items()) * (len(key.get("layers", [])) + 1)
    else:
        passes = _passes(key["method"], key.get("params", {})) if "method" in key else 1.0
    forwards = 0.0
    if isinstance(key.get("insdel"), dict):
        forwards += 2 * num_points(IMAGE_SIZE * IMAGE_SIZE, int(key["insdel"].get("step", IMAGE_SIZE)))
    if "n_perturbations" in key:
        forwards += int(key["n_perturbations"]) + 1
    return passes * MODEL_COST.get(str(key.get("model")), 1.0), forwards


def key_cost(key: Mapping[str, Any]) -> float:
    """Estimated cost of one image of the store entry with this key: :func:`key_parts` in passes, a forward counted
    ``FORWARD_COST`` (a robustness entry: one trained and evaluated net, the mean of its scale's measured one-thread
    hours per net)."""
    if key.get("model") == "robust":
        per_net = [h / len(BASE_OBJECTIVES) for d in SPLIT_SIZES if (h := measured_hours(key["method"], d)) is not None]
        return sum(per_net) / len(per_net) * 3600 * CPU_PASSES_PER_SECOND if per_net else 1.0
    passes, forwards = key_parts(key)
    return passes + forwards * FORWARD_COST


def entry_cost(entry: StoreEntry) -> float:
    """:func:`key_cost` of a store entry."""
    return key_cost(entry.key)


def cpu_hours(passes: float) -> float:
    """Estimated hours of ``attx compute`` on one CPU thread for ``passes`` cost units."""
    return passes / CPU_PASSES_PER_SECOND / 3600


@dataclass(frozen=True)
class MeasuredRates:
    """What the store's own one-thread CPU records say the cost model's two units take: seconds per lite0
    forward+backward pass (the records' attribution timing, over ``pass_records``) and per metric forward, on any
    stand-in (their batch's wall time less the attribution, over the ``forward_records`` that carry both), None where no
    record says. Each is
    the cost-weighted median over records, so that hours when the machine was shared with other work do not count as
    the model's cost."""

    pass_seconds: float | None
    pass_records: int
    forward_seconds: float | None
    forward_records: int

    def text(self) -> str:
        """The model beside the measurement, one line: what `attx compute --status` prints under its table."""
        said = f"cost model: {CPU_PASSES_PER_SECOND:g} passes/s on one thread, a forward {FORWARD_COST:g} of a pass"
        if self.pass_seconds is None:
            return said + "; no one-thread record of the store is timed yet"
        said += f"; the store's one-thread records: {1 / self.pass_seconds:.1f} passes/s ({self.pass_records} records)"
        if self.forward_seconds is not None:
            said += f", a forward {self.forward_seconds / self.pass_seconds:.2f} of a pass ({self.forward_records} records)"
        return said


def _weighted_median(values: list[float], weights: list[float]) -> float | None:
    if not values:
        return None
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(values)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def measured_rates(entries: Iterable[StoreEntry]) -> MeasuredRates:
    """:class:`MeasuredRates` of the records of ``entries`` computed on a CPU with one thread (forwards: only records
    whose batch did nothing but the key's attribution and metric)."""
    per_pass: tuple[list[float], list[float]] = ([], [])
    per_forward: tuple[list[float], list[float]] = ([], [])
    for entry in entries:
        key = entry.key
        if key.get("model") == "robust" or "method" not in key:
            continue
        passes, forwards = key_parts(key)
        for image_id, record in entry.records.items():
            run = entry.provenance_of(image_id) or {}
            attribution = record.get("seconds") if isinstance(record, dict) else None
            if not attribution or run.get("threads") != 1 or not str(run.get("device", "")).startswith("cpu"):
                continue
            per_pass[0].append(attribution / passes)
            per_pass[1].append(passes)
            wall = entry.record_provenance[image_id].get("seconds")
            if wall is not None and forwards > 0 and "substrates" not in key and "substrates" not in record:
                # (a record scored under other substrates too spent its batch on more than the key's forwards)
                per_forward[0].append(max(wall - attribution, 0.0) / forwards)
                per_forward[1].append(forwards)
    return MeasuredRates(_weighted_median(*per_pass), len(per_pass[0]), _weighted_median(*per_forward), len(per_forward[0]))


def hours_text(hours: float) -> str:
    """Projected CPU-hours as a reader sees them: ``"2.5"``, or ``"<0.1"`` for a few minutes (never a bare 0.0)."""
    return f"{hours:.1f}" if hours >= 0.1 else "<0.1"
