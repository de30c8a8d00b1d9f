"""The verdict rule: what a claim's confidence sequence says about the paper.

Each claim compares two arms image by image and carries a 95% confidence sequence
(:func:`attx_core.stats.confseq.asymptotic_cs`) valid at every n, so its verdict may be
read after every batch. :func:`decide` turns the interval at the current n into one of
:data:`VERDICTS`, checking in this order and taking the first that applies:

1. *too few images*: no interval yet (n below the burn-in of 16, or the skew guard still
   hides it); no verdict.
2. *reversed*: the sequence excludes 0 against the paper's direction.
3. *reproduced, smaller than the paper*: it excludes 0 in the paper's direction and lies
   wholly between 0 and the paper's effect. (An interval wholly beyond the paper's effect,
   a larger effect than published, reads *reproduced*.)
4. *reproduced*: it excludes 0 in the paper's direction.
5. *paper's effect ruled out*: it contains 0 and excludes the paper's effect.
6. *not separable on this subset*: the images needed to decide, projected from the
   interval (:func:`attx_core.stats.confseq.images_to_exclude`), exceed the subset's
   ``n_available`` images.
7. *open*.

Claim kinds (the interval is always for a mean over images, paired by image):

* ``"difference"``: the mean paired difference of a metric (reference - rival), the
  paper's effect an absolute difference (Table 1: AttEXplore's insertion lead).
* ``"relative"``: the relative difference of the means, mean(a) / mean(b) - 1
  (AttEXplore++'s +7.57%); its interval comes from
  :func:`attx_core.stats.confseq.relative_cs` (Fieller-style test inversion).
* ``"trend"`` (growth claims): the interval of the paired difference between the extreme
  settings, plus ``trend``: the interval of the mean of :func:`per_image_trend`. Reversed
  when either excludes 0 against the paper's direction; reproduced only when both exclude
  0 in its direction; the paper's effect is compared with the extreme difference.
* ``"equivalence"`` (minor-influence claims) with a declared ``margin``: *reproduced*
  when the interval lies within [-margin, margin], *reversed* when it lies wholly outside
  it, otherwise *not separable on this subset* or *open* by projection: from the observed
  difference and, while the interval holds 0 (the claim itself: no influence), from 0;
  not separable only when neither would decide within the subset, so that a noisy mean
  near the margin at a few images does not end a claim that 0 would still decide.

Pure functions of numbers: the claim registry and the planner call them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .confseq import ALPHA, BURN_IN, T_STAR, images_to_exclude, implied_sd

REVERSED = "reversed"
REPRODUCED_SMALLER = "reproduced, smaller than the paper"
REPRODUCED = "reproduced"
RULED_OUT = "paper's effect ruled out"
NOT_SEPARABLE = "not separable on this subset"
OPEN = "open"
TOO_FEW = "too few images"
VERDICTS = (REVERSED, REPRODUCED_SMALLER, REPRODUCED, RULED_OUT, NOT_SEPARABLE, OPEN, TOO_FEW)
"""Every verdict :func:`decide` returns, in the order it checks them (too few images first in fact)."""
DECIDED = (REVERSED, REPRODUCED_SMALLER, REPRODUCED, RULED_OUT)
"""Verdicts after which a claim needs no more images."""
KINDS = ("difference", "relative", "trend", "equivalence")
SUBSET_SIZE = 500
"""Images in the evaluation subset: the most any claim can get."""


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict at n images.

    ``images_needed``: the projected total n at which the claim decides (``n`` once
    decided, ``math.inf`` when no count separates it; for *too few images*, the next n
    at which an interval may appear).
    """

    verdict: str
    n: int
    lo: float
    hi: float
    paper: float | None
    paper_inside: bool | None
    images_needed: float


