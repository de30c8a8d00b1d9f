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
# # Table 6: AttEXplore's integrator over other attacks' paths
#
# Appendix A of the paper replaces AttEXplore's exploration (frequency-domain copies + input diversity + translation invariance + momentum, the SSA-style attack) by other transferable attacks, and by no attack at all. Each row runs as the old code behind this table ran it (`preset="table6"`, commit 2f6028b of the authors' repository): row 'ssa' is AttEXplore as published; the other rows step on the double-softmax probability of the label in the adversarial direction with each attack's own settings (DI and TI shrink copies to [201, 224) px, FGSM/PGD integrate raw gradients); NoAttack is the plain 10-step sign path left in that code. That code also never zeroed its input gradient in five rows: `preset="table6_accumulate"` reproduces it, and the published-vs-corrected chapter measures the difference. Not reproduced: SINI's look-ahead sign and NAA's noisy ensemble (see the method card).

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input", "full-width"]
from attx_core.book import page

frames = page.render(profile, "table06_attacks", force, **overrides)
