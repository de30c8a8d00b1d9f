"""Run profiles: the profile-wide settings (image set, counts, seed, batch size, insertion/deletion protocol);
each chapter declares its own per-profile overrides next to its settings (:class:`~.registry.Chapter`).

``paper`` is the paper's protocol (every image of the shared validation subset, three CNNs, published settings;
meant for a GPU). ``standard`` is the same protocol on the EfficientNet-Lite0/1/2 stand-ins, in a committed store
that ``attx compute`` fills in the background and ``make book`` renders. ``quick`` computes a small book from
scratch (a few packaged photos, one model, coarser curves, fewer samples and steps). ``test`` is what the tests run:
Table 1 with four cheap methods and four-point curves, seconds per image on a tiny model.
"""
from __future__ import annotations

import copy
from typing import Any

from ..validate import require
from .protocol import PAPER_INSDEL, QUICK_INSDEL
from .registry import CHAPTERS, Chapter, get

PROFILES: dict[str, dict[str, Any]] = {
    "paper": {
        "description": "the paper's protocol: every image of the shared val subset (500 of the paper's 1000), three CNNs, published settings",
        "images": "val-subset",
        "n_images": 1000,
        "seed": 3407,
        "batch_size": 8,
        "insdel": PAPER_INSDEL,
    },
    "standard": {
        "description": "the paper's protocol on the EfficientNet-Lite0/1/2 stand-ins and the shared val subset (a committed "
                       "store filled by `attx compute`, which computes only where a claim is still open)",
        "images": "val-subset",
        "n_images": None,  # up to every image of the subset: the planner decides how many each claim needs
        "seed": 3407,
        "batch_size": 2,  # small batches: `attx compute --hours` stops between them
        "insdel": PAPER_INSDEL,
        "stand_ins": True,  # always the EfficientNet-Lite analogues: the store must not depend on a machine's cache
        "store": True,  # `make book` renders what `attx compute` stored; it computes nothing
        # Chapters without claims fill to their own image counts in stages (all configurations on the first 8
        # images, then 32, then 100, then the count), `compute_step` images at a time, so a stopped fill leaves pairs.
        "compute_stages": [8, 32, 100],
        "compute_step": 8,
    },
    "quick": {
        "description": "about 30 minutes on 2 CPU cores: few packaged photos, one model, coarser curves, fewer samples/steps",
        "images": "sample",
        "n_images": 4,
        "seed": 3407,
        "batch_size": 4,
        "insdel": QUICK_INSDEL,
    },
    "test": {
        "description": "the tests' profile: Table 1 on 2 packaged photos, four cheap methods, four-point curves",
        "images": "sample",
        "n_images": 2,
        "seed": 3407,
        "batch_size": 4,
        "insdel": {**QUICK_INSDEL, "step": 224 * 56},  # four points per curve
        "chapters": {"table01_insdel": {"models": ["inception_v3"], "methods": {
            "saliency": {}, "ig": {"steps": 4}, "smoothgrad": {"n_samples": 4}, "attexplore": {"epsilon": 48 / 255, "N": 2, "num_steps": 2}}}},
    },
}
# Profile fields that describe how a profile is filled, not how a chapter computes.
META = ("description", "chapters", "compute_stages", "compute_step", "store")


def chapters(profile: str) -> list[Chapter]:
    """The chapters with computations a profile runs, in book order (a profile may name a subset in ``chapters``)."""
    require(profile in PROFILES, f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    only = PROFILES[profile].get("chapters")
    return [c for c in CHAPTERS.values() if c.computes and (only is None or c.name in only)]


def is_store(profile: str) -> bool:
    """Whether the profile's pages render a store that ``attx compute`` fills (they compute nothing)."""
    require(profile in PROFILES, f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    return bool(PROFILES[profile].get("store"))


def run_options(profile: str, force: bool = False) -> dict[str, Any]:
    """How a book page runs its chapter: a store profile is rendered from what is stored, computing nothing
    (``partial``), unless ``force``; other profiles compute what is missing (``force`` recomputes everything)."""
    return {"force": force, "partial": is_store(profile) and not force}


def stored_only(profile: str) -> dict[str, bool]:
    """Run options that compute nothing: whatever images are stored (a store profile), else complete entries only."""
    return {"partial": True} if is_store(profile) else {"stored_only": True}


def settings(profile: str, chapter: str, **overrides: Any) -> dict[str, Any]:
    """The settings of one chapter under a profile: the profile-wide fields, the chapter's paper settings, the
    chapter's overrides for this profile (and the profile's own, for test profiles), then ``overrides``."""
    require(profile in PROFILES, f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    prof = PROFILES[profile]
    names = [c.name for c in chapters(profile)]
    require(chapter in names, f"unknown chapter {chapter!r}; known: {', '.join(names)}")
    spec = get(chapter)
    out = {k: copy.deepcopy(v) for k, v in prof.items() if k not in META}
    out["profile"] = profile
    out["chapter"] = chapter
    out.update(copy.deepcopy(dict(spec.settings)))
    out.update(copy.deepcopy(dict(spec.profiles.get(profile, {}))))
    out.update(copy.deepcopy(dict((prof.get("chapters") or {}).get(chapter, {}))))
    unknown = sorted(set(overrides) - set(out) - {"methods", "models", "n_images", "images", "seed", "insdel", "random_weights"})
    require(not unknown, f"unknown setting(s) {unknown} for chapter {chapter!r}; settings: {', '.join(sorted(out))}")
    out.update(overrides)
    return out
