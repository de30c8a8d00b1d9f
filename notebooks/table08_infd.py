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
# # Table 8: infidelity (INFD)
#
# Appendix D: infidelity (Yeh et al. 2019) as the authors compute it: perturbations of 224*224 random entries by clip(x + 0.2 z), the attribution's explained change against the change of the label's logit, optimally rescaled; lower is more faithful. Grad-CAM is not in the paper's table.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input", "full-width"]
from attx_core.book import page

frames = page.render(profile, "table08_infd", force, **overrides)
