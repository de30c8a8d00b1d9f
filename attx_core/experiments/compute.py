"""Fill a profile's results store cell by cell (``attx compute``) and write its tables as CSV.

A *cell* is (chapter, model, section): the runner calls a chapter's notebook makes, with the same
arguments (hence the same store entries), restricted to one model and optionally one section.
The profile's ``compute_order`` gives the priority; chapters it leaves out come last.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import pandas as pd

from ..cache import CacheEntry, DeadlineReached, NotComputedError, ResultsCache, compute_policy
from ..metrics import mean_ci, num_points
from .profiles import PROFILES, settings
from .resolve import IMAGE_SIZE
from .runners import (
    ablation,
    ablation_section,
    attack_explorers,
    explorer_grid,
    fps_table,
    heatmap_grid,
    infd_table,
    insdel_table,
    passes_per_image,
    published_vs_corrected,
    robustness_study,
    sanity_check,
    seed_stability,
)

CSV_COLUMNS = ["chapter", "model", "method", "setting", "metric", "n", "mean", "ci_lo", "ci_hi"]
# Relative cost of a pass on the stand-ins (budget.py: lite1/lite2 cost ~1.3x/1.7x lite0).
MODEL_COST = {"efficientnet_lite1": 1.3, "efficientnet_lite2": 1.7}
FORWARD_COST = 0.75  # a forward pass relative to forward+backward (0.09 s / 0.12 s, budget.py)
# Cost units (lite0 forward+backward passes) per second of `attx compute` on one CPU thread, as its progress bar
# measured on Table 1 (2026-11-23, 15-30 on a shared 2-core machine): pages turn what is missing into hours with it.
CPU_PASSES_PER_SECOND = 20.0

Frames = Iterator[tuple[str, pd.DataFrame]]
Wanted = Callable[[str], bool]


def _sections(cfg: dict[str, Any], opts: dict[str, Any], wanted: Wanted) -> Frames:
    for section in cfg["sections"]:
        if wanted(section):
            yield section, ablation(**ablation_section(cfg, section), **opts)


def _plusplus(cfg: dict[str, Any], opts: dict[str, Any], wanted: Wanted) -> Frames:
    run = {k: v for k, v in cfg.items() if k not in ("attacks", "sensitivity", "seeds")}
    if wanted("explorers"):
        yield "explorers", attack_explorers(**run, attacks=cfg["attacks"], **opts)
    for parameter, spec in cfg["sensitivity"].items():
        if wanted(parameter):
            base = {**cfg["base"], "attack": spec.get("attack", "ssa")}
            yield parameter, ablation(**{**run, "base": base, "method": "attexplore"}, parameter=parameter, values=spec["values"], **opts)
    if wanted("seeds"):
        yield "seeds", seed_stability(**run, method="attexplore", params=cfg["base"], seeds=cfg["seeds"], **opts)


def _one(fn: Callable[..., pd.DataFrame]) -> Callable[[dict[str, Any], dict[str, Any], Wanted], Frames]:
    def frames(cfg: dict[str, Any], opts: dict[str, Any], wanted: Wanted) -> Frames:
        if wanted(""):
            yield "", fn(**cfg, **opts)

    return frames


# Chapter -> its computations, as its notebook makes them (notebooks/<chapter>.py).
CHAPTERS: dict[str, Callable[[dict[str, Any], dict[str, Any], Wanted], Frames]] = {
    "table01_insdel": _one(insdel_table),
    "table02_fps": _one(fps_table),
    "ablation_n": _sections,
    "ablation_num_steps": _sections,
    "ablation_epsilon": _sections,
    "table06_attacks": _one(attack_explorers),
    "table07_vit": _one(insdel_table),
    "table08_infd": _one(infd_table),
    "figure04_heatmaps": _one(heatmap_grid),
    "explorer": _one(explorer_grid),
    "attexplorepp": _plusplus,
    "published_vs_corrected": _one(published_vs_corrected),
    "sanity_check": _one(sanity_check),
    "robustness": _one(robustness_study),
}


def section_names(cfg: dict[str, Any]) -> list[str]:
    """The sections :func:`chapter_frames` yields for a chapter ('' = the whole chapter)."""
    if "sections" in cfg:
        return list(cfg["sections"])
    if cfg["chapter"] == "attexplorepp":
        return ["explorers", *cfg["sensitivity"], "seeds"]
    return [""]


def chapter_frames(cfg: dict[str, Any], sections: Sequence[str] | None = None, **opts: Any) -> Frames:
    """(section, frame) of a chapter's computations (``cfg`` from :func:`settings`); ``sections`` limits
    them; ``opts`` are run options (``force``, ``cached_only``, ``partial``). Lazy: each runs when reached."""
    chapter = cfg["chapter"]
    if chapter not in CHAPTERS:
        raise ValueError(f"no computation registered for chapter {chapter!r}")
    yield from CHAPTERS[chapter](cfg, opts, lambda section: sections is None or section in sections)


@dataclass(frozen=True)
class Cell:
    """One unit of ``attx compute``: a chapter, restricted to one model (None: it has none) and sections."""

    chapter: str
    model: str | None
    sections: tuple[str, ...] | None = None

    def __str__(self) -> str:
        return self.chapter + (f" {self.model}" if self.model else "") + (f" [{', '.join(self.sections)}]" if self.sections else "")

    def settings(self, profile: str, limit: int | None = None) -> dict[str, Any]:
        """The cell's chapter settings; ``limit`` caps its image counts (a stage of the fill)."""
        cfg = settings(profile, self.chapter)
        if self.model is not None:
            cfg["models"] = [self.model]
        if limit is not None:
            cfg["n_images"] = limit if cfg.get("n_images") is None else min(limit, cfg["n_images"])
            cfg["n_images_per_model"] = {m: min(limit, n) for m, n in (cfg.get("n_images_per_model") or {}).items()}
        return cfg


