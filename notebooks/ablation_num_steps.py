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

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from attx_core import experiments as ex
from attx_core.experiments import page

cfg = ex.settings(profile, "ablation_num_steps", **overrides)

# %% [markdown]
# ## Table 4: num_steps = 5 ... 30

# %% tags=["hide-input", "full-width"]
ours = ex.ablation(**ex.ablation_section(cfg, "table04_num_steps"), **ex.run_options(profile, force))
cmp = ex.compare(ours, "table04_num_steps")
display(ex.paper_layout(cmp, row="setting"))
display(page.status_line(cmp, cfg, "ablation_num_steps"))
display(page.verdict_box(ex.check("table04_num_steps", cmp, ours)))

# %% tags=["hide-input"]
fig = ex.plots.ablation_curves(cmp, "num_steps", title="Table 4: num_steps = 5 ... 30")

# %% [markdown]
# ## Table 11: num_steps < 5

# %% tags=["hide-input", "full-width"]
ours = ex.ablation(**ex.ablation_section(cfg, "table11_num_steps_small"), **ex.run_options(profile, force))
cmp = ex.compare(ours, "table11_num_steps_small")
display(ex.paper_layout(cmp, row="setting"))
display(page.status_line(cmp, cfg, "ablation_num_steps"))
display(page.verdict_box(ex.check("table11_num_steps_small", cmp, ours)))

# %% tags=["hide-input"]
fig = ex.plots.ablation_curves(cmp, "num_steps", title="Table 11: num_steps < 5")

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
