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

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "table08_infd", **overrides)
print(ex.settings_text(cfg))

# %%
ours = ex.infd_table(**cfg, force=force)
cmp = ex.compare(ours, "table08_infd")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "paper_label", "metric"))

# %%
fig = ex.plots.paper_vs_ours(cmp, x="paper_label", title="Table 8: INFD, paper (grey) vs ours (blue), lower is better")

# %%
print(ex.provenance_line(ours))

# %%
print(ex.check("table08_infd", cmp).sentence())
