"""Power analysis for the store's image counts: can n images separate the differences the paper claims?

For Table 1 the claim is a difference between AttEXplore and each baseline. Paired per image (same
image, same model), the difference's standard deviation sd comes from a pilot; the images needed for a
two-sided paired test at level alpha with power 1 - beta to detect the paper's difference d are
``n = ((z_{1-alpha/2} + z_{1-beta}) * sd / |d|)^2``, and the 95% interval's half-width at n images is
``1.96 * sd / sqrt(n)``.
"""
from __future__ import annotations

from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

PAPER = Path(__file__).resolve().parents[2] / "data" / "paper"


def images_needed(sd: float, difference: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Images for a paired two-sided test at ``alpha`` with ``power`` to detect ``difference`` (inf if it is 0)."""
    if difference == 0:
        return float("inf")
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return float((z * sd / abs(difference)) ** 2)


def paired_power(ours: pd.DataFrame, paper: pd.DataFrame, reference: str = "attexplore", planned: int = 250) -> pd.DataFrame:
    """Per (model, method, metric): the paper's difference reference - method, the pilot's paired sd of
    ours, and the images needed (80% power, 5% level) next to the planned count.

    ``ours``: long records with columns model (paper name), method, metric, image, value (a runner's frame);
    ``paper``: the paper's table (model, method, metric, value), e.g. ``data/paper/table01_insdel.csv``.
    """
    rows = []
    wide = ours.pivot_table(index=["model", "metric", "image"], columns="method", values="value")
    claims = paper.set_index(["model", "method", "metric"])["value"]
    for (model, metric), block in wide.groupby(level=["model", "metric"]):
        if reference not in block:
            continue
        for method in block.columns:
            if method == reference or (model, method, metric) not in claims or (model, reference, metric) not in claims:
                continue
            diff = (block[reference] - block[method]).dropna().to_numpy()
            if diff.size < 2:
                continue
            claimed = float(claims[(model, reference, metric)] - claims[(model, method, metric)])
            sd = float(np.std(diff, ddof=1))
            rows.append({
                "model": model, "method": method, "metric": metric, "paper_difference": claimed,
                "pilot_n": int(diff.size), "pilot_mean_difference": float(diff.mean()), "pilot_sd": sd,
                "images_needed": images_needed(sd, claimed), "planned": planned,
                "ci_halfwidth_at_planned": 1.96 * sd / np.sqrt(planned),
            })
    return pd.DataFrame(rows)
