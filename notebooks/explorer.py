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
# **AttEXplore's knobs, without a kernel.** AttEXplore moves an image step by step along an *exploration path* drawn with a
# transferable attack's machinery (sign steps, momentum, perturbed copies) and adds up how far each pixel moved times the
# gradient that moved it. Three knobs shape that path: **epsilon** (how far the path may go from the image), the
# **samples** per step (SSA's `N` spectrum copies, MIG's `scales`, GRA's `neighbours`: how many perturbed copies are
# averaged into each step's gradient) and **num_steps**. The *explorer* is the attack that draws the path: `ssa` is
# AttEXplore as published; MIG, GRA and PGD are AttEXplore++ explorers; `none` is the plain sign path (the paper's
# NoAttack row). PGD and the sign path draw one gradient per step, so their samples slider is switched off.
#
# Everything below is precomputed into the results store and switched in the browser:
#
# - **A and B**: two settings side by side, each map scaled to its own 99th percentile (colour scale beside it), and their
#   difference B &minus; A. Start from AttEXplore as published (A) against the paper's preferred epsilon 48/255 (B).
# - **Insertion and deletion curves** of the image: a good map makes the model confident early when its top pixels are
#   inserted (blue, higher is better) and unconfident early when they are deleted (red, lower is better).
# - **The mean over the images** of every setting, drawn against each knob with the paper's own trend beside it (Tables 3,
#   4 and 5 vary N, num_steps and epsilon on Inception-v3, ResNet-50 and VGG-16). With four images and a stand-in model
#   this shows *how* the numbers move, not whether the paper's differences of 0.001-0.01 hold: the ablation chapters
#   test that on many more images.
# - **The path behind one map**: the perturbation after each step, the running map, and the model's probability of the
#   label along the way; then what the model sees at the first step (the spectrum copies).
#
# Curves use 3,584 pixels per step (15 points), so their AUCs are display values, not Table 1's.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from IPython.display import HTML

from attx_core import chapters
from attx_core import experiments as ex
from attx_core.book import page
from attx_core.data import ImageDataError
from attx_core.experiments.explorer import exploration_path, grid_explorer, live_explorer, paper_trends, static_explorer, trend_summary
from attx_core.experiments.runners import SAMPLE_KNOBS


def stored_photos(images: str, n_images: int | None):
    """The photos of an image set, or None where they are not on this machine (the maps come from the store alone)."""
    try:
        return ex.image_set(images, n_images)
    except ImageDataError:
        return None


gcfg = chapters.settings(profile, "explorer", **overrides)
opts = chapters.run_options(profile, force)
grid = ex.explorer_grid(**gcfg, **opts)
path = exploration_path(**gcfg, **opts)
gnames = ex.image_ids(gcfg["images"], gcfg["n_images"])[0]
gphotos = stored_photos(gcfg["images"], gcfg["n_images"])
paper = paper_trends(gcfg["models"][0])
if len(grid):
    if gphotos is None:
        display(HTML("<p><i>Photos not on this machine: the maps are drawn from the store alone.</i></p>"))
    pixels = None if gphotos is None else gphotos.x.permute(0, 2, 3, 1).numpy()
    display(HTML(grid_explorer(grid, pixels, gnames, SAMPLE_KNOBS, paper=paper, path=path)))
    display(page.status_line(profile, "explorer"))
else:
    display(HTML(f"<p><b>No grid stored yet</b> for profile {profile}: <code>attx compute --profile {profile} "
                 "--only explorer</code> computes it.</p>"))

# %% [markdown]
# ## The paper's trends in one table
#
# AttEXplore as published (SSA) at the two ends of each knob the grid varies, the other knobs at the paper's values;
# mean over the images beside the paper's table for its model. Only the direction can be compared: our curves are
# display curves on a stand-in model, and four images leave differences this small unresolved.

# %% tags=["hide-input"]
if len(grid):
    display(HTML(trend_summary(grid, paper)))

# %% [markdown]
# ## Every method on the Figure 4 images
#
# The slider picks the image: every method's map of it, as stored by the Figure 4 chapter (56x56, each scaled to its own
# 99th percentile), with the photo beside them where the image files are on this machine.

# %% tags=["hide-input"]
cfg = chapters.settings(profile, "figure04_heatmaps", **overrides)
maps = ex.heatmap_grid(**cfg, **opts)
if len(maps):
    names = ex.image_ids(cfg["images"], cfg["n_images"])[0]
    photos = stored_photos(cfg["images"], cfg["n_images"])
    if photos is None:
        display(HTML("<p><i>Photos not on this machine (the ImageNet validation subset): the maps are drawn from the store alone.</i></p>"))
    display(HTML(static_explorer(maps, None if photos is None else photos.x.permute(0, 2, 3, 1).numpy(), names)))
else:
    display(HTML(f"<p><b>No maps stored yet</b> for profile {profile}: <code>attx compute --profile {profile} "
                 "--only figure04_heatmaps</code> computes them.</p>"))

# %% [markdown]
# ## Live (needs a kernel)
#
# This widget recomputes a map when you move its slider; it needs a running kernel (open
# `notebooks/explorer.py` in Jupyter), so here it only shows its first state.

# %% tags=["hide-input"]
if gphotos is not None:
    model = ex.resolve_model(gcfg["models"][0], stand_in=gcfg.get("stand_ins", False), random_weights=bool(gcfg.get("random_weights"))).model
    display(live_explorer(model, gphotos.x, gphotos.labels, gphotos.names, sorted(cfg["methods"], key=lambda m: m != "attexplore")))

# %% tags=["hide-input"]
page.settings_dropdown(gcfg, grid)
