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
# # Tables 5 and 12: the perturbation rate epsilon
#
# epsilon bounds the exploration (L-infinity ball around the image, in units of 1/255). The paper fixes N 20 and num_steps 10.
#
# Table 12's claim (a small change) is decided by an equivalence test on the extreme settings, 1/255 and 7/255: after
# the first look only those two grow, so the middle rows keep the n of their first look.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input", "full-width"]
from attx_core.book import page

frames = page.render(profile, "ablation_epsilon", force, **overrides)