def cells(profile: str, only: Sequence[str] | None = None) -> list[Cell]:
    """The cells of a profile in priority order (``compute_order``, then the chapters it leaves out);
    ``only`` keeps the cells of these chapters (``"chapter"``) or of one model of a chapter
    (``"chapter:model"``). A cell repeated later computes only what is left."""
    prof = PROFILES[profile]
    chapters = list(prof["chapters"])
    order = [(c, m, s) for c, m, s in prof.get("compute_order", [])] + [(c, None, None) for c in chapters]
    out: list[Cell] = []
    for chapter, model, section in order:
        if only and chapter not in only and not any(o.startswith(f"{chapter}:") for o in only):
            continue
        cfg = settings(profile, chapter)
        models = [model] if model else (cfg.get("models") or [None])
        for m in models:
            if only and chapter not in only and f"{chapter}:{m}" not in only:
                continue
            cell = Cell(chapter, m, None if section is None else (section,))
            if cell not in out:
                out.append(cell)
    return out


def run_cell(profile: str, cell: Cell, limit: int | None = None, **opts: Any) -> list[tuple[str, pd.DataFrame]]:
    """Run one cell's computations (computing what is missing unless ``opts`` say otherwise) on at most
    ``limit`` images per model."""
    return list(chapter_frames(cell.settings(profile, limit), cell.sections, **opts))


def _passes(method: str, params: Mapping[str, Any]) -> float:
    """A method's passes per image, 1 where its formula is unknown."""
    passes = passes_per_image(method, params)
    return passes if math.isfinite(passes) else 1.0


