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
# The authors' code has behaviours that differ from the paper's text or from the methods it cites
# (reference notes): AttEXplore differentiates a double softmax and descends the loss; the old
# Table-6 explorers never zero their input gradient; Fast-IG's sign is flipped; insertion/deletion
# ranks each channel separately and moves the union of the three channels' pixels. Each row runs
# the published behaviour and the corrected one under the same settings.

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
import pandas as pd

from attx_core import experiments as ex

pd.set_option("display.max_colwidth", None)

cfg = ex.settings(profile, "published_vs_corrected", **overrides)
print(ex.settings_text(cfg))

# %%
ours = ex.published_vs_corrected(**cfg, force=force)
print(ex.notes_text(ours))
table = ex.summary(ours, by=["model", "parameter", "setting", "metric"])
table

# %%
fig = ex.plots.variant_bars(table, title="published (grey) vs corrected (blue), 95% CI over images")
print(ex.provenance_line(ours))

# %%
print(ex.variant_sentence(table))
