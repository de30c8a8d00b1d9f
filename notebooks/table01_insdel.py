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
# # Table 1: insertion and deletion scores of eleven attribution methods
#
# The paper's headline table: insertion (higher is better) and deletion (lower is better) AUCs of
# AttEXplore and ten baselines on Inception-v3, ResNet-50 and VGG-16, 1000 ImageNet images,
# attributing the label and scoring the model's top-1 class, 224 pixels per step over a black substrate.

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "table01_insdel", **overrides)
print(ex.settings_text(cfg))

# %%
ours = ex.insdel_table(**cfg, force=force)
cmp = ex.compare(ours, "table01_insdel")
print(ex.notes_text(ours))
ex.display_table(cmp)

# %%
fig = ex.plots.paper_vs_ours(cmp, title="Table 1: paper (grey) vs ours (blue, 95% CI over images)")

# %% [markdown]
# Section 5.2 quotes AttEXplore's margins in score points x100: over AGI, and over "other algorithms
# on average" (read as the eight baselines other than Grad-CAM and AGI, which recomputes all six of
# the paper's averages from its Table 1). The same margins from our numbers:

# %%
ex.text_claims(cmp)

# %%
print(ex.provenance_line(ours))

# %%
print(ex.check("table01_insdel", cmp).sentence())
