"""The book's figures (seaborn): paper vs ours per cell, ablation curves, heatmap grids."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .compare import FIRST_LOOK, model_label


def paper_vs_ours(cmp: pd.DataFrame, x: str = "paper_label", title: str = "") -> plt.Figure | None:
    """Bars of paper vs ours per ``x`` (one panel per model and metric), ours with its 95% CI; None (no
    empty figure) when nothing of ours is computed yet."""
    data = cmp.dropna(subset=["ours"]) if len(cmp) else cmp
    if data.empty:
        return None
    panels = data[["model", "metric"]].drop_duplicates().values.tolist()
    cols = min(2, len(panels))  # one row per model (insertion | deletion): readable at page width
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.0 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, (model, metric) in zip(axes.flat, panels):
        part = data[(data.model == model) & (data.metric == metric)]
        long = pd.concat([part.assign(source="paper", score=part.paper), part.assign(source="ours", score=part.ours)], ignore_index=True)
        sns.barplot(data=long, x=x, y="score", hue="source", ax=ax, palette=["#9e9e9e", "#1f77b4"])
        centers = [p.get_x() + p.get_width() / 2 for p in ax.patches[len(part): 2 * len(part)]]
        shown = (part.n >= FIRST_LOOK).to_numpy()  # no interval before the first look
        if len(centers) == len(part) and shown.any():
            ok = part[shown]
            ax.errorbar([c for c, s in zip(centers, shown) if s], ok.ours, yerr=[ok.ours - ok.ci_lo, ok.ci_hi - ok.ours], fmt="none",
                        ecolor="k", capsize=2)
        if not shown.all():
            ax.text(0.01, 0.97, f"n < {FIRST_LOOK}: no interval", transform=ax.transAxes, fontsize=7, va="top")
        analogue = cmp.attrs.get("analogues", {}).get(model, model)
        ax.set_title(f"{model_label(model, analogue, model)}: {metric}", fontsize=9)
        if metric == "fps":  # the paper's GPU and our CPU differ by orders of magnitude: a log axis shows both
            ax.set_yscale("log")
            ax.set_ylabel("images per second (log; paper: GPU, ours: CPU)")
        ax.legend(fontsize=7)
        ax.set_xlabel("")
        ax.tick_params(axis="x", rotation=60, labelsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def ablation_curves(cmp: pd.DataFrame, parameter: str, title: str = "") -> plt.Figure | None:
    """Insertion and deletion against the ablated parameter, paper (dashed) and ours (solid, 95% CI band);
    None when nothing of ours is computed yet."""
    if not len(cmp) or cmp.ours.isna().all():
        return None
    data = cmp.copy()
    data["x"] = data["setting"].astype(float)
    metrics = [m for m in ("insertion", "deletion") if m in set(data.metric)]
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(4.5 * max(1, len(metrics)), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = data[data.metric == metric].sort_values("x")
        sns.lineplot(data=part, x="x", y="paper", hue="model", style="model", dashes=[(3, 2)] * part.model.nunique(), marker="o", ax=ax, legend=False)
        ours = part.dropna(subset=["ours"])
        sns.lineplot(data=ours, x="x", y="ours", hue="model", marker="s", ax=ax)
        for _, g in ours.groupby("model"):
            ax.fill_between(g.x, g.ci_lo, g.ci_hi, alpha=0.2)
        ax.set_xlabel(parameter)
        ax.set_ylabel(f"{metric} (dashed: paper, solid: ours)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def heatmap_grid(maps: pd.DataFrame, images: np.ndarray | None, names: Sequence[str] | None, methods: Sequence[str],
                 labels: dict[str, str] | None = None) -> plt.Figure | None:
    """Rows = images, columns = methods: each cell the method's stored 56x56 map (channel-summed |A|, scaled to [0, 1]),
    over the photo where ``images`` are given (the photo then leads the row), with one colour scale; None when no map
    is stored yet."""
    if not len(maps):
        return None
    names = list(names) if names is not None else list(dict.fromkeys(maps.image))
    photos = images is not None
    cols = len(methods) + photos
    fig, axes = plt.subplots(len(names), cols, figsize=(1.6 * cols + 0.8, 1.7 * len(names)), squeeze=False)
    shown = None
    for r, name in enumerate(names):
        if photos:
            axes[r, 0].imshow(images[r])
        for c, method in enumerate(methods, start=int(photos)):
            cell = maps[(maps.image == name) & (maps.method == method)]
            if photos:
                axes[r, c].imshow(images[r].mean(axis=2), cmap="gray", alpha=0.35, extent=(0, 1, 1, 0))
            if len(cell):
                shown = axes[r, c].imshow(np.asarray(cell.iloc[0]["map"]), cmap="inferno", alpha=0.75 if photos else 1.0,
                                          extent=(0, 1, 1, 0), vmin=0, vmax=1)
            if r == 0:
                axes[r, c].set_title((labels or {}).get(method, method), fontsize=7)
        axes[r, 0].text(-0.05, 0.5, name, transform=axes[r, 0].transAxes, rotation=90, va="center", ha="right", fontsize=6)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout(rect=(0, 0, 0.94, 1))
    if shown is not None:
        bar = fig.colorbar(shown, ax=axes, fraction=0.02, pad=0.01)
        bar.set_label("|attribution|, scaled to the map's 99th percentile", fontsize=7)
    return fig


def relative_bars(gain: pd.DataFrame, title: str = "") -> plt.Figure | None:
    """Change of each explorer relative to AttEXplore, in %, per metric (positive = better); None without data."""
    data = gain.dropna(subset=["relative_pct"]) if len(gain) else gain
    if data.empty:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.4))
    sns.barplot(data=data, x="setting", y="relative_pct", hue="metric", ax=ax)
    ax.axhline(7.57, ls="--", c="k", lw=1, label="AttEXplore++ claim +7.57%")
    ax.legend(fontsize=8)
    ax.set_ylabel("% vs AttEXplore (better > 0)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def variant_bars(table: pd.DataFrame, title: str = "") -> plt.Figure | None:
    """Published vs corrected mean per variant and metric, with 95% CI; None without data."""
    if not len(table):
        return None
    metrics = sorted(set(table.metric))
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(5.5 * max(1, len(metrics)), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = table[table.metric == metric].copy()
        part["variant"] = part.parameter.str.split(":").str[0]
        sns.barplot(data=part, y="variant", x="mean", hue="setting", ax=ax, palette=["#9e9e9e", "#1f77b4"], orient="h")
        ax.set_title(metric, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def sanity_curves(df: pd.DataFrame) -> plt.Figure | None:
    """Spearman with the original map against the randomisation stage, one line per method (CI over images);
    None without data."""
    if not len(df):
        return None
    fig, ax = plt.subplots(figsize=(6, 3.4))
    sns.lineplot(data=df, x="stage", y="spearman", hue="method", marker="o", ax=ax)
    ax.set_xticks(sorted(df.stage.unique()))
    ax.set_xticklabels([df[df.stage == s].layer.iloc[0].replace("net.", "") for s in sorted(df.stage.unique())], rotation=45, fontsize=7)
    ax.set_ylabel("Spearman with original map")
    fig.tight_layout()
    return fig


def robustness_bars(df: pd.DataFrame) -> plt.Figure | None:
    """Top-k intersection, Kendall tau and natural accuracy per training objective and dataset; None without data."""
    metrics = [m for m in ("topk", "kendall", "NA", "AA") if m in df.columns]
    if not len(df) or not metrics:
        return None
    fig, axes = plt.subplots(1, max(1, len(metrics)), figsize=(3.4 * max(1, len(metrics)), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        sns.barplot(data=df, x="objective", y=metric, hue="dataset", ax=ax)
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.set_title(metric, fontsize=9)
    fig.tight_layout()
    return fig


def intervals(table: pd.DataFrame, label: str = "compared", title: str = "") -> plt.Figure | None:
    """Each row's mean with its 95% interval as a horizontal bar (``lo``/``hi`` columns), 0 marked, and the equivalence
    margin shaded where the rows declare one; rows without an interval (too few images) as hollow dots; None without data."""
    if table is None or not len(table):
        return None
    data = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(data) + 1.2))
    margin = data["margin"].dropna().max() if "margin" in data else None
    if margin == margin and margin:
        ax.axvspan(-margin, margin, color="#c8e6c9", alpha=0.6, label=f"equivalence margin ±{margin:g}")
    ax.axvline(0, color="k", lw=0.8)
    for i, r in data.iterrows():
        if r.lo == r.lo:
            ax.errorbar(r["mean"], i, xerr=[[r["mean"] - r.lo], [r.hi - r["mean"]]], fmt="o", color="#1f77b4", capsize=3)
        elif r["mean"] == r["mean"]:
            ax.plot(r["mean"], i, "o", mfc="none", color="#1f77b4")
    ax.set_yticks(range(len(data)))
    ax.set_yticklabels([str(v)[:70] for v in data[label]], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("difference of the means (95% confidence sequence; hollow: fewer than 16 images, no interval)")
    if margin == margin and margin:
        ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
