"""Statistics for claims over images: confidence sequences, their coverage, verdicts.

A low-level package: it imports nothing of attx_core above :mod:`attx_core.validate`, so every layer (metrics,
robust, experiments, the planner, the book) may use it.

* :mod:`.confseq`: confidence sequences for a mean over images, valid at every n
  (asymptotic, the default; exact bounded-range, optional), the relative-difference
  sequence and the projection of images needed.
* :mod:`.verdicts`: the verdict rule (reversed, reproduced, ruled out, not separable, open).
* :mod:`.bootstrap`: the mean over images with its percentile-bootstrap interval (the tables' CSV columns).
* :mod:`.paired`: paired differences on the same images and rank agreement with the paper (bootstrap, fixed n).
* :mod:`.coverage`: the simulation that measures how often each interval holds the true
  mean at every look.
"""
from .bootstrap import mean_ci
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
from .coverage import resampled_coverage, simulate_coverage
from .paired import LOWER_IS_BETTER, paired_differences, rank_agreement, t_interval
from .verdicts import DECIDED, KINDS, SUBSET_SIZE, VERDICTS, Verdict, decide, per_image_trend

__all__ = [
    "LOWER_IS_BETTER",
    "mean_ci",
    "paired_differences",
    "rank_agreement",
    "t_interval",
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
    "resampled_coverage",
    "simulate_coverage",
]
