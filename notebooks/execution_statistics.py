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
# # Execution statistics
#
# Each chapter's last execution under this profile, as `attx book` recorded it: when it finished, its wall time
# (kernel start included), and how it ran. A store profile's pages compute nothing: they read what `attx compute`
# stored (see the [compute log](compute_log.ipynb)); another profile's page computes what its store lacks.
# `attx book --only NAME` re-executes one chapter, so the dates may differ from page to page.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False

# %% tags=["hide-input", "full-width"]
from attx_core.book.logs import execution_view

execution_view(profile)
