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

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from attx_core import experiments as ex
from attx_core.experiments import page

cfg = ex.settings(profile, "ablation_epsilon", **overrides)

# %% [markdown]
# ## Table 5: epsilon = 8 ... 48 (/255)

# %% tags=["hide-input", "full-width"]
ours = ex.ablation(**ex.ablation_section(cfg, "table05_epsilon"), **ex.run_options(profile, force))
cmp = ex.compare(ours, "table05_epsilon")
display(ex.paper_layout(cmp, row="setting"))
display(page.status_line(cmp, cfg, "ablation_epsilon"))
display(page.verdict_box(ex.check("table05_epsilon", cmp, ours)))

# %% tags=["hide-input"]
fig = ex.plots.ablation_curves(cmp, "epsilon", title="Table 5: epsilon = 8 ... 48 (/255)")

# %% [markdown]
# ## Table 12: epsilon < 8 (/255)

# %% tags=["hide-input", "full-width"]
ours = ex.ablation(**ex.ablation_section(cfg, "table12_epsilon_small"), **ex.run_options(profile, force))
cmp = ex.compare(ours, "table12_epsilon_small")
display(ex.paper_layout(cmp, row="setting"))
display(page.status_line(cmp, cfg, "ablation_epsilon"))
display(page.verdict_box(ex.check("table12_epsilon_small", cmp, ours)))

# %% tags=["hide-input"]
fig = ex.plots.ablation_curves(cmp, "epsilon", title="Table 12: epsilon < 8 (/255)")

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
