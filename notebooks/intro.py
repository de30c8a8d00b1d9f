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
# study of Sarkar et al. (AAAI 2021) with the `attx_core` library. Every page leads with the paper's
# claim and its verdict, then the paper's table in its own layout with ours beside it (95% interval, n
# images), one figure, and the settings folded away.
#
# **Models.** Offline, the paper's Inception-v3, ResNet-50 and VGG-16 have no ImageNet weights; each is
# replaced by an EfficientNet-Lite with real weights (see [the stand-ins](stand_ins.ipynb)) and labelled as
# what ran, e.g. "EfficientNet-Lite0 (stand-in for Inception-v3)". Compare rankings, not absolute values.
#
# **Verdicts** come from paired statistics: every method is scored on the same images, and each claim is a set of
# paired comparisons (A - B per image) with a 95% *confidence sequence*, an interval valid at every n at once, so the
# store may be read after every batch and the computation stop as soon as a comparison is decided. Verdicts, in the
# order they are checked: *reversed* (the interval excludes 0 against the paper), *reproduced, smaller than the
# paper*, *reproduced*, *paper's effect ruled out* (contains 0 but not the paper's effect), *not separable on this
# subset* (more images than the 500-image subset would be needed), else *open*; nothing before 16 images.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False

# %% [markdown]
# ## Reproduction status
#
# Per claim: what the paper says, the verdict (where one comparison decides it, with our mean difference, its 95%
# confidence sequence and the paper's value), the images it rests on (n), its comparisons' verdicts and, while it is
# open, the CPU-hours on one thread its verdict is still projected to need (`attx compute` spends them cheapest first).

# %% tags=["hide-input"]
from IPython.display import HTML

from attx_core import chapters
from attx_core import experiments as ex
from attx_core.book import page

display(HTML(f"<p>Profile <b>{profile}</b>: {chapters.PROFILES[profile]['description']}.</p>"))
page.landing_claims(profile)

# %% [markdown]
# **What a GPU run adds.** `attx compute --profile paper --device cuda` runs the paper's protocol on all 500
# images of the shared validation subset, every setting of every table, and the paper's own models wherever
# their weights are present (ViT-B/16 for Table 7 included); `attx book --profile paper` renders it. On the
# 2-core CPU of this project, Table 1 alone costs about 3.5-4.5 minutes per image (all eleven methods and their
# insertion/deletion curves on EfficientNet-Lite0, one thread), which is why the standard store grows by a
# few dozen images per session.

# %% [markdown]
# ## What the store holds
#
# Per chapter and model: the images stored (fewest-most over the chapter's methods and settings), the comparisons
# still open and the images they are projected to need (a chapter without claims: its image count), the image
# computations still missing and their cost on one CPU thread, in brackets the part that decides the verdicts (the
# rest serves the comparisons reported beside them, such as Table 1's deletion). The hours come from one cost model
# (passes per second on one thread, a forward's share of a pass), measured on the store's own timed records: the
# caption gives it beside what those records measure today. `attx compute --profile standard` computes them,
# resumably; or a GPU run, `--device cuda`, not yet timed here.

# %% tags=["hide-input"]
page.store_table(profile)

# %% [markdown]
# ## Section 5.2's margins
#
# The text quotes AttEXplore's lead over AGI and over the average of the other baselines in score
# points x100 (the average leaves out Grad-CAM and AGI: that reading recomputes all of the paper's
# numbers from its Table 1). The same margins from this profile's Table 1:

# %% tags=["hide-input"]
table1 = ex.insdel_table(**chapters.settings(profile, "table01_insdel"), **chapters.stored_only(profile))
ex.text_claims(ex.compare(table1, "table01_insdel")).style.hide(axis="index").format(precision=2, na_rep="not computed yet")

# %% [markdown]
# ## Cost of this profile
#
# Wall seconds of each chapter's last execution (kernel start included; a store profile's pages only read the store).

# %% tags=["hide-input"]
import pandas as pd

from attx_core.book import read_timings

timings = read_timings().get(profile, {})
pd.DataFrame({"chapter": list(timings), "last build (s)": list(timings.values())}).style.hide(axis="index").format(precision=0)
