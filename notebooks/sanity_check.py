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
# # Sanity check: cascading model-parameter randomisation
#
# Adebayo et al. (2018): if a map explains the model, it must change when the model's weights are
# destroyed. Layers are re-initialised from the logits down, cumulatively; each stage compares every
# method's map with its map on the trained model (Spearman rank correlation of |sum over channels|).
# A curve that stays near 1 means the method ignores the model. The paper runs no such check.

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "sanity_check", **overrides)
print(ex.settings_text(cfg))

# %%
ours = ex.sanity_check(**cfg, force=force)
print(ex.notes_text(ours))
table = ex.sanity_table(ours)
table

# %%
fig = ex.plots.sanity_curves(ours)
print(ex.provenance_line(ours))

# %%
print(ex.sanity_sentence(table))
