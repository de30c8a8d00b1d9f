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

# %% tags=["hide-input"]
from attx_core import experiments as ex
from attx_core.experiments import page

cfg = ex.settings(profile, "table08_infd", **overrides)

# %% tags=["hide-input", "full-width"]
ours = ex.infd_table(**cfg, **ex.run_options(profile, force))
cmp = ex.compare(ours, "table08_infd")
display(ex.paper_layout(cmp))
display(page.status_line(cmp, cfg, "table08_infd"))
display(page.verdict_box(ex.check("table08_infd", cmp, ours)))

# %% tags=["hide-input"]
fig = ex.plots.paper_vs_ours(cmp, x="paper_label", title="Table 8: INFD, paper (grey) vs ours (blue), lower is better")

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
