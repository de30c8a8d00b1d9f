"""How coarse can insertion/deletion curves be? The same curves read at 2x, 4x and 8x the paper's 224 pixels
per step (every 2nd, 4th, 8th point: exact for 224x224 images), against the full resolution, on the images
where the store holds both. A coarser step is usable only where every method's mean AUC moves by less than
:data:`TOLERANCE` and the ranking of the methods is unchanged; Table 1 always uses 224."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

TOLERANCE = 0.002


def resolution_table(ours: pd.DataFrame) -> pd.DataFrame:
    """Per (model, metric, coarser step): images compared, the largest change of a method's mean AUC on
    those images, Kendall's tau between the methods' rankings at 224 and at the coarser step, and whether
    the coarser step is usable (change < :data:`TOLERANCE`, ranking identical)."""
    rows = []
    coarse = ours[ours.metric.str.contains("@", regex=False)]
    for (model, metric), part in coarse.groupby(["model", "metric"], sort=False):
        base, step = metric.split("@")
        fine = ours[(ours.model == model) & (ours.metric == base)]
        both = part.merge(fine, on=["method", "image"], suffixes=("_coarse", "_fine"))
        common = both.groupby("image").method.nunique()
        images = common[common == both.method.nunique()].index  # images with every method at both steps
        both = both[both.image.isin(images)]
        if both.empty:
            continue
        means = both.groupby("method")[["value_coarse", "value_fine"]].mean()
        change = (means.value_coarse - means.value_fine).abs()
        tau = kendalltau(means.value_fine, means.value_coarse).statistic if len(means) > 2 else np.nan
        same_order = list(means.value_fine.sort_values().index) == list(means.value_coarse.sort_values().index)
        rows.append({"model": model, "metric": base, "step": step, "methods": len(means), "n": len(images),
                     "max_mean_change": float(change.max()), "worst_method": change.idxmax(),
                     "kendall_tau": float(tau), "ranking_unchanged": same_order,
                     "usable": bool(change.max() < TOLERANCE and same_order)})
    return pd.DataFrame(rows, columns=["model", "metric", "step", "methods", "n", "max_mean_change", "worst_method",
                                       "kendall_tau", "ranking_unchanged", "usable"])
