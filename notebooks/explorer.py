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
# # Explorer: every method's heatmap, interactively
#
# The first widget works in this static page: the slider picks the image, the dropdown the method,
# and the browser switches between heatmaps precomputed by the Figure 4 chapter (same settings, read
# from the cache). The second widget recomputes a map when you move its slider; it needs a running
# kernel (open `notebooks/explorer.py` in Jupyter), so here it only shows its first state.
# The book build serves the widget JavaScript from a local copy (fetched with npm); without it the
# page loads it from a CDN.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from IPython.display import HTML

from attx_core import experiments as ex
from attx_core.experiments import page
from attx_core.experiments.explorer import live_explorer, static_explorer

cfg = ex.settings(profile, "figure04_heatmaps", **overrides)
maps = ex.heatmap_grid(**cfg, **ex.run_options(profile, force))
imgs = ex.image_set(cfg["images"], cfg["n_images"])
if len(maps):
    display(static_explorer(maps, imgs.x.permute(0, 2, 3, 1).numpy(), imgs.names))
else:
    display(HTML(f"<p><b>No maps stored yet</b> for profile {profile}: <code>attx compute --profile {profile} "
                 "--only figure04_heatmaps</code> computes them (a few minutes).</p>"))

# %% [markdown]
# ## Live (needs a kernel)

# %% tags=["hide-input"]
model = ex.resolve_model(cfg["models"][0]).model
live_explorer(model, imgs.x, imgs.labels, imgs.names, list(cfg["methods"]))

# %% tags=["hide-input"]
print("Interpretation: the static selector shows the same maps as Figure 4; moving the live slider shows how each method's map sharpens with more steps or samples.")

# %% tags=["hide-input"]
page.settings_dropdown(cfg, maps)
