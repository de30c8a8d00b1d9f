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
# # Does the ranking depend on the substrate?
#
# Table 1 removes and inserts pixels over a black image. A black patch is far from the images a classifier was trained
# on, so a method may score well partly because its removal pattern fools the network, not because its pixels matter
# (Rong et al., ICML 2022, "A Consistent and Efficient Evaluation Strategy for Attribution Methods"). This page scores
# the same maps as Table 1 under two other substrates and asks whether AttEXplore still leads:
#
# * **blurred**: RISE's blurred image (a Gaussian of sigma 5 pixels on an 11x11 kernel, zero padding at the border),
#   with everything else as in Table 1 (224 pixels per step, the published channel-union order): the same 450 forward
#   passes as Table 1's metric, about 11 CPU-seconds per image and method on one thread.
# * **ROAD imputation**: ROAD's noisy linear imputation (`NoisyLinearImputer` of tleemann/road_evaluation): every
#   removed pixel is the weighted mean of its eight neighbours (direct ones 1/6, diagonal ones 1/12), one sparse linear
#   system over all removed pixels, plus Gaussian noise of standard deviation 0.01 on [0, 1] pixel values. Pixels are
#   ranked as ROAD ranks them (the channel-summed map). **Coarser than Table 1**: at Table 1's 224 pixels per step,
#   ROAD's imputation would cost 57-72 CPU-seconds per image and method, 5-6 times Table 1's whole metric (11 s: 450
#   forward passes of EfficientNet-Lite0), because every curve point solves a linear system of up to 50,000 unknowns
#   (measured on 4 images, one thread). It runs at ROAD's own removal fractions instead, 10%, 20%, ..., 90% of the pixels
#   (18 systems and 18 forwards per image: 2-3 s); its insertion and deletion AUCs are the trapezoid over these nine
#   points, normalised by their span. A whole image cannot be imputed (no pixel to impute from): 0% and 100% are not
#   among them.
#
# The score is Table 1's: the softmax probability of the clean image's top-1 class. Every AUC here is of Table 1's map
# of the image: read from Table 1's record where it carries the substrates' AUCs (computed in the same batch as Table 1's
# own), else from this chapter's own store entry, which recomputes the map once for an image whose Table-1 record
# predates them. The claims are ours, decided like Table 1's (paired per-image differences, 95% confidence sequences):
# AttEXplore minus each rival.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from attx_core import chapters
from attx_core import experiments as ex
from attx_core.book import page
from attx_core.chapters.substrates import NAMES, ranks
from attx_core.experiments.compare import labels

cfg = chapters.settings(profile, "substrates", **overrides)
ours = chapters.get("substrates").sections[0].run(cfg, chapters.run_options(profile, force))
if not overrides:
    display(page.status_line(profile, "substrates"))
page.claim_boxes(profile, "substrates", frame=ours if overrides else None, **overrides)

# %% [markdown]
# ## AttEXplore's rank under each substrate
#
# The methods ranked by their mean insertion (1 = highest) and mean deletion (1 = lowest) over the images every
# method has under every substrate, so each column ranks the same images. Ranks are means, not decisions: the claims
# above decide on the paired differences.

# %% tags=["hide-input"]
names = labels("table01_insdel")
table = ranks(ours)
if len(table):
    table = table.assign(substrate=table.substrate.map(lambda s: NAMES.get(s, s)),
                         **{c: table[c].map(lambda m: names.get(m, m)) for c in ("highest insertion", "lowest deletion")})
(table.drop(columns="model").style.hide(axis="index") if len(table)
 else page.sentence("Not computed yet: no image has every method under every substrate."))

# %% [markdown]
# ## AttEXplore minus each rival, per substrate
#
# Insertion differences with their 95% confidence sequences (hollow: fewer than 16 images, no interval); right of 0,
# AttEXplore scores higher. The last column, on each substrate's first row: the CPU-hours on one thread its claim's
# verdict is still projected to need.

# %% tags=["hide-input"]
overview = page.claims_overview(profile, "substrates")
if len(overview):
    overview = overview.assign(compared=overview.compared.map(lambda s: NAMES.get(s, s)) + ": " + overview.arms)
fig = ex.plots.intervals(overview, title="AttEXplore minus each rival, insertion, per substrate")
page.overview_table(overview, drop=["arms"])

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
