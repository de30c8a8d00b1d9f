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
# # Attributional robustness (Sarkar, Sarkar & Balasubramanian, AAAI 2021)
#
# Seed 003: two regularisers (a distribution term on the true and nearest classes' IG maps, and a
# sign-aware shift term) make integrated-gradients maps harder to move with the Ghorbani top-k attack
# without losing much accuracy. Small CNNs are trained here per objective; each row reports natural
# accuracy (NA), PGD accuracy (AA), and top-k intersection, Kendall tau and Spearman rho between the
# original and the attacked IG maps (higher = more robust). The seed has no numbers to compare with.

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "robustness", **overrides)
print(ex.settings_text(cfg))

# %%
ours = ex.robustness_study(**cfg, force=force)
print(ex.notes_text(ours))
ours

# %%
fig = ex.plots.robustness_bars(ours)
print(ex.provenance_line(ours))

# %%
print(ex.robustness_sentence(ours))
