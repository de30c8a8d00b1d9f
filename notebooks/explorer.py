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

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "figure04_heatmaps", **overrides)
print(ex.settings_text(cfg))
maps = ex.heatmap_grid(**cfg, force=force)
imgs = ex.image_set(cfg["images"], cfg["n_images"])
print(ex.notes_text(maps))

# %%
from attx_core.experiments.explorer import live_explorer, static_explorer

static_explorer(maps, imgs.x.permute(0, 2, 3, 1).numpy(), imgs.names)

# %%
print(ex.provenance_line(maps))

# %% [markdown]
# ## Live (needs a kernel)

# %%
model = ex.resolve_model(cfg["models"][0]).model
live_explorer(model, imgs.x, imgs.labels, imgs.names, list(cfg["methods"]))

# %%
print("Interpretation: the static selector shows the same maps as Figure 4; moving the live slider shows how each method's map sharpens with more steps or samples.")
