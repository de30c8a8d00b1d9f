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
# # The published code vs corrected behaviour
#
# The library's defaults reproduce the authors' published code; where that code differs from the paper's
# text or from the methods it cites, the other behaviour is a named option (see the method cards). Each
# row below runs one option against the published default under the same settings, one change at a time:
# AttEXplore's loss (three softmaxes in the published code, one in the paper's formula) and its direction
# (the published path descends the loss; ascending is the SSA attack's direction, and the integrator's sign
# follows the direction so both maps weigh the path's features positively); the old Table-6 code's
# never-zeroed input gradients; and the options of the baselines (AGI's path, BIG's boundary search,
# Guided IG's steps, Fast-IG's sign, Grad-CAM's target); finally the metric's own channel-union ordering.
#
# Each row is a claim of its own, computed on its own: the planner gives more images only to the variants whose
# comparison is still open, so the rows' n differ (both arms of a row are always on the same images). The last
# column gives each open claim's CPU-hours on one thread still projected to decide it.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from attx_core import chapters
from attx_core import experiments as ex
from attx_core.book import page

cfg = chapters.settings(profile, "published_vs_corrected", **overrides)

# %% tags=["hide-input"]
ours = ex.published_vs_corrected(**cfg, **chapters.run_options(profile, force))
display(page.status_line(profile, "published_vs_corrected"))
overview = page.claims_overview(profile, "published_vs_corrected")
fig = ex.plots.intervals(overview, title="Corrected minus published insertion, paired over the same images")
page.overview_table(overview)

# %% [markdown]
# Each comparison in full: the claim it tests (does the deviation move insertion by more than the margin?), its verdict
# and, folded, every comparison with its interval.

# %% tags=["hide-input"]
page.claim_boxes(profile, "published_vs_corrected")

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
