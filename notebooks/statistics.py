# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Statistics: paired comparisons and confidence sequences
#
# **Paired.** Every method, setting or variant is scored on the same images, so a claim "A beats B" is judged on the
# per-image differences A - B: two methods differ far less from image to image than either score does.
#
# **Valid at every n.** The store grows by 8 images at a time and the planner stops computing a comparison as soon as
# it is decided. A fixed-n 95% interval read after every batch, and acted upon when it excludes 0, errs far more often
# than 5% of the time. Each comparison therefore carries a 95% *confidence sequence*: an interval that holds the true
# mean at every n at once, so it may be read after every batch. The default is the asymptotic confidence sequence of
# Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas ("Time-uniform central limit theory and asymptotic confidence
# sequences", Annals of Statistics 52(6), 2024, Theorem 2.2): the running mean ± the running sd times a normal-mixture
# boundary, tuned to be tightest near 100 images (`attx_core/stats/confseq.py`). It is about 1.5x as wide as a fixed-n
# interval. Its guarantee is asymptotic; strongly skewed differences (deletion, where most images score near 0) need
# more images before the normal approximation holds, so no interval is shown before n >= 25 g1² (g1 the running
# skewness; Cochran's rule) and never before 16 images. An exact bounded-range sequence (Waudby-Smith & Ramdas,
# JRSS-B 2024) is available as an option (`bounded_eb_cs`); with differences in [-1, 1] and an sd near 0.1 it is
# dominated by the range (about ±0.1 wide at 140 images) and decides little.
#
# **Verdicts**, checked in this order, the first that applies: *reversed* (the sequence excludes 0 against the
# paper's direction); *reproduced, smaller than the paper* (excludes 0 in the paper's direction and lies wholly
# between 0 and the paper's effect); *reproduced*; *paper's effect ruled out* (contains 0, excludes the paper's
# effect); *not separable on this subset* (the images needed, projected from the interval and the observed
# difference, exceed the 500-image subset); otherwise *open*. Relative claims (AttEXplore++'s +7.57%) use the sequence
# of the relative difference of the means (Fieller's test inversion); growth claims the difference between the
# extreme settings plus a per-image trend (least-squares slope); minor-influence claims an equivalence margin
# (*reproduced* inside ±margin, *reversed* wholly outside it). A minor-influence claim is *not separable* only when
# neither its observed difference nor a difference of 0 (no influence, the claim itself, while the interval still
# holds 0) would decide it within the subset: a mean that happens to lie near the margin after 16 images does not end
# a claim that more images of a true 0 would still decide.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False

# %% [markdown]
# ## How often does each interval hold the true mean at every look?
#
# 10,000 simulated sequences of paired differences like ours (bounded in [-1, 1], sd 0.05-0.2, skewness 0 to 3, a
# known mean), each looked at after every 8 images from 16 to 496. The test suite asserts the same numbers
# (`tests/test_confseq.py`).

# %% tags=["hide-input"]
import numpy as np
import pandas as pd

from attx_core.chapters.claims import evaluate
from attx_core.stats import resampled_coverage, simulate_coverage

sim = simulate_coverage(10_000)
names = {"asymptotic": "asymptotic CS (default, with the skew guard)", "asymptotic_no_skew_guard": "asymptotic CS without the skew guard",
         "bounded_eb": "exact bounded-range CS (option)", "fixed_n_normal": "fixed-n normal 95% interval"}
rows = [{"interval": label, "all sequences": sim[key], **{f"skewness {k}": v[key] for k, v in sim["by_skew"].items()}}
        for key, label in names.items()]
pd.DataFrame(rows).style.hide(axis="index").format({c: "{:.1%}" for c in rows[0] if c != "interval"})

# %% [markdown]
# ## On our own data
#
# The same check with sequences resampled from the store's paired differences of Table 1 on EfficientNet-Lite0 (every
# comparison, centred so that the true difference is 0): how often does an interval declare a difference that is
# not there, at some look between 16 and 496 images?

# %% tags=["hide-input"]
comparisons = evaluate(profile, "table01")
columns = [np.asarray(c.values) for c in comparisons if c.model == "inception_v3" and len(c.values) >= 16]
if columns:
    false = resampled_coverage(columns, n_sequences=1_000)
    display(pd.DataFrame({"interval": ["asymptotic CS (default)", "fixed-n normal 95% interval"],
                          "false verdicts at some look": [false["asymptotic"], false["fixed_n_normal"]]})
            .style.hide(axis="index").format({"false verdicts at some look": "{:.1%}"}))
    print(f"{len(columns)} paired-difference columns, {min(map(len, columns))}-{max(map(len, columns))} images each")
else:
    print("Table 1 on EfficientNet-Lite0 is not in this store yet.")

# %% [markdown]
# ## One comparison as it grew
#
# AttEXplore minus AGI and minus Grad-CAM in insertion on EfficientNet-Lite0, image by image in the store's order: the
# running mean, the confidence sequence (valid at every n) and, for contrast, the fixed-n 95% interval.

# %% tags=["hide-input"]
import matplotlib.pyplot as plt

from attx_core.stats import asymptotic_cs

picked = [c for c in comparisons if c.model == "inception_v3" and c.metric == "insertion" and c.rival in ("agi", "gradcam")]
if picked:
    fig, axes = plt.subplots(1, len(picked), figsize=(6 * len(picked), 3.6), squeeze=False)
    for ax, c in zip(axes[0], picked):
        x = np.asarray(c.values)
        n = np.arange(1, len(x) + 1)
        mean = np.cumsum(x) / n
        sd = np.sqrt(np.maximum(np.cumsum(x * x) / n - mean**2, 0) * n / np.maximum(n - 1, 1))
        lo, hi = asymptotic_cs(x)
        ax.fill_between(n, mean - 1.96 * sd / np.sqrt(n), mean + 1.96 * sd / np.sqrt(n), color="#ffcc80", alpha=0.6, label="fixed-n 95%")
        ax.fill_between(n, lo, hi, color="#90caf9", alpha=0.7, label="confidence sequence 95%")
        ax.plot(n, mean, color="k", lw=1, label="running mean")
        ax.axhline(0, color="grey", lw=0.8)
        if c.paper == c.paper:
            ax.axhline(c.paper, color="#c62828", ls="--", lw=1, label=f"paper {c.paper:+.3f}")
        ax.set_title(f"AttEXplore - {c.rival}, insertion (n = {c.n}): {c.verdict}", fontsize=9)
        ax.set_xlabel("images")
        ax.legend(fontsize=7)
    fig.tight_layout()
