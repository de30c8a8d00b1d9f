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
# without losing much accuracy. The authors' nets are trained here per objective with the authors'
# per-dataset settings (`attx_core.robust.SETTINGS`: radius MNIST 0.3, Fashion-MNIST 0.1, GTSRB and
# Oxford Flower-17 8/255; RAR's lambda and m = 50; Sarkar et al.'s lambda 0.1 and 20 IG points); each
# row reports natural accuracy (NA), PGD accuracy with the training attack (AA), and top-k intersection,
# Kendall tau and Spearman rho between the original and the attacked IG maps (the authors' attack: the
# share of the normalised saliency on the original top-k, the iterate with the lowest Kendall; higher =
# more robust), with 95% bootstrap intervals over the attacked images. The paper's result tables could
# not be found in any stored copy; the claim to test is the abstract's 3-9% better attributional robustness.
# At the `cpu` scale (32 training steps) MNIST's eps-0.3 nets stay near chance, so MNIST runs at a scale of its
# own (`mnist_cpu`: one epoch of the whole training split, 938 steps, the radius warmed up over the first half of the
# steps, which the authors' code does not do, and lr / 10 for the last quarter); nets below 0.5 natural accuracy are left
# out of the verdict.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from attx_core import chapters
from attx_core import experiments as ex
from attx_core.book import page
from attx_core.chapters.robustness import scale_sentence, study

cfg = chapters.settings(profile, "robustness", **overrides)

# %% tags=["hide-input"]
ours = study(**cfg, **chapters.run_options(profile, force))
display(page.claim_boxes(profile, "robustness"))
display(page.sentence(ex.robustness_sentence(ours)))
display(page.status_line(profile, "robustness"))
display(page.robustness_scale(cfg["robust_scale"]))
if scale_sentence(**cfg):
    display(page.sentence(scale_sentence(**cfg)))
page.robustness_table(ours)

# %% [markdown]
# Paired differences: each objective minus natural and minus PGD training on the same attacked test images
# (those both nets classify correctly), bootstrap 95% intervals; higher = more robust. This decides the claim.

# %% tags=["hide-input"]
page.robustness_paired(ours)

# %% tags=["hide-input"]
fig = ex.plots.robustness_bars(ours)

# %% [markdown]
# How large is each loss term? `<term>_init` is the mean over the first training batch (at initialisation),
# `<term>_final` the mean over the last epoch; terms are raw (before lambda). The distribution term starts
# near zero: IG maps sum to |delta p| <= 1 over all pixels, so their softmax over pixels is almost uniform.

# %% tags=["hide-input"]
terms = [c for c in ("ce_init", "ig_norm_init", "dist_init", "sign_init", "ce_final", "ig_norm_final", "dist_final", "sign_final") if c in ours]
ours[["dataset", "objective", *terms]].style.hide(axis="index").format({t: "{:.3g}" for t in terms}, na_rep="–") if terms else "no term sizes stored"

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
