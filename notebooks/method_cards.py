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
# # Method cards
#
# One card per attribution method and per AttEXplore++ explorer, generated from the library's registries
# (`attx methods --card NAME` prints one): what the authors' published code does, what our default is, the
# named options that change it, the cost in forward+backward passes per image, and the conformance test
# that checks the default and each option against a plain re-implementation of the published algorithm.

# %% tags=["parameters"]
profile = "standard"
force = False

# %% tags=["hide-input"]
from IPython.display import Markdown

from attx_core.cards import all_cards

Markdown(all_cards())
