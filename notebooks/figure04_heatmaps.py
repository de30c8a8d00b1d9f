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
# # Figure 4: heatmaps of every method
#
# The paper's Figure 4 shows AttEXplore's maps on Inception-v3 as "denser and clearer" than AGI's,
# BIG's and the other baselines'. Each cell: |sum over channels| of the attribution, average-pooled to
# 56x56 and clipped at its 99th percentile, over a grey copy of the photo (the figure has no numbers
# to compare, so this page has no paper column).

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from attx_core import chapters
from attx_core import experiments as ex
from attx_core.book import page

cfg = chapters.settings(profile, "figure04_heatmaps", **overrides)

# %% tags=["hide-input"]
maps = ex.heatmap_grid(**cfg, **chapters.run_options(profile, force))
imgs = page.photos(cfg["images"], cfg["n_images"])  # None where the image files are not on this machine: maps only
display(page.status_line(profile, "figure04_heatmaps"))
fig = ex.plots.heatmap_grid(maps, None if imgs is None else imgs.x.permute(0, 2, 3, 1).numpy(), None if imgs is None else imgs.names,
                            list(dict.fromkeys(maps.method)), labels=ex.compare_labels("table01_insdel"))

# %% tags=["hide-input"]
page.sentence(ex.describe_maps(maps))

# %% tags=["hide-input"]
page.settings_dropdown(cfg, maps)