def entry_cost(entry: CacheEntry) -> float:
    """Estimated cost of one image of an entry, in forward+backward passes of EfficientNet-Lite0
    (the method's passes plus the metric's forwards, scaled by the model's size)."""
    key = entry.key
    if "methods" in key:  # the sanity check: every method at every stage (the original model included)
        passes = sum(_passes(m, p) for m, p in key["methods"].items()) * (len(key.get("layers", [])) + 1)
    else:
        passes = _passes(key["method"], key.get("params", {})) if "method" in key else 1.0
    if isinstance(key.get("insdel"), dict):
        passes += 2 * num_points(IMAGE_SIZE * IMAGE_SIZE, int(key["insdel"].get("step", IMAGE_SIZE))) * FORWARD_COST
    if "n_perturbations" in key:
        passes += (int(key["n_perturbations"]) + 1) * FORWARD_COST
    return passes * MODEL_COST.get(str(key.get("model")), 1.0)


def plan(profile: str, todo: Sequence[Cell]) -> dict[Cell, list[tuple[CacheEntry, int]]]:
    """What each cell still has to compute: (entry, missing images) per cell; computes nothing."""
    out = {}
    for cell in todo:
        with compute_policy(plan=[]) as policy:
            try:
                run_cell(profile, cell)
            except Exception:  # noqa: BLE001 - NotComputedError, or a failure the compute run will report
                pass
            out[cell] = list(policy.plan or [])
    return out


def missing_hours(profile: str, chapter: str) -> tuple[int, float]:
    """(missing images, estimated hours on one CPU thread) of a chapter's store; computes nothing."""
    missing, _, passes = remaining(plan(profile, cells(profile, [chapter])))
    return missing, cpu_hours(passes)


def cpu_hours(passes: float) -> float:
    """Estimated hours of ``attx compute`` on one CPU thread for ``passes`` cost units."""
    return passes / CPU_PASSES_PER_SECOND / 3600


def remaining(planned: Mapping[Cell, list[tuple[CacheEntry, int]]]) -> tuple[int, int, float]:
    """(missing images, store entries with missing images, estimated cost in passes) of a plan,
    each entry counted once (cells may share entries)."""
    seen: dict[Path, tuple[int, float]] = {}
    for entries in planned.values():
        for entry, n in entries:
            seen[entry.path] = (n, n * entry_cost(entry))
    return sum(n for n, _ in seen.values()), len(seen), sum(c for _, c in seen.values())


def store_status(profile: str, chapters: Sequence[str] | None = None) -> pd.DataFrame:
    """What a profile's store holds, per chapter and model (computes nothing): the images stored (fewest and
    most over the chapter's methods and settings; robustness: attacked images per net), the target, and the
    chapter's missing image computations with their estimated hours on one CPU thread (``chapters``: only these)."""
    from ..robust import PROFILES as ROBUST_SCALES

    rows = []
    for chapter in chapters or PROFILES[profile]["chapters"]:
        cfg = settings(profile, chapter)
        planned = plan(profile, cells(profile, [chapter]))
        missing, _, passes = remaining(planned)
        short: dict[str | None, int] = {}  # model -> the most images one of its entries lacks
        for cell, entries in planned.items():
            short[cell.model] = max([short.get(cell.model, 0), *(n for _, n in entries)])
        most: dict[str | None, int] = {}
        for _, df in chapter_frames(cfg, partial=True):
            if "image" in df and "model" in df and not df.empty:
                for model, n in df.groupby(["model", *[c for c in ("method", "attack") if c in df]]).image.nunique().groupby(level=0).max().items():
                    most[model] = max(most.get(model, 0), int(n))
            elif "n_images" in df and not df.empty:  # robustness: one row per trained net
                most[None] = int(df.n_images.max())
        models = cfg.get("models") or [None]
        per_model = cfg.get("n_images_per_model") or {}
        for i, model in enumerate(models):
            target = per_model.get(model, cfg.get("n_images"))
            if "robust_profile" in cfg:
                target = ROBUST_SCALES[cfg["robust_profile"]].n_attack
            fewest = max(0, target - short.get(model, 0)) if target is not None else most.get(model, 0)
            rows.append({"chapter": chapter, "model": model, "fewest": fewest, "most": max(fewest, most.get(model, 0)),
                         "target": target, "missing": missing if i == 0 else None,
                         "cpu_hours": cpu_hours(passes) if i == 0 else None})
    return pd.DataFrame(rows).astype({"missing": "Int64"})


