"""The store's numbers as CSV: one long table per chapter (``<store>/<profile>/tables/<chapter>.csv``)."""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ..chapters import chapters, get, settings
from ..chapters.claims import claims_table
from ..metrics import mean_ci
from ..stats.confseq import BURN_IN as FIRST_LOOK
from ..store import ResultsStore
from .planner import open_claims

CSV_COLUMNS = ["chapter", "model", "method", "setting", "metric", "n", "mean", "ci_lo", "ci_hi"]


def _setting(section: str, parameter: str, setting: str, many_sections: bool) -> str:
    text = (f"{parameter}={setting}" if " " not in parameter else f"{parameter}: {setting}") if parameter else (setting or "default")
    return f"{section}: {text}" if many_sections and section else text


def _ci(values: Sequence[float]) -> tuple[float, float, float]:
    """Mean and bootstrap 95% interval; no interval (NaN) before the book's first look, as on every page."""
    if not len(values):
        return math.nan, math.nan, math.nan
    mean, lo, hi = mean_ci(list(values))
    return (mean, lo, hi) if len(values) >= FIRST_LOOK else (mean, math.nan, math.nan)


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


def ran_as_itself(chapter: str, frame: pd.DataFrame) -> bool:
    """False where a chapter's claim needs the paper's own model and a stand-in ran instead: its numbers would
    answer another question (Table 7 on a CNN), so no table files them under the chapter."""
    needs_own = any(c.own_model for c in get(chapter).claims)
    return not needs_own or all(k == v for k, v in frame.attrs.get("analogues", {}).items())


def write_tables(profile: str, root: Path | None = None) -> list[Path]:
    """Regenerate every ``<store>/<profile>/tables/<chapter>.csv`` from what is stored (computes nothing;
    seconds), one per chapter with computations, header only where nothing is stored, and ``claims.csv``. Returns
    the files."""
    folder = (root or ResultsStore(profile).folder) / "tables"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters(profile):
        frames = [(s, f) for s, f in chapter.frames(settings(profile, chapter.name), partial=True) if ran_as_itself(chapter.name, f)]
        table = table_rows(chapter.name, frames)
        path = folder / f"{chapter.name}.csv"
        tmp = path.with_name(f"{path.name}.{os.getpid()}.csv.tmp")  # per writer: two processes may write tables at once
        table.to_csv(tmp, index=False, float_format="%.6g")
        tmp.replace(path)
        written.append(path)
    written.append(write_claims(profile, folder))
    return written


def write_claims(profile: str, folder: Path) -> Path:
    """``claims.csv``: every comparison of every registered claim decided on the store (chapter, model, claim, metric,
    the two arms, n, mean, the 95% confidence sequence's interval at n, the paper's value, the verdict, images needed),
    and per claim and model the CPU-hours (one thread) its open comparisons are projected to need (``claim_cpu_hours``:
    0 once decided, up to its first look at 16 images while nothing is paired; the same on each of the claim's rows) and
    the part of them its open primary comparisons, which decide the verdict, need (``verdict_cpu_hours``)."""
    path = folder / "claims.csv"
    tmp = path.with_name(f"{path.name}.{os.getpid()}.csv.tmp")
    table = claims_table(profile, fresh=True)
    hours = open_claims(profile)[["claim", "model", "cpu_hours", "verdict_cpu_hours"]].rename(columns={"cpu_hours": "claim_cpu_hours"})
    table.merge(hours, on=["claim", "model"], how="left").to_csv(tmp, index=False, float_format="%.6g")
    tmp.replace(path)
    return path
