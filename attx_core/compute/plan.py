"""What to compute: cells of the chapter registry (a chapter, one model, some sections and configurations, an
image limit) and what the store still lacks for each, found by walking the runners in plan mode: they name every
store entry they would read and the target image ids it lacks, computing and loading no images."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from ..chapters import PROFILES, chapters, get, settings
from ..experiments.resolve import image_ids
from ..robust import SCALES as ROBUST_SCALES
from ..store import StoreEntry
from .costs import cpu_hours, entry_cost

Planned = list[tuple[StoreEntry, list[str]]]


@dataclass(frozen=True)
class Cell:
    """One unit of ``attx compute``: a chapter restricted to one model (None: it has none), to some sections and
    configurations (None: all) and to the first ``limit`` images per model (None: the chapter's target)."""

    chapter: str
    model: str | None
    sections: tuple[str, ...] | None = None
    configs: frozenset[str] | None = None
    limit: int | None = None

    def __str__(self) -> str:
        parts = [self.chapter, *([self.model] if self.model else [])]
        if self.sections and any(self.sections):
            parts.append(f"[{', '.join(self.sections)}]")
        if self.configs is not None:
            parts.append(f"{{{', '.join(sorted(self.configs))}}}")
        if self.limit is not None:
            parts.append(f"<= {self.limit} images")
        return " ".join(parts)

    def settings(self, profile: str) -> dict[str, Any]:
        """The chapter's settings restricted to this cell."""
        cfg = settings(profile, self.chapter)
        if self.model is not None:
            cfg["models"] = [self.model]
        if self.limit is not None:
            cfg["n_images"] = self.limit if cfg.get("n_images") is None else min(self.limit, cfg["n_images"])
            cfg["n_images_per_model"] = {m: min(self.limit, n) for m, n in (cfg.get("n_images_per_model") or {}).items()}
        if self.configs is not None:
            for section in get(self.chapter).sections:
                if self.sections is None or section.name in self.sections:
                    cfg = section.restrict(cfg, self.configs)
        return cfg

    def frames(self, profile: str, **opts: Any) -> list[tuple[str, pd.DataFrame]]:
        """Run the cell's computations (computing what is missing unless ``opts`` say otherwise)."""
        return list(get(self.chapter).frames(self.settings(profile), self.sections, **opts))


def cells(profile: str, only: Sequence[str] | None = None) -> list[Cell]:
    """One cell per (chapter, model) of a profile, in priority order (a chapter's most urgent claim, else its
    own priority; book order within a priority); ``only`` keeps the cells of these chapters (``"chapter"``) or of
    one model of a chapter (``"chapter:model"``)."""
    def rank(chapter) -> int:
        return min([c.priority for c in chapter.claims if not c.own_model] or [chapter.priority])

    out = []
    for chapter in sorted(chapters(profile), key=rank):
        for model in settings(profile, chapter.name).get("models") or [None]:
            if only and chapter.name not in only and f"{chapter.name}:{model}" not in only:
                continue
            out.append(Cell(chapter.name, model))
    return out


def missing(profile: str, cell: Cell) -> Planned:
    """Every store entry the cell reads with the target ids it lacks (an empty list: complete), each entry once."""
    planned: Planned = []
    cell.frames(profile, plan=planned)
    seen: dict[Path, tuple[StoreEntry, list[str]]] = {}
    for entry, ids in planned:
        seen[entry.path] = (entry, ids)
    return list(seen.values())


def remaining(planned: Iterable[tuple[StoreEntry, list[str]]]) -> tuple[int, int, float]:
    """(missing image computations, store entries with some, their cost in passes), each entry counted once."""
    seen = {entry.path: (len(ids), len(ids) * entry_cost(entry)) for entry, ids in planned if ids}
    return sum(n for n, _ in seen.values()), len(seen), sum(c for _, c in seen.values())


def store_status(profile: str, names: Sequence[str] | None = None) -> pd.DataFrame:
    """What a profile's store holds, per chapter and model, counted from the store and the profile's target ids
    (the same with or without the image files): the images stored (fewest and most over the chapter's
    configurations; robustness: nets trained), the target, and the chapter's missing image computations with
    their estimated hours on one CPU thread (``names``: only these chapters)."""
    rows = []
    for chapter in chapters(profile):
        if names and chapter.name not in names:
            continue
        entries: dict[Path, tuple[StoreEntry, list[str]]] = {}
        per_model: list[tuple[str | None, int, int, int]] = []
        for cell in cells(profile, [chapter.name]):
            planned = missing(profile, cell)
            entries.update((e.path, (e, ids)) for e, ids in planned)
            if "robust_scale" in settings(profile, chapter.name):  # one record per trained net: count attacked images
                per_model.append((cell.model, *_attacked(profile, chapter.name, planned)))
                continue
            target = _target(profile, chapter.name, cell.model)
            stored = [target - len(ids) for _, ids in planned]
            per_model.append((cell.model, min(stored, default=0), max(stored, default=0), target))
        n, _, passes = remaining(entries.values())
        for i, (model, fewest, most, target) in enumerate(per_model):
            rows.append({"chapter": chapter.name, "model": model, "fewest": fewest, "most": most, "target": target,
                         "missing": n if i == 0 else None, "cpu_hours": cpu_hours(passes) if i == 0 else None})
    return pd.DataFrame(rows, columns=["chapter", "model", "fewest", "most", "target", "missing", "cpu_hours"]).astype({"missing": "Int64"})


def _target(profile: str, chapter: str, model: str | None) -> int:
    """How many images a chapter targets for one model (the ids are the first n of the image set)."""
    cfg = settings(profile, chapter)
    n = (cfg.get("n_images_per_model") or {}).get(model, cfg.get("n_images"))
    return len(image_ids(cfg["images"], n)[0])


def _attacked(profile: str, chapter: str, planned: Planned) -> tuple[int, int, int]:
    """(fewest, most, target) attacked images over the stored nets of the robustness study (0 while a net is missing)."""
    scale = ROBUST_SCALES[settings(profile, chapter)["robust_scale"]]
    counts = [int(entry.records[i].get("n_images") or 0) for entry, ids in planned for i in entry.records if i not in ids]
    lacking = any(ids for _, ids in planned)
    return (0 if lacking or not counts else min(counts)), max(counts, default=0), scale.n_attack or 0


def chapter_missing(profile: str, chapter: str) -> tuple[int, float]:
    """(missing image computations, estimated hours on one CPU thread) of one chapter; computes nothing."""
    entries = {e.path: (e, ids) for cell in cells(profile, [chapter]) for e, ids in missing(profile, cell)}
    n, _, passes = remaining(entries.values())
    return n, cpu_hours(passes)


def stages(profile: str) -> list[int | None]:
    """The image limits a fill grows every cell through (the profile's ``compute_stages``, then the target)."""
    return [*PROFILES[profile].get("compute_stages", []), None]


def limits(profile: str, cell: Cell, low: int, high: int | None, step: int | None) -> list[int | None]:
    """A cell's image limits from one stage (``low``) to the next (``high``; None: the target) in steps of ``step``
    images, so that every configuration of the cell grows on the same images and a fill stopped mid-stage leaves
    paired data (all configurations on the first k images)."""
    cfg = cell.settings(profile)
    per_model: Mapping[str, int] = cfg.get("n_images_per_model") or {}
    models = cfg.get("models") or []
    target = max([per_model.get(m, cfg.get("n_images") or 0) for m in models] or [cfg.get("n_images") or 0])
    top = target if high is None else min(high, target) if target else high
    if not step or not top:
        return [high]
    return [*range(low + step, top, step), top] if top > low else []
