"""The authors' ledger: AttEXplore's Table 1 beside the same group's MFABA README (LMBTough/MFABA) on the
baselines both report, and ours; how far the authors' own two tables disagree is part of what a reader weighs."""
from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML

from ..stats.confseq import BURN_IN
from .compare import METRIC_LABELS, OUR_MODEL_NAMES, PAPER_MODEL_NAMES, captions, paper_table

README = "mfaba_readme"
TABLE1 = "table01_insdel"
SHARED = ("saliency", "ig", "big", "agi")  # the baselines both tables report (README: SM, IG, BIG, AGI)
METRICS = ("insertion", "deletion")
COLUMNS = ["model", "metric", "method", "label", "attexplore", "mfaba", "difference", "ours", "ci_lo", "ci_hi", "n"]


def ledger(cmp: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model, metric and shared baseline: AttEXplore's Table 1, the MFABA README, their difference (README - Table 1)
    and, from ``cmp`` (:func:`~.compare.compare` on Table 1), our mean with its 95% interval and n (n = 0: not computed)."""
    keys = ["model", "method", "metric"]
    table1 = paper_table(TABLE1).query("parameter == '' and setting == ''")
    readme = paper_table(README).query("parameter == '' and setting == ''")
    both = table1[keys + ["paper_label", "value"]].merge(readme[keys + ["paper_label", "value"]], on=keys, suffixes=("_t1", "_readme"))
    both = both[both.method.isin(SHARED) & both.metric.isin(METRICS)]
    out = pd.DataFrame({
        "model": both.model, "metric": both.metric, "method": both.method,
        "label": [a if a == b else f"{a} (README: {b})" for a, b in zip(both.paper_label_t1, both.paper_label_readme)],
        "attexplore": both.value_t1, "mfaba": both.value_readme, "difference": both.value_readme - both.value_t1})
    ours = (cmp.query("parameter == '' and setting == ''")[keys + ["ours", "ci_lo", "ci_hi", "n"]] if cmp is not None and len(cmp)
            else pd.DataFrame(columns=keys + ["ours", "ci_lo", "ci_hi", "n"]))
    out = out.merge(ours, on=keys, how="left")
    out["n"] = out["n"].fillna(0).astype(int)
    order = {"model": list(PAPER_MODEL_NAMES), "metric": list(METRICS), "method": list(SHARED)}
    out = out.sort_values(list(order), key=lambda col: col.map({v: i for i, v in enumerate(order[col.name])}))
    return out[COLUMNS].reset_index(drop=True)


def largest_disagreement(table: pd.DataFrame) -> str:
    """One sentence: the cell where the authors' two tables differ most, and how often they rank the shared baselines alike."""
    row = table.loc[table.difference.abs().idxmax()]
    same = sum(list(g.sort_values("attexplore").method) == list(g.sort_values("mfaba").method) for _, g in table.groupby(["model", "metric"]))
    columns = table.groupby(["model", "metric"]).ngroups
    return (f"The authors' two tables disagree most on {row.label.split(' (')[0]}'s {row.metric} on "
            f"{PAPER_MODEL_NAMES.get(row.model, row.model)}: {row.mfaba:.4f} in the MFABA README against {row.attexplore:.4f} in "
            f"AttEXplore's Table 1 ({row.difference:+.4f}); they rank the {len(SHARED)} shared baselines in the same order in "
            f"{same} of {columns} model-metric columns.")


def _ours(mean: float, lo: float, hi: float, n: int) -> str:
    if not n:
        return "–"
    if n < BURN_IN:
        return f"{mean:.3f}"
    return f'{mean:.3f} <span style="color: #555; white-space: nowrap">[{lo:.3f}, {hi:.3f}]</span>'


def ledger_view(cmp: pd.DataFrame | None = None) -> HTML:
    """Table 1's ledger as a page section: heading, the sentence on the largest disagreement, then per model and metric
    AttEXplore's Table 1 | the MFABA README | README - Table 1 | ours (95% interval from 16 images) | n, and the source."""
    table = ledger(cmp)
    analogues = (cmp.attrs.get("analogues", {}) if cmp is not None else {}) or {}
    rows = []
    for (model, metric), group in table.groupby(["model", "metric"], sort=False):
        ran = analogues.get(model, model)
        name = PAPER_MODEL_NAMES.get(model, model) + ("" if ran == model else f" (ours: {OUR_MODEL_NAMES.get(ran, ran)})")
        for i, r in enumerate(group.itertuples()):
            rows.append({"model": html.escape(name) if i == 0 else "", "metric": METRIC_LABELS.get(metric, metric) if i == 0 else "",
                         "method": html.escape(r.label), "AttEXplore Table 1": f"{r.attexplore:.4f}", "MFABA README": f"{r.mfaba:.4f}",
                         "README - Table 1": f"{r.difference:+.4f}", "ours (95% CI)": _ours(r.ours, r.ci_lo, r.ci_hi, r.n),
                         "n": str(r.n) if r.n else "not computed"})
    body = pd.DataFrame(rows).to_html(index=False, escape=False, border=0, classes="attx-ledger")
    source = html.escape(captions()[README]["source"])
    return HTML(
        "<h2>The authors' ledger: AttEXplore's Table 1 beside the MFABA README</h2>"
        "<p>The same group's MFABA repository reports insertion and deletion for four of Table 1's baselines on the same "
        "three models (its README states neither the protocol nor the number of images). Where the two tables differ, the "
        "authors' own baseline numbers are uncertain by that much before any reproduction.</p>"
        f"<p><b>{html.escape(largest_disagreement(table))}</b></p>{body}"
        f'<p style="font-size: 0.85em">Source: {source}; transcribed in <code>data/paper/{README}.csv</code> (with MFABA\'s own '
        f"rows, SMOOTH and SHARP, and the README's AUC column). Our intervals are shown from {BURN_IN} images on; "
        "the stand-ins' absolute values are not the paper models'.</p>")
