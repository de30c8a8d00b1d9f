"""Paper vs ours: read the transcribed tables, aggregate our per-image values with a bootstrap CI,
and say where every number came from."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Mapping, Sequence

import pandas as pd

from ..metrics import mean_ci
from ..stats.confseq import BURN_IN as FIRST_LOOK  # no interval, no bold best and no verdict before it
from ..stats.paired import LOWER_IS_BETTER
from ..store import REPO_ROOT
from ..validate import require

PAPER_DIR = REPO_ROOT / "data" / "paper"
KEYS = ["model", "method", "parameter", "setting", "metric"]


@lru_cache(maxsize=None)
def captions() -> dict[str, Any]:
    """Captions and notes of the transcribed tables, by file stem."""
    return json.loads((PAPER_DIR / "captions.json").read_text())


def paper_table(name: str) -> pd.DataFrame:
    """One transcribed table of seed 004 (e.g. ``table01_insdel``) as a tidy DataFrame."""
    path = PAPER_DIR / f"{name}.csv"
    require(path.is_file(), f"no transcribed paper table {name!r} in {PAPER_DIR}")
    df = pd.read_csv(path, dtype={"parameter": str, "setting": str, "model": str}, keep_default_na=False)
    df["value"] = df["value"].astype(float)
    return df


def compare(ours: pd.DataFrame, paper: str | pd.DataFrame, models: Sequence[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """One row per paper cell: ``paper | ours | delta | 95% CI`` (bootstrap over images) and ``n`` images.

    ``ours`` is a long per-image frame (columns model, method, parameter, setting, metric, image, value).
    Paper cells of models we did not run are left out; cells we could not compute keep ``ours`` NaN
    and say why in ``status``.
    """
    table = paper_table(paper) if isinstance(paper, str) else paper
    models = list(models if models is not None else ours.attrs.get("models", ours["model"].unique()))
    if table["model"].eq("").all():  # Table 2 names no model: it applies to whichever we ran
        table = pd.concat([table.assign(model=m) for m in models], ignore_index=True)
    table = table[table["model"].isin(models)]
    rows = []
    grouped = {k: g["value"].to_numpy() for k, g in ours.groupby(KEYS)} if len(ours) else {}
    for _, cell in table.iterrows():
        key = tuple(cell[k] for k in KEYS)
        values = grouped.get(key)
        row = {k: cell[k] for k in KEYS}
        row["paper_label"] = cell.get("paper_label", "")
        if values is None or len(values) == 0:
            row.update(paper=cell["value"], ours=float("nan"), delta=float("nan"), ci_lo=float("nan"), ci_hi=float("nan"), n=0,
                       status="not computed yet")
        else:
            mean, lo, hi = mean_ci(values.astype(float), alpha=alpha)
            row.update(paper=cell["value"], ours=mean, delta=mean - cell["value"], ci_lo=lo, ci_hi=hi, n=len(values),
                       status="paper value inside CI" if lo <= cell["value"] <= hi else "differs")
        rows.append(row)
    out = pd.DataFrame(rows, columns=[*KEYS, "paper_label", "paper", "ours", "delta", "ci_lo", "ci_hi", "n", "status"])
    out["95% CI"] = [f"[{lo:.4g}, {hi:.4g}]" if n else "" for lo, hi, n in zip(out.ci_lo, out.ci_hi, out.n)]
    out.attrs.update(ours.attrs)
    if isinstance(paper, str):
        out.attrs["paper_table"] = paper
    return out


def display_table(cmp: pd.DataFrame, index: Sequence[str] = ("model", "paper_label", "metric")) -> pd.DataFrame:
    """The comparison as the book shows it: paper | ours | delta | 95% CI | n | status."""
    cols = [c for c in index if c in cmp.columns and cmp[c].astype(str).ne("").any()]
    return cmp.set_index(cols)[["paper", "ours", "delta", "95% CI", "n", "status"]].round(4)


OUR_MODEL_NAMES = {"efficientnet_lite0": "EfficientNet-Lite0", "efficientnet_lite1": "EfficientNet-Lite1",
                   "efficientnet_lite2": "EfficientNet-Lite2"}
METRIC_LABELS = {"insertion": "INS ↑", "deletion": "DEL ↓", "infd": "INFD ↓", "fps": "FPS ↑"}
PAPER_MODEL_NAMES = {"inception_v3": "Inception-v3", "resnet50": "ResNet-50", "vgg16": "VGG-16", "vit_b_16": "ViT-B/16",
                     "maxvit_t": "MaxViT-T"}
# Configurations the paper's tables do not name (AttEXplore++'s extra explorers), in the paper's style.
EXTRA_LABELS = {"fgsm": "AttEXplore-FGSM", "ssa": "AttEXplore", "mig": "AttEXplore-MIG", "gra": "AttEXplore-GRA", "none": "AttEXplore-NoAttack"}


@lru_cache(maxsize=None)
def labels(table: str | None, by: str = "method") -> dict[str, str]:
    """The paper's label of each configuration a transcribed table names (``by``: method, or setting for the attack
    explorers), e.g. ``{"agi": "AGI", "saliency": "SaliencyMap"}``; an ablation's rows, one method under several
    settings, by their setting (``{"10": "N = 10", ...}``); ``{}`` without a table."""
    if table is None:
        return {}
    paper = paper_table(table)
    named = {str(k): str(v) for k, v in zip(paper[by], paper.paper_label)}
    if by == "setting" and len(set(named.values())) < len(named):
        return {str(s): f"{p} = {s}" for s, p in zip(paper.setting, paper.parameter)}
    return named


def model_label(requested: str, ours: str, paper_name: str) -> str:
    """A model named as what ran: ``"EfficientNet-Lite0 (stand-in for Inception-v3)"``, or the paper's name."""
    if ours == requested:
        return paper_name
    return f"{OUR_MODEL_NAMES.get(ours, ours)} (stand-in for {paper_name})"


