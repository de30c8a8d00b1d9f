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

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "ablation_epsilon", **overrides)
print(ex.settings_text(cfg))

# %% [markdown]
# ## Table 5: epsilon = 8 ... 48 (/255)

# %%
ours = ex.ablation(**ex.ablation_section(cfg, "table05_epsilon"), force=force)
cmp = ex.compare(ours, "table05_epsilon")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "setting", "metric"))

# %%
fig = ex.plots.ablation_curves(cmp, "epsilon", title="Table 5: epsilon = 8 ... 48 (/255)")
print(ex.provenance_line(ours))
print(ex.check("table05_epsilon", cmp).sentence())

# %% [markdown]
# ## Table 12: epsilon < 8 (/255)

# %%
ours = ex.ablation(**ex.ablation_section(cfg, "table12_epsilon_small"), force=force)
cmp = ex.compare(ours, "table12_epsilon_small")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "setting", "metric"))

# %%
fig = ex.plots.ablation_curves(cmp, "epsilon", title="Table 12: epsilon < 8 (/255)")
print(ex.provenance_line(ours))
print(ex.check("table12_epsilon_small", cmp).sentence())
