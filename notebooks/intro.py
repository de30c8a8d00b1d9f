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
# # attx: AttEXplore reproduced, claim by claim
#
# This book re-runs the experiments of *AttEXplore: Attribution for Explanation with model parameters
# eXploration* (Zhu et al., ICLR 2024), the follow-up AttEXplore++ and the attributional-robustness
# study of Sarkar et al. (AAAI 2021) with the `attx_core` library. Every page is a short notebook:
# its settings, one call into `attx_core.experiments`, a table *paper | ours | delta | 95% CI*, a
# figure, where the numbers came from, and one sentence saying whether the paper's claim held.
#
# Offline, the paper's Inception-v3, ResNet-50 and VGG-16 have no ImageNet weights; each is replaced
# by an EfficientNet-Lite with real weights (Inception-v3 -> lite0, ResNet-50 -> lite1, VGG-16 -> lite2)
# and every page says so. Compare *trends and rankings*, not absolute values, on those pages.
#
# The table below is computed from the cached results of the chapters (it computes nothing itself).

# %% tags=["parameters"]
profile = "quick"
force = False

# %% tags=["hide-input"]
import pandas as pd

from attx_core import experiments as ex

pd.set_option("display.max_colwidth", None)
summary = ex.claims_summary(profile)
print(f"profile {profile!r}: {ex.PROFILES[profile]['description']}")
summary.set_index("table")

# %% [markdown]
# ## Section 5.2's margins
#
# The text quotes AttEXplore's lead over AGI and over the average of the other baselines in score
# points x100 (the average leaves out Grad-CAM and AGI: that reading recomputes all of the paper's
# numbers from its Table 1). The same margins from this profile's Table 1:

# %%
table1 = ex.insdel_table(**ex.settings(profile, "table01_insdel"), cached_only=True)
ex.text_claims(ex.compare(table1, "table01_insdel"))

# %% [markdown]
# ## Cost of this profile
#
# Wall seconds of each chapter's last execution (kernel start included; cached results make a
# rebuild fast) next to the estimate from the methods' passes per image (`ex.budget`).

# %%
from attx_core.book import read_timings

timings = read_timings().get(profile, {})
table = ex.budget(profile).set_index("chapter")
table["last build (s)"] = [timings.get(c) for c in table.index]
table
