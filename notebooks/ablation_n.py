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

# %% tags=["hide-input"]
from attx_core import experiments as ex
from attx_core.experiments import page

cfg = ex.settings(profile, "ablation_n", **overrides)

# %% [markdown]
# ## Table 3: N = 10 ... 60 (epsilon 16/255, num_steps 10)

# %% tags=["hide-input", "full-width"]
ours = ex.ablation(**ex.ablation_section(cfg, "table03_n"), **ex.run_options(profile, force))
cmp = ex.compare(ours, "table03_n")
display(ex.paper_layout(cmp, row="setting"))
display(page.status_line(cmp, cfg, "ablation_n"))
display(page.verdict_box(ex.check("table03_n", cmp, ours)))

# %% tags=["hide-input"]
fig = ex.plots.ablation_curves(cmp, "N", title="Table 3: N = 10 ... 60 (epsilon 16/255, num_steps 10)")

# %% [markdown]
# ## Table 9: N < 10

# %% tags=["hide-input", "full-width"]
ours = ex.ablation(**ex.ablation_section(cfg, "table09_n_small"), **ex.run_options(profile, force))
cmp = ex.compare(ours, "table09_n_small")
display(ex.paper_layout(cmp, row="setting"))
display(page.status_line(cmp, cfg, "ablation_n"))
display(page.verdict_box(ex.check("table09_n_small", cmp, ours)))

# %% tags=["hide-input"]
fig = ex.plots.ablation_curves(cmp, "N", title="Table 9: N < 10")

# %% [markdown]
# ## Table 10: N at perturbation rate 48/255

# %% tags=["hide-input", "full-width"]
ours = ex.ablation(**ex.ablation_section(cfg, "table10_n_eps48"), **ex.run_options(profile, force))
cmp = ex.compare(ours, "table10_n_eps48")
display(ex.paper_layout(cmp, row="setting"))
display(page.status_line(cmp, cfg, "ablation_n"))
display(page.verdict_box(ex.check("table10_n_eps48", cmp, ours)))

# %% tags=["hide-input"]
fig = ex.plots.ablation_curves(cmp, "N", title="Table 10: N at perturbation rate 48/255")

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
