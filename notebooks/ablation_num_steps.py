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
# # Tables 4 and 11: the number of attack iterations num_steps
#
# num_steps is the number of exploration steps (each of N gradient samples); the step size is epsilon / num_steps, so more steps walk the same epsilon-ball more finely. The paper fixes epsilon 16/255 and N 20.
#
# Table 4's claim (a minor influence) is decided by an equivalence test on the extreme settings, 5 and 30: after the
# first look only those two grow, so the middle rows keep the n of their first look.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input", "full-width"]
from attx_core.book import page

frames = page.render(profile, "ablation_num_steps", force, **overrides)
