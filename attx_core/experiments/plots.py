"""The book's figures (seaborn): paper vs ours per cell, ablation curves, heatmap grids."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .compare import model_label


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
        long = pd.concat([part.assign(source="paper", score=part.paper), part.assign(source="ours", score=part.ours)])
        sns.barplot(data=long, x=x, y="score", hue="source", ax=ax, palette=["#9e9e9e", "#1f77b4"])
        centers = [p.get_x() + p.get_width() / 2 for p in ax.patches[len(part): 2 * len(part)]]
        if len(centers) == len(part):
            ax.errorbar(centers, part.ours, yerr=[part.ours - part.ci_lo, part.ci_hi - part.ours], fmt="none", ecolor="k", capsize=2)
        analogue = cmp.attrs.get("analogues", {}).get(model, model)
        ax.set_title(f"{model_label(model, analogue, model)}: {metric}", fontsize=9)
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


def heatmap_grid(maps: pd.DataFrame, images: np.ndarray, names: Sequence[str], methods: Sequence[str]) -> plt.Figure | None:
    """Rows = images (the photo first), columns = methods; each cell the method's heatmap over the photo;
    None when no map is stored yet."""
    if not len(maps):
        return None
    fig, axes = plt.subplots(len(names), len(methods) + 1, figsize=(1.6 * (len(methods) + 1), 1.7 * len(names)), squeeze=False)
    for r, (name, img) in enumerate(zip(names, images)):
        axes[r, 0].imshow(img)
        for c, method in enumerate(methods, start=1):
            cell = maps[(maps.image == name) & (maps.method == method)]
            axes[r, c].imshow(img.mean(axis=2), cmap="gray", alpha=0.35, extent=(0, 1, 1, 0))
            if len(cell):
                axes[r, c].imshow(np.asarray(cell.iloc[0]["map"]), cmap="inferno", alpha=0.75, extent=(0, 1, 1, 0), vmin=0, vmax=1)
            if r == 0:
                axes[r, c].set_title(method, fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
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
