"""Statistics that decide a claim: paired differences on the same images, and rank agreement with the paper.

Two methods scored on the same images differ far less from image to image than either score does, so a
claim "A beats B" is judged on the per-image differences A - B (bootstrap 95% interval of their mean),
never on whether two marginal intervals overlap. The paper's ordering of methods is compared with ours by
Kendall's tau, with an interval from resampling images.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import kendalltau
from scipy.stats import t as student_t

from .bootstrap import mean_ci

LOWER_IS_BETTER = frozenset({"deletion", "infd"})  # metrics where a lower value is better

COLUMNS = ["model", "metric", "reference", "rival", "n", "difference", "ci_lo", "ci_hi", "paper_difference", "paper_in_ci", "better", "verdict"]


def t_interval(differences: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """(mean, lo, hi): Student's t interval at level 1 - ``alpha`` for the mean of paired differences; exact for normal
    differences at any n (a percentile bootstrap of 8 values covers far less than its level); (mean, -inf, inf) below 2."""
    d = np.asarray(differences, dtype=float)
    mean = float(d.mean()) if len(d) else float("nan")
    if len(d) < 2:
        return mean, -math.inf, math.inf
    half = float(student_t.ppf(1.0 - alpha / 2.0, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d)))
    return mean, mean - half, mean + half


def _wide(ours: pd.DataFrame, model: str, metric: str, by: str) -> pd.DataFrame:
    part = ours[(ours.model == model) & (ours.metric == metric)]
    return part.pivot_table(index="image", columns=by, values="value", aggfunc="first")


def paired_differences(ours: pd.DataFrame, reference: str = "attexplore", by: str = "method",
                       paper: pd.DataFrame | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Per (model, metric, rival): mean of ``reference - rival`` over the images both have, its bootstrap
    interval, the paper's difference and whether our interval contains it (``paper_in_ci``: "yes" / "no" / ""
    without a paper value), and the verdict: which is better with the interval excluding 0
    ("better" is higher, or lower for deletion and INFD), or "not separated at n images".

    ``ours``: a runner's long frame (model, method, parameter, setting, metric, image, value); ``by``: the
    column naming the compared variants (``method``, or ``setting`` for the attack explorers);
    ``paper``: a comparison frame (:func:`~attx_core.experiments.compare`) for the paper's differences.
    """
    rows = []
    claimed = {} if paper is None else {(r.model, r.metric, r[by]): r.paper for _, r in paper.iterrows()}
    for (model, metric), _ in ours.groupby(["model", "metric"], sort=False):
        wide = _wide(ours, model, metric, by)
        if reference not in wide:
            continue
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        for rival in wide.columns:
            if rival == reference:
                continue
            diff = (wide[reference] - wide[rival]).dropna().to_numpy(dtype=float)
            if diff.size == 0:
                continue
            mean, lo, hi = mean_ci(diff, alpha=alpha)
            # the reference is better when the whole interval lies on its side of 0 (below 0 where lower is better)
            low, high = sorted((sign * lo, sign * hi))
            better = reference if low > 0 else rival if high < 0 else ""
            pr, pv = claimed.get((model, metric, reference)), claimed.get((model, metric, rival))
            verdict = f"{better} better" if better else f"not separated at n={diff.size}"
            paper_diff = (pr - pv) if pr is not None and pv is not None else float("nan")
            # does our interval contain the paper's difference? (a lead of the paper's size is ruled out where not)
            inside = "" if paper_diff != paper_diff else "yes" if lo <= paper_diff <= hi else "no"
            rows.append([model, metric, reference, rival, int(diff.size), mean, lo, hi, paper_diff, inside, better, verdict])
    return pd.DataFrame(rows, columns=COLUMNS)


def rank_agreement(ours: pd.DataFrame, cmp: pd.DataFrame, by: str = "method", n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per (model, metric): Kendall's tau between the paper's values and our means across the variants
    (methods) computed on the same images, with a 95% interval from resampling those images."""
    rows = []
    rng = np.random.default_rng(seed)
    for (model, metric), _ in ours.groupby(["model", "metric"], sort=False):
        wide = _wide(ours, model, metric, by).dropna()
        paper = cmp[(cmp.model == model) & (cmp.metric == metric)].set_index(by).paper
        common = [c for c in wide.columns if c in paper.index]
        if len(common) < 3 or len(wide) < 2:
            continue
        values, target = wide[common].to_numpy(dtype=float), paper[common].to_numpy(dtype=float)
        tau = kendalltau(target, values.mean(0)).statistic
        boots = [kendalltau(target, values[rng.integers(0, len(values), len(values))].mean(0)).statistic for _ in range(n_boot)]
        lo, hi = np.nanquantile(boots, [0.025, 0.975])
        rows.append({"model": model, "metric": metric, "methods": len(common), "n": len(values), "kendall_tau": float(tau),
                     "ci_lo": float(lo), "ci_hi": float(hi)})
    return pd.DataFrame(rows, columns=["model", "metric", "methods", "n", "kendall_tau", "ci_lo", "ci_hi"])
