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
# **Claim.** AttEXplore has the highest insertion score on a vision transformer too (Appendix C repeats
# Table 1 on ViT-B/16).
#
# A claim about transformers can only be checked on a transformer. Where ViT-B/16's ImageNet weights are
# present (torch cache or a weights file) this page runs it; where they are not (this machine is offline),
# it shows the paper's numbers only and says so: a CNN stand-in's numbers under the name ViT-B/16 would
# answer a different question.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False
overrides = {}

# %% tags=["hide-input"]
from IPython.display import HTML

from attx_core import experiments as ex
from attx_core.experiments import page

cfg = ex.settings(profile, "table07_vit", **overrides)
ours = ex.insdel_table(**cfg, **ex.run_options(profile, force))
ran = {m: a for m, a in ours.attrs.get("analogues", {}).items() if a == m}  # models that ran as themselves
cmp = ex.compare(ours[ours.model.isin(ran)], "table07_vit", models=list(ours.attrs.get("models", [])))
if ran:
    display(page.verdict_box(ex.check("table07_vit", cmp, ours[ours.model.isin(ran)])))
else:
    display(HTML("<p><b>Not run here:</b> ViT-B/16 has no ImageNet weights on this machine, so the table shows the "
                 "paper's numbers only. Where the weights are in the torch cache, "
                 "<code>attx compute --profile paper --only table07_vit --device cuda</code> runs it, and "
                 "<code>attx book --profile paper</code> then shows ours beside the paper's.</p>"))

# %% tags=["hide-input", "full-width"]
display(ex.paper_layout(cmp))
if ran:
    display(page.status_line(cmp, cfg, "table07_vit"))
    fig = ex.plots.paper_vs_ours(cmp, x="paper_label", title="Table 7: paper (grey) vs ours (blue)")

# %% tags=["hide-input"]
page.settings_dropdown(cfg, ours)
