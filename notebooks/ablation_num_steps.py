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

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "ablation_num_steps", **overrides)
print(ex.settings_text(cfg))

# %% [markdown]
# ## Table 4: num_steps = 5 ... 30

# %%
ours = ex.ablation(**ex.ablation_section(cfg, "table04_num_steps"), force=force)
cmp = ex.compare(ours, "table04_num_steps")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "setting", "metric"))

# %%
fig = ex.plots.ablation_curves(cmp, "num_steps", title="Table 4: num_steps = 5 ... 30")
print(ex.provenance_line(ours))
print(ex.check("table04_num_steps", cmp).sentence())

# %% [markdown]
# ## Table 11: num_steps < 5

# %%
ours = ex.ablation(**ex.ablation_section(cfg, "table11_num_steps_small"), force=force)
cmp = ex.compare(ours, "table11_num_steps_small")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "setting", "metric"))

# %%
fig = ex.plots.ablation_curves(cmp, "num_steps", title="Table 11: num_steps < 5")
print(ex.provenance_line(ours))
print(ex.check("table11_num_steps_small", cmp).sentence())
