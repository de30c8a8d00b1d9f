"""Power analysis: the textbook formula, and the per-claim table from paired records."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from attx_core.experiments.power import images_needed, paired_power


def test_images_needed_is_the_paired_normal_formula():
    # (1.96 + 0.8416)^2 = 7.849: sd equal to the difference needs ~7.85 images
    assert math.isclose(images_needed(0.1, 0.1), 7.849, rel_tol=1e-3)
    assert math.isclose(images_needed(0.2, 0.05), 16 * 7.849, rel_tol=1e-3)
    assert images_needed(0.1, 0.0) == float("inf")


def test_paired_power_uses_paired_differences():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, 40)  # image difficulty shared by both methods: cancels in the pairs
    noise = rng.normal(0, 0.01, 40)
    ours = pd.DataFrame(
        [{"model": "inception_v3", "method": "attexplore", "metric": "insertion", "image": i, "value": base[i] + 0.05 + noise[i]} for i in range(40)]
        + [{"model": "inception_v3", "method": "ig", "metric": "insertion", "image": i, "value": base[i]} for i in range(40)]
    )
    paper = pd.DataFrame([{"model": "inception_v3", "method": "attexplore", "metric": "insertion", "value": 0.46},
                          {"model": "inception_v3", "method": "ig", "metric": "insertion", "value": 0.41}])
    (row,) = paired_power(ours, paper).to_dict("records")
    assert math.isclose(row["paper_difference"], 0.05, abs_tol=1e-9) and row["pilot_n"] == 40
    assert row["pilot_sd"] < 0.02  # paired: the spread of base does not enter
    assert row["images_needed"] < 2 and row["ci_halfwidth_at_planned"] < 0.01
