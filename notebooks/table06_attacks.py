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
# Appendix A of the paper replaces AttEXplore's exploration (frequency-domain copies + input diversity + translation invariance + momentum, the SSA-style attack) by other transferable attacks, and by no attack at all (NoAttack: the same integrator and momentum without an exploration transform). Row 'ssa' is AttEXplore as published; the other explorers step as the library's attacks do (the old Table-6 code's never-zeroed gradient is available as reference_bugs=True, see the published-vs-corrected chapter).

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "table06_attacks", **overrides)
print(ex.settings_text(cfg))

# %%
ours = ex.attack_explorers(**cfg, force=force)
cmp = ex.compare(ours, "table06_attacks")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "setting", "metric"))

# %%
fig = ex.plots.paper_vs_ours(cmp, x="setting", title="Table 6: attack explorers, paper (grey) vs ours (blue)")

# %%
print(ex.provenance_line(ours))

# %%
print(ex.check("table06_attacks", cmp).sentence())
