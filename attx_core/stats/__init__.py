"""Statistics for claims over images: confidence sequences, their coverage, verdicts.

A low-level package: it imports only numpy, scipy and the standard library, so every
layer of attx_core (metrics, experiments, the planner, the book) may use it.

* :mod:`.confseq`: confidence sequences for a mean over images, valid at every n
  (asymptotic, the default; exact bounded-range, optional), the relative-difference
  sequence and the projection of images needed.
* :mod:`.verdicts`: the verdict rule of issue 25.
* :mod:`.coverage`: the simulation that measures how often each interval holds the true
  mean at every look.
"""
from .confseq import (
    ALPHA,
    BURN_IN,
    SKEW_FACTOR,
    T_STAR,
    asymptotic_cs,
    asymptotic_interval,
    bounded_eb_cs,
    first_n_excluding,
    images_to_exclude,
    implied_sd,
    min_images,
    mixture_rho2,
    normal_mixture_boundary,
    relative_cs,
)
from .coverage import simulate_coverage
from .verdicts import DECIDED, KINDS, SUBSET_SIZE, VERDICTS, Verdict, decide, per_image_trend

__all__ = [
    "ALPHA",
    "BURN_IN",
    "DECIDED",
    "KINDS",
    "SKEW_FACTOR",
    "SUBSET_SIZE",
    "T_STAR",
    "VERDICTS",
    "Verdict",
    "asymptotic_cs",
    "asymptotic_interval",
    "bounded_eb_cs",
    "decide",
    "first_n_excluding",
    "images_to_exclude",
    "implied_sd",
    "min_images",
    "mixture_rho2",
    "normal_mixture_boundary",
    "per_image_trend",
    "relative_cs",
    "simulate_coverage",
]
