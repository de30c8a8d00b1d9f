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
# # Table 7: ViT-B/16
#
# **Claim.** AttEXplore has the highest insertion score on a vision transformer too (Appendix C repeats
# Table 1 on ViT-B/16).
#
# A claim about transformers can only be checked on a transformer. Where ViT-B/16's ImageNet weights are
# present (torch cache or a weights file) this page runs it; where they are not (this machine is offline),
# it shows the paper's numbers only and says so: a CNN stand-in's numbers under the name ViT-B/16 would
# answer a different question.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input", "full-width"]
from attx_core.book import page

frames = page.render(profile, "table07_vit", force, **overrides)
