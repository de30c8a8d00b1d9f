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
# # Explorer: AttEXplore's parameters and every method's heatmap
#
# **AttEXplore's knobs, without a kernel.** Pick an image, an explorer (the attack that generates the
# path: `ssa` is AttEXplore as published, `none` the plain sign path) and move epsilon, the number of
# samples per step (`N` for ssa, `scales` for MIG, `neighbors` for GRA) and num_steps: the page switches
# between maps and insertion (blue) / deletion (red) curves precomputed into the results store, in the
# browser. Curves use 3,584 pixels per step (15 points), so their AUCs are display values, not Table 1's.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from IPython.display import HTML

from attx_core import chapters
from attx_core import experiments as ex
from attx_core.book import page
from attx_core.experiments.explorer import grid_explorer, live_explorer, static_explorer
from attx_core.experiments.runners import SAMPLE_KNOBS

gcfg = chapters.settings(profile, "explorer", **overrides)
grid = ex.explorer_grid(**gcfg, **chapters.run_options(profile, force))
gimgs = ex.image_set(gcfg["images"], gcfg["n_images"])
if len(grid):
    display(HTML(grid_explorer(grid, gimgs.x.permute(0, 2, 3, 1).numpy(), gimgs.names, SAMPLE_KNOBS)))
    display(page.status_line(profile, "explorer"))
else:
    display(HTML(f"<p><b>No grid stored yet</b> for profile {profile}: <code>attx compute --profile {profile} "
                 "--only explorer</code> computes it.</p>"))

# %% [markdown]
# ## Every method on the Figure 4 images
#
# The slider picks the image, the dropdown the method (maps of the Figure 4 chapter, read from the store).

# %% tags=["hide-input"]
cfg = chapters.settings(profile, "figure04_heatmaps", **overrides)
maps = ex.heatmap_grid(**cfg, **chapters.run_options(profile, force))
imgs = page.photos(cfg["images"], cfg["n_images"])
if imgs is not None and len(maps):
    display(static_explorer(maps, imgs.x.permute(0, 2, 3, 1).numpy(), imgs.names))
elif not len(maps):
    display(HTML(f"<p><b>No maps stored yet</b> for profile {profile}: <code>attx compute --profile {profile} "
                 "--only figure04_heatmaps</code> computes them.</p>"))

# %% [markdown]
# ## Live (needs a kernel)
#
# This widget recomputes a map when you move its slider; it needs a running kernel (open
# `notebooks/explorer.py` in Jupyter), so here it only shows its first state.

# %% tags=["hide-input"]
if imgs is not None:
    model = ex.resolve_model(cfg["models"][0]).model
    display(live_explorer(model, imgs.x, imgs.labels, imgs.names, list(cfg["methods"])))

# %% tags=["hide-input"]
page.settings_dropdown(gcfg, grid)
