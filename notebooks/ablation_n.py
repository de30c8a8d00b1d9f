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
# # Tables 3, 9 and 10: the number of spectrum samples N
#
# AttEXplore averages the loss gradient over N frequency-domain copies of the current point at every step. The paper varies N with num_steps 10 and epsilon 16/255 (Tables 3 and 9) and at epsilon 48/255 (Table 10).

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input", "full-width"]
from attx_core.book import page

frames = page.render(profile, "ablation_n", force, **overrides)