def paper_layout(cmp: pd.DataFrame, row: str = "paper_label") -> "pd.io.formats.style.Styler":
    """The comparison in the paper's own layout: one row per configuration (labelled as the paper labels it), per
    model and metric the paper's value and ours with its 95% CI, then n per model; the best value of each column in
    bold (paper and ours separately; higher is better except deletion and INFD). Below :data:`FIRST_LOOK` images ours
    shows neither an interval nor a bold best. Models are labelled as what ran (the paper's name where none did)."""
    paper = paper_table(cmp.attrs["paper_table"]) if "paper_table" in cmp.attrs else None
    names = dict(zip(paper.model, paper.paper_model)) if paper is not None and "paper_model" in paper else {}
    analogues = cmp.attrs.get("analogues", {})
    if row == "setting" and "paper_label" in cmp and cmp.paper_label.astype(str).ne("").all() and cmp.paper_label.nunique() == cmp.setting.nunique():
        row = "paper_label"  # the explorers' rows: the paper's names (AttEXplore-NoAttack ...), not our codes
    order = list(dict.fromkeys(cmp[row]))
    table: dict[tuple[str, str, str], list[Any]] = {}
    best: dict[tuple[str, str, str], Any] = {}
    for model in dict.fromkeys(cmp.model):
        part = cmp[cmp.model == model]
        ran = part.n.gt(0).any()
        label = model_label(model, analogues.get(model, model), names.get(model, model)) if ran else names.get(model, model)
        for metric in dict.fromkeys(part.metric):
            cells = part[part.metric == metric].set_index(row).reindex(order)
            head = METRIC_LABELS.get(metric, metric)
            pick = min if metric in LOWER_IS_BETTER else max
            table[(label, head, "paper")] = [f"{v:.4f}" if v == v else "" for v in cells.paper]
            table[(label, head, "ours (95% CI)")] = [
                (f'{m:.3f}<br><span class="attx-ci">[{lo:.3f}, {hi:.3f}]</span>' if n >= FIRST_LOOK else f"{m:.3f}") if n else "–"
                for m, lo, hi, n in zip(cells.ours, cells.ci_lo, cells.ci_hi, cells.n)]
            for source, values in (("paper", cells.paper), ("ours (95% CI)", cells.ours.where(cells.n >= FIRST_LOOK))):
                present = values.dropna()
                best[(label, head, source)] = pick(present.index, key=lambda k: present[k]) if len(present) else None
        counts = part.groupby(row, sort=False).n.max().reindex(order)
        table[(label, "", "n")] = ["" if v != v else int(v) for v in counts]
    frame = pd.DataFrame(table, index=pd.Index(order, name=""))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)

    def bold(column: pd.Series) -> list[str]:
        winner = best.get(column.name)
        return ["font-weight: bold" if winner is not None and idx == winner else "" for idx in column.index]

    return (frame.style.apply(bold, axis=0).set_table_attributes('class="attx-paper-layout"')
            .set_table_styles([{"selector": "td, th", "props": "font-size: 0.8em; padding: 1px 4px; text-align: right"},
                               {"selector": ".attx-ci", "props": "font-size: 0.85em; color: #555; white-space: nowrap"},
                               {"selector": "th.col_heading", "props": "text-align: center"}]))


def provenance_line(df_or_record: pd.DataFrame | Mapping[str, Any]) -> str:
    """One line: profile, model and weights, image set and count, seed, commit, device, date."""
    rec = df_or_record.attrs.get("provenance", {}) if isinstance(df_or_record, pd.DataFrame) else dict(df_or_record)
    if not rec:
        return "provenance: nothing computed (no result available yet)"
    analogues = df_or_record.attrs.get("analogues", {}) if isinstance(df_or_record, pd.DataFrame) else {}
    models = ", ".join(f"{k} -> {v}" if k != v else k for k, v in analogues.items()) or rec.get("model", "?")
    return (f"Provenance: profile {rec.get('profile')}; model {models} (weights {rec.get('weights')}); "
            f"images {rec.get('images')} (n={rec.get('n_images')}); seed {rec.get('seed')}; commit {rec.get('commit')}; "
            f"device {rec.get('device')}; torch {rec.get('torch')}; computed {rec.get('date')}")


def notes_text(df: pd.DataFrame) -> str:
    """The run's notes (model substitutions, dropped parameters, unavailable methods), one per line."""
    return "\n".join(f"NOTE: {n}" for n in df.attrs.get("notes", [])) or "NOTE: none"