def per_image_trend(values: np.ndarray | list[list[float]]) -> np.ndarray:
    """Per-image least-squares slope of a metric against its settings' rank scaled to [0, 1].

    ``values`` is (images, settings), settings in the claim's order (e.g. increasing
    steps). The slope is the fitted change from the first setting to the last, in the
    metric's units; its mean over images is the slope of the mean curve, so its
    confidence sequence tests a monotone trend of the paper's table row.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"values must be (images, settings >= 2), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("values contain NaN or inf")
    position = np.linspace(0.0, 1.0, arr.shape[1])
    centred = position - position.mean()
    return (arr - arr.mean(axis=1, keepdims=True)) @ centred / (centred @ centred)


def _excludes_zero_towards(lo: float, hi: float, direction: int) -> bool:
    return lo > 0 if direction > 0 else hi < 0


def _excludes_zero_against(lo: float, hi: float, direction: int) -> bool:
    return _excludes_zero_towards(lo, hi, -direction)


def _needed(value: float, lo: float, hi: float, n: int, alpha: float, t_star: float) -> float:
    """Projected n at which the interval (lo, hi) at n would exclude ``value``."""
    return images_to_exclude(value, (lo + hi) / 2.0, implied_sd(lo, hi, n, alpha, t_star), n, alpha, t_star)


def decide(
    lo: float,
    hi: float,
    n: int,
    kind: str = "difference",
    *,
    paper: float | None = None,
    direction: int | None = None,
    margin: float | None = None,
    trend: tuple[float, float] | None = None,
    n_available: int = SUBSET_SIZE,
    min_n: int = BURN_IN,
    alpha: float = ALPHA,
    t_star: float = T_STAR,
) -> Verdict:
    """The verdict of a claim whose asymptotic confidence sequence reads ``(lo, hi)`` at ``n`` images.

    ``paper``: the paper's effect on the interval's scale (absolute difference; relative
    difference for ``"relative"``; extreme-setting difference for ``"trend"``), or None
    when the paper states only a direction. ``direction``: +1 or -1, the sign the paper
    claims (required except for ``"equivalence"``; must agree with ``paper``'s sign).
    ``margin`` (``"equivalence"`` only): the declared equivalence margin, > 0. ``trend``
    (``"trend"`` only): the interval of the mean per-image trend at the same n.
    ``n_available``: the images the subset holds in all. ``min_n``: the n from which the
    sequence shows an interval (:func:`attx_core.stats.confseq.min_images`). The
    projections assume the interval came from ``asymptotic_cs`` with this ``alpha`` and
    ``t_star`` and that the mean and sd stay where they are; an unbounded interval (a
    relative difference whose denominator is not yet separated from 0) projects nothing
    and asks for the whole subset (``images_needed = n_available``, *open*).
    ``direction`` is ignored for ``"equivalence"``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if (margin is not None) != (kind == "equivalence") or (margin is not None and not margin > 0):
        raise ValueError("a margin > 0 is given exactly for kind 'equivalence'")
    if (trend is not None) != (kind == "trend"):
        raise ValueError("a trend interval is given exactly for kind 'trend'")
    if kind != "equivalence":
        if direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1 for kind {kind!r}, got {direction!r}")
        if paper is not None and not paper * direction > 0:
            raise ValueError(f"the paper's effect {paper!r} must be nonzero with the sign of direction {direction}")
    if paper is not None and not math.isfinite(paper):
        raise ValueError(f"the paper's effect must be finite, got {paper!r}")
    intervals = [(lo, hi)] + ([trend] if trend is not None else [])
    if n < BURN_IN or any(math.isnan(a) or math.isnan(b) for a, b in intervals):
        return Verdict(TOO_FEW, n, math.nan, math.nan, paper, None, float(max(min_n, BURN_IN, n + 1)))
    if any(not a <= b for a, b in intervals):
        raise ValueError(f"need lo <= hi, got {intervals}")

    paper_inside = None if paper is None else bool(lo <= paper <= hi)

    def verdict(name: str, needed: float) -> Verdict:
        return Verdict(name, n, float(lo), float(hi), paper, paper_inside, needed)

    def need(value: float, a: float, b: float) -> float:
        if not (math.isfinite(a) and math.isfinite(b)):  # unbounded (relative_cs): nothing to project from
            return float(n_available)
        return max(_needed(value, a, b, n, alpha, t_star), float(min_n))

    if kind == "equivalence":
        assert margin is not None
        if lo > margin or hi < -margin:
            return verdict(REVERSED, float(n))
        if -margin <= lo and hi <= margin:
            return verdict(REPRODUCED, float(n))
        centre = (lo + hi) / 2.0
        needed = need(math.copysign(margin, centre), lo, hi)  # the nearer margin decides either way
        if lo <= 0.0 <= hi:  # no influence is still plausible: were it true, the interval would close inside the margin
            at_zero = images_to_exclude(margin, 0.0, implied_sd(lo, hi, n, alpha, t_star), n, alpha, t_star)
            needed = min(needed, max(at_zero, float(min_n), n + 1.0))  # at least one image more: it is not decided yet
    else:
        assert direction is not None
        if any(_excludes_zero_against(a, b, direction) for a, b in intervals):
            return verdict(REVERSED, float(n))
        if all(_excludes_zero_towards(a, b, direction) for a, b in intervals):
            if paper is not None and (hi < paper if direction > 0 else lo > paper):
                return verdict(REPRODUCED_SMALLER, float(n))
            return verdict(REPRODUCED, float(n))
        if paper is not None and not paper_inside and not _excludes_zero_towards(lo, hi, direction):
            return verdict(RULED_OUT, float(n))
        needed = max(need(0.0, a, b) for a, b in intervals)  # to exclude 0: every interval must
        if paper is not None:
            needed = min(needed, need(paper, lo, hi))
    return verdict(NOT_SEPARABLE if needed > n_available else OPEN, needed)
