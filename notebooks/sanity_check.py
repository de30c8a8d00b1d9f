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
#
# On EfficientNet-Lite0, re-initialising `blocks.6` (its batch norms reset to zero mean and unit variance)
# leaves every activation after the last ReLU6 at 0: the network's output no longer depends on its input
# (on 4 packaged photos the logits were identical), every map is constant, and the deeper stages test nothing.
# The table marks them "constant map".

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from attx_core import chapters
from attx_core import experiments as ex
from attx_core.book import page

cfg = chapters.settings(profile, "sanity_check", **overrides)

# %% tags=["hide-input"]
ours = ex.sanity_check(**cfg, **chapters.run_options(profile, force))
table = ex.sanity_table(ours)
display(page.status_line(profile, "sanity_check"))
table.style.set_caption(
    f"Mean Spearman over {ours.image.nunique() if len(ours) else 0} images with its bootstrap 95% interval; 'constant map': "
    "every randomised map constant, the correlation undefined")

# %% tags=["hide-input"]
fig = ex.plots.sanity_curves(ours)

# %% tags=["hide-input"]
page.sentence(ex.sanity_sentence(ours))

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
