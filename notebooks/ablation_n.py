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

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "ablation_n", **overrides)
print(ex.settings_text(cfg))

# %% [markdown]
# ## Table 3: N = 10 ... 60 (epsilon 16/255, num_steps 10)

# %%
ours = ex.ablation(**ex.ablation_section(cfg, "table03_n"), force=force)
cmp = ex.compare(ours, "table03_n")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "setting", "metric"))

# %%
fig = ex.plots.ablation_curves(cmp, "N", title="Table 3: N = 10 ... 60 (epsilon 16/255, num_steps 10)")
print(ex.provenance_line(ours))
print(ex.check("table03_n", cmp).sentence())

# %% [markdown]
# ## Table 9: N < 10

# %%
ours = ex.ablation(**ex.ablation_section(cfg, "table09_n_small"), force=force)
cmp = ex.compare(ours, "table09_n_small")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "setting", "metric"))

# %%
fig = ex.plots.ablation_curves(cmp, "N", title="Table 9: N < 10")
print(ex.provenance_line(ours))
print(ex.check("table09_n_small", cmp).sentence())

# %% [markdown]
# ## Table 10: N at perturbation rate 48/255

# %%
ours = ex.ablation(**ex.ablation_section(cfg, "table10_n_eps48"), force=force)
cmp = ex.compare(ours, "table10_n_eps48")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "setting", "metric"))

# %%
fig = ex.plots.ablation_curves(cmp, "N", title="Table 10: N at perturbation rate 48/255")
print(ex.provenance_line(ours))
print(ex.check("table10_n_eps48", cmp).sentence())
