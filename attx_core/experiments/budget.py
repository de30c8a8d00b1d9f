"""Estimated compute of a profile, chapter by chapter, from the methods' passes-per-image formulas."""
from __future__ import annotations

from typing import Any, Iterator

import pandas as pd

from ..metrics import num_points
from .profiles import PROFILES, settings
from .runners import PAPER_PARAM_NAMES, PUBLISHED_VARIANTS, ablation_section, passes_per_image
from .resolve import IMAGE_SIZE

PASS_SECONDS = 0.12  # efficientnet_lite0 forward+backward per image on 2 CPU cores (OFFLINE.md)
FORWARD_SECONDS = 0.09  # forward only


def _configs(profile: str, chapter: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(method, params, metric) of every configuration a chapter computes."""
    cfg = settings(profile, chapter)
    if "sections" in cfg:
        for section in cfg["sections"]:
            kw = ablation_section(cfg, section)
            name = PAPER_PARAM_NAMES.get(kw["parameter"], kw["parameter"])
            for v in kw["values"]:
                yield "attexplore", {**kw["base"], name: v / 255 if kw["parameter"] == "epsilon" else v}, "insdel"
    elif "attacks" in cfg:
        for a in cfg["attacks"]:
            yield "attexplore", {**cfg["base"], "attack": None if a == "none" else a}, "insdel"
        for parameter, spec in cfg.get("sensitivity", {}).items():
            for v in spec["values"]:
                yield "attexplore", {**cfg["base"], "attack": spec.get("attack", "ssa"), parameter: v / 255 if parameter == "epsilon" else v}, "insdel"
        for _ in cfg.get("seeds", []):
            yield "attexplore", dict(cfg["base"]), "insdel"
    elif chapter == "published_vs_corrected":
        for _, method, published, corrected in PUBLISHED_VARIANTS:
            base = cfg["base"] if method == "attexplore" else {}
            yield method, {**base, **published}, "insdel"
            yield method, {**base, **corrected}, "insdel"
        yield "attexplore", dict(cfg["base"]), "insdel"  # the pixel-order variant (reference order is cached)
    elif isinstance(cfg.get("methods"), dict):
        metric = {"table02_fps": "none", "figure04_heatmaps": "none", "table08_infd": "infd", "sanity_check": "none"}.get(chapter, "insdel")
        repeats = cfg.get("stages", 0) + 1 if chapter == "sanity_check" else 1  # every stage recomputes the maps
        for m, p in cfg["methods"].items():
            for _ in range(repeats):
                yield m, dict(p), metric


def budget(profile: str) -> pd.DataFrame:
    """Estimated seconds per chapter on 2 CPU cores for efficientnet_lite0 (lite1/lite2 cost ~1.3x/1.7x;
    cached configurations shared between chapters are counted in each; None = not estimated)."""
    rows = []
    for chapter in PROFILES[profile]["chapters"]:
        cfg = settings(profile, chapter)
        available = 500 if cfg["images"] == "val-subset" else 20  # shared val subset / packaged photos
        n = min(cfg.get("n_images") or available, available)
        n_models = len(cfg.get("models", [])) or 1
        per_model = cfg.get("n_images_per_model") or {}
        image_models = sum(min(per_model.get(m, n), available) for m in cfg.get("models", [])) or n  # images x models
        passes = forwards = 0.0
        for method, params, metric in _configs(profile, chapter):
            passes += passes_per_image(method, params)
            if metric == "insdel":
                forwards += 2 * num_points(IMAGE_SIZE * IMAGE_SIZE, cfg["insdel"]["step"])
            elif metric == "infd":
                forwards += cfg.get("n_perturbations", 100) + 1
        seconds = image_models * (passes * PASS_SECONDS + forwards * FORWARD_SECONDS)
        rows.append({"chapter": chapter, "images": n, "models": n_models, "passes/image": passes,
                     "metric forwards/image": forwards, "estimated seconds": round(seconds) if passes else None})
    return pd.DataFrame(rows)