# --- tables -------------------------------------------------------------------------------------------


def _setting(section: str, parameter: str, setting: str, many_sections: bool) -> str:
    text = (f"{parameter}={setting}" if " " not in parameter else f"{parameter}: {setting}") if parameter else (setting or "default")
    return f"{section}: {text}" if many_sections and section else text


def _ci(values: Sequence[float]) -> tuple[float, float, float]:
    return mean_ci(list(values)) if len(values) else (math.nan, math.nan, math.nan)


def table_rows(chapter: str, frames: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The long CSV rows (:data:`CSV_COLUMNS`) of a chapter's frames: mean and bootstrap 95% CI over
    images per (model, method, setting, metric); n = the images stored."""
    rows = []
    many = len(frames) > 1
    for section, df in frames:
        if df.empty:
            continue
        if "value" in df:
            keys = ["ours_model", "method", "parameter", "setting", "metric"]
            for (model, method, parameter, setting, metric), g in df.groupby(keys, sort=False):
                mean, lo, hi = _ci(g["value"].to_numpy(dtype=float))
                rows.append([chapter, model, method, _setting(section, parameter, setting, many), metric, len(g), mean, lo, hi])
        elif "spearman" in df and "stage" in df:  # the sanity check
            for (model, method, stage, layer), g in df.groupby(["ours_model", "method", "stage", "layer"], sort=False):
                defined = g["spearman"].dropna().to_numpy(dtype=float)  # NaN: a constant randomised map
                mean, lo, hi = _ci(defined)
                rows.append([chapter, model, method, f"stage {stage}: {layer}", "spearman", len(defined), mean, lo, hi])
        elif "attack" in df and "insertion_curve" in df:  # the explorer grid
            keys = ["ours_model", "attack", "epsilon", "samples", "num_steps"]
            for (model, attack, eps, samples, steps), g in df.groupby(keys, sort=False, dropna=False):
                setting = f"epsilon={eps}/255 samples={'-' if pd.isna(samples) else int(samples)} num_steps={steps}"
                for metric in ("insertion", "deletion"):
                    mean, lo, hi = _ci(g[metric].to_numpy(dtype=float))
                    rows.append([chapter, model, f"attexplore[{attack}]", setting, metric, len(g), mean, lo, hi])
        elif "objective" in df:  # robustness: one trained net per (dataset, objective); paired differences
            rows += _robustness_rows(chapter, df)
    return pd.DataFrame(rows, columns=CSV_COLUMNS)


def _robustness_rows(chapter: str, df: pd.DataFrame) -> list[list[Any]]:
    """NA and AA (n = test images; no interval: one net), top-k / Kendall / Spearman with their intervals over
    the attacked images, and each objective minus natural and minus PGD training (setting "minus <objective>",
    paired over the images both nets attacked)."""
    from ..robust.evaluate import paired_robustness

    rows = []
    for _, r in df.iterrows():
        model = f"robust net ({r['dataset']})"
        for metric in ("NA", "AA"):
            if pd.notna(r.get(metric)):
                rows.append([chapter, model, r["objective"], "default", metric, r.get("n_test", math.nan), float(r[metric]), math.nan, math.nan])
        for metric in ("topk", "kendall", "spearman"):
            if pd.notna(r.get(metric)):
                rows.append([chapter, model, r["objective"], "default", metric, int(r.get("n_images", 0) or 0), float(r[metric]),
                             r.get(f"{metric}_lo", math.nan), r.get(f"{metric}_hi", math.nan)])
    for r in paired_robustness(df).itertuples():
        rows.append([chapter, f"robust net ({r.dataset})", r.objective, f"minus {r.reference}", r.metric, r.n, r.difference, r.ci_lo, r.ci_hi])
    return rows


def write_tables(profile: str, root: Path | None = None) -> list[Path]:
    """Regenerate every ``<store>/<profile>/tables/<chapter>.csv`` from what is stored (computes nothing;
    seconds). All of them, whatever was computed: chapters share store entries (Table 7 reads Table 1's).
    Chapters without numbers (Figure 4's maps, empty chapters) get no CSV. Returns the files written."""
    folder = (root or ResultsCache(profile).folder) / "tables"
    written = []
    for chapter in PROFILES[profile]["chapters"]:
        frames = list(chapter_frames(settings(profile, chapter), partial=True))
        table = table_rows(chapter, frames)
        path = folder / f"{chapter}.csv"
        if table.empty:
            continue
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.csv.tmp")  # per writer: two processes may write tables at once
        table.to_csv(tmp, index=False, float_format="%.6g")
        tmp.replace(path)
        written.append(path)
    return written


def _limits(profile: str, cell: Cell, low: int, high: int | None, step: int | None) -> list[int | None]:
    """A cell's image limits from one stage (``low``) to the next (``high``; None: the target) in steps of
    ``step`` images, so that every method of the cell grows on the same images and a fill stopped mid-stage
    leaves paired data (all methods on the first k images), not some methods far ahead of the others."""
    cfg = cell.settings(profile)
    per_model = cfg.get("n_images_per_model") or {}
    models = cfg.get("models") or []
    target = max([per_model.get(m, cfg.get("n_images") or 0) for m in models] or [cfg.get("n_images") or 0])
    top = target if high is None else min(high, target) if target else high
    if not step or not top:
        return [high]
    return [*range(low + step, top, step), top] if top > low else []


def run(profile: str, only: Sequence[str] | None = None, deadline: float | None = None,
        on_batch: Callable[[CacheEntry, list[str], float], None] | None = None,
        on_cell: Callable[[Cell], None] | None = None, log: Callable[[str], None] = print,
        poll_seconds: float = 5.0) -> list[str]:
    """Compute every cell of ``profile`` in priority order until done or ``deadline`` (``time.time()``);
    images another process is computing are skipped and revisited until they are stored. Returns the
    failures (one line per cell whose computation raised); :class:`attx_core.cache.DeadlineReached`
    propagates."""
    todo = cells(profile, only)
    # Stages: every cell first on its first few images, then on more, so that a pilot (paired data of all
    # methods on the same images) exists early and every table grows evenly; the last stage is the target.
    stages = [*PROFILES[profile].get("compute_stages", []), None]
    step = PROFILES[profile].get("compute_step")
    failed: dict[Cell, str] = {}
    while True:
        with compute_policy(deadline=deadline, wait=False, on_batch=on_batch) as policy:
            for limit, cell in ((limit, cell) for i, stage in enumerate(stages) for cell in todo
                                for limit in _limits(profile, cell, stages[i - 1] if i else 0, stage, step)):
                if cell in failed:
                    continue
                if on_cell is not None:
                    on_cell(cell)
                try:
                    run_cell(profile, cell, limit)
                except NotComputedError:  # EntryBusy out of a runner that does not note it
                    pass
                except DeadlineReached:
                    raise
                except Exception as err:  # noqa: BLE001 - one broken method must not stop the fill
                    failed[cell] = f"{cell}: {type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
                    log(f"attx compute: FAILED {failed[cell]}")
            busy = policy.busy
        if not busy:
            return list(failed.values())
        if deadline is not None and time.time() >= deadline:
            return list(failed.values())
        time.sleep(poll_seconds)  # another process holds the last images of some entries: let it store them


# --- the command ----------------------------------------------------------------------------------------


def _per_chapter(planned: Mapping[Cell, list[tuple[CacheEntry, int]]]) -> dict[str, int]:
    """Missing images per chapter (each entry counted once per chapter)."""
    seen: dict[str, dict[Path, int]] = {}
    for cell, entries in planned.items():
        for entry, n in entries:
            seen.setdefault(cell.chapter, {})[entry.path] = n
    return {chapter: sum(v.values()) for chapter, v in seen.items() if sum(v.values())}


def compute_command(profile: str, hours: float | None = None, threads: int | None = None, device: str | None = None,
                    only: Sequence[str] | None = None, tables_only: bool = False, grace_seconds: float = 120.0) -> int:
    """``attx compute``: fill the store of ``profile`` in priority order with a progress bar (stderr),
    stop cleanly when ``hours`` are up (no new batch after the deadline; a batch still running
    ``grace_seconds`` later is abandoned), say what remains, then regenerate the tables' CSV files.
    Arguments are assumed valid (the CLI checks them). Returns the exit code: 0, 1 when a cell
    failed, 130 when interrupted."""
    import signal
    import sys

    import torch
    from tqdm import tqdm

    def say(text: str) -> None:
        print(f"attx compute: {text}", file=sys.stderr, flush=True)

    if threads:
        torch.set_num_threads(threads)
    if device:
        os.environ["ATTX_DEVICE"] = device
    code = 0
    if not tables_only:
        start = time.time()
        deadline = start + hours * 3600 if hours else None
        removed = ResultsCache(profile).clean_tmp()
        if removed:
            say(f"removed {len(removed)} stale temp file(s) of killed writers")
        todo = cells(profile, only)
        n_images, n_entries, cost = remaining(plan(profile, todo))
        say(f"profile {profile}: {n_images} images to compute in {n_entries} store entries ({len(todo)} cells, "
            f"~{cost:,.0f} lite0 passes)" + (f"; stopping after {hours:g} h" if hours else ""))
        bar = tqdm(total=cost, unit="pass", unit_scale=True, file=sys.stderr, disable=n_images == 0, smoothing=0.05,
                   dynamic_ncols=True)

        def on_batch(entry: CacheEntry, batch: list[str], seconds: float) -> None:
            bar.update(len(batch) * entry_cost(entry))
            bar.set_postfix_str(f"{entry.key.get('model', '')} {entry.key.get('method', '')}: {seconds / len(batch):.1f} s/image")

        def stop(signum: int, _frame: Any) -> None:
            raise DeadlineReached("time is up: the running batch was abandoned" if signum == signal.SIGALRM else "terminated")

        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGALRM, signal.SIGTERM)}
        stopped = None
        try:
            signal.signal(signal.SIGTERM, stop)
            if deadline is not None:
                signal.signal(signal.SIGALRM, stop)
                signal.setitimer(signal.ITIMER_REAL, max(deadline - time.time(), 0.0) + grace_seconds)
            failures = run(profile, only, deadline, on_batch=on_batch, on_cell=lambda c: bar.set_description(str(c)), log=bar.write)
            code = 1 if failures else 0
        except DeadlineReached as err:
            stopped = str(err).split(": ", 1)[-1]
        except KeyboardInterrupt:
            stopped, code = "interrupted", 130
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            done_cost, elapsed = bar.n, time.time() - start
            bar.close()
        after = plan(profile, todo)
        left, left_entries, left_cost = remaining(after)
        if left == 0:
            say(f"done: every cell of profile {profile}{' (' + ','.join(only) + ')' if only else ''} is stored")
        else:
            eta = f", ~{left_cost / (done_cost / elapsed) / 3600:.1f} h at this run's rate" if done_cost > 0 else ""
            per = ", ".join(f"{c} {n}" for c, n in _per_chapter(after).items())
            say(f"{'stopped (' + stopped + ')' if stopped else 'finished'}; remaining: {left} images in {left_entries} "
                f"store entries{eta} ({per}); rerun the same command to resume")
    written = write_tables(profile)
    say(f"{len(written)} table(s) written to {ResultsCache(profile).folder / 'tables'}")
    return code
