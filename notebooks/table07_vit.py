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
# # Table 7: ViT-B/16
#
# Appendix C repeats Table 1 on a vision transformer. Offline there are no ViT-B/16 ImageNet weights; the chapter then runs the EfficientNet-Lite analogue (the same network and settings as Table 1's, so its numbers come from Table 1's cache and add no evidence about transformers). With the weights in the torch cache (or a weights file), the real ViT-B/16 runs instead.

# %% tags=["parameters"]
profile = "quick"
force = False
overrides = {}

# %%
from attx_core import experiments as ex

cfg = ex.settings(profile, "table07_vit", **overrides)
print(ex.settings_text(cfg))

# %%
ours = ex.insdel_table(**cfg, force=force)
cmp = ex.compare(ours, "table07_vit")
print(ex.notes_text(ours))
ex.display_table(cmp, index=("model", "paper_label", "metric"))

# %%
fig = ex.plots.paper_vs_ours(cmp, x="paper_label", title="Table 7: paper (ViT-B/16, grey) vs ours (blue)")

# %%
print(ex.provenance_line(ours))

# %%
print(ex.check("table07_vit", cmp).sentence())
