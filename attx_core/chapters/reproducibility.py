"""The reproducibility page: the recompute audit of the store and how much float rounding moves each method (it reads
what ``attx compute --audit`` and ``bench/float_sensitivity.py`` stored, and computes nothing)."""
from .registry import Chapter, register_chapter

register_chapter(Chapter(name="reproducibility", title="Reproducibility: which numbers re-derive, and how closely", part="Reference", order=5))
