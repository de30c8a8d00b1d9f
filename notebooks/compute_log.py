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
# # Compute log: what the store holds, computed when and on what
#
# Every number in this book comes from the profile's results store (`data/results/<profile>/`), filled by
# `attx compute`. Each record keeps the provenance of the run that stored it: the date, the commit, the CPU and its
# instruction sets, the threads and the forward backend (path methods' numbers depend on the last three). Records
# stored before per-record provenance existed keep only their entry's, shown separately. Read from the store on
# every build; nothing is computed here.

# %% tags=["parameters", "hide-input"]
profile = "standard"
force = False

# %% tags=["hide-input", "full-width"]
from attx_core.book.logs import compute_log

compute_log(profile)
