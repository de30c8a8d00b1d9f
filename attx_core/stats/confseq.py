"""Confidence sequences for a mean over images: intervals valid at every n at once.

A fixed-n 95% interval is valid for one look. The book looks after every batch of
images and stops a comparison once it is decided; looked at that way a fixed-n
interval excludes a true difference far more often than 5% of the time (see
``attx_core.stats.coverage``). A confidence sequence (CS) covers the true mean at
*every* n simultaneously with probability 1 - alpha, so it may be read after every
batch and the computation stopped whenever it decides.

Two sequences, both two-sided at level 1 - alpha:

* :func:`asymptotic_cs` (the default): the asymptotic CS of Waudby-Smith, Arbour,
  Sinha, Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic
  confidence sequences", Annals of Statistics 52(6), 2024 (arXiv:2103.06476),
  Theorem 2.2: running mean +- running sd x the unit-variance Robbins normal-mixture
  boundary::

      b(t) = sqrt( 2 (t rho^2 + 1) / (t^2 rho^2) * log( sqrt(t rho^2 + 1) / alpha ) )

  The normal mixture over a symmetric N(0, rho^2) prior is itself two-sided, so alpha
  is used whole, not split in two (as in the paper and the authors' reference code,
  drconfseq's ``std_conjmix_margin``). The running sd here is the n - 1 sample sd: the
  paper's 1/t sd asymptotically, a little more cautious at small n. ``rho`` only moves
  where the sequence is tightest; the paper's
  approximate optimiser for a planned sample size t* is
  ``rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / t*`` (drconfseq's
  ``best_rho2_approx``), tuned here for t* = :data:`T_STAR` images.
  Valid as n grows (a strong-approximation argument), not for every finite n: the
  coverage simulation measures how it behaves on differences like ours.

* :func:`bounded_eb_cs` (exact, optional): the predictable plug-in empirical-Bernstein
  CS (PrPl-EB) of Waudby-Smith & Ramdas, "Estimating means of bounded random
  variables by betting", JRSS-B 86(1), 2024 (arXiv:2010.09686), Theorem 2, for
  observations in a known range. Its coverage holds at every finite n, but with
  differences in [-1, 1] and an sd near 0.1 it is dominated by the range and much
  wider than the asymptotic sequence.

No interval is reported before :data:`BURN_IN` observations (NaN there). The asymptotic
sequence also hides its interval while n < 25 g1^2, g1 the running skewness (the rule
of thumb for the normal approximation to a mean, Cochran, *Sampling Techniques*, 3rd
ed., 1977, sec. 2.15): on strongly skewed differences, like some of our deletion
comparisons, it covers only ~85-90% before that (measured in
``attx_core.stats.coverage``); symmetric differences (|g1| < 0.8) are unaffected.

:func:`images_to_exclude` projects, from the current mean and sd, the n at which the
asymptotic sequence would exclude a value; :func:`relative_cs` is the asymptotic CS of a
relative difference of two means (Fieller-style test inversion).

This module imports only numpy and the standard library, so every layer may use it.
"""
from __future__ import annotations

import math

import numpy as np

ALPHA = 0.05
"""Two-sided error level: 95% sequences."""
T_STAR = 100
"""Planned number of images near which the asymptotic sequence is tightest."""
BURN_IN = 16
"""No interval (NaN) and no verdict before this many observations."""
SKEW_FACTOR = 25
"""Cochran's rule: the normal approximation needs n > 25 g1^2 (g1 the skewness)."""
_MAX_N = 10**15  # projections beyond this many images are reported as never (inf)


def _as_sequences(x: np.ndarray | list[float], name: str) -> np.ndarray:
    """``x`` as a float array of shape (time,) or (sequences, time), finite."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (time) or 2-D (sequences x time), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _check_level(alpha: float, t_star: float) -> None:
    # alpha < 0.5 keeps the boundary decreasing in t, which the projection relies on.
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    if not t_star >= 1:
        raise ValueError(f"t_star must be >= 1, got {t_star!r}")


def mixture_rho2(alpha: float = ALPHA, t_star: float = T_STAR) -> float:
    """The paper's rho^2 that makes the normal-mixture boundary tightest near ``t_star``."""
    _check_level(alpha, t_star)
    log_term = -2.0 * math.log(alpha)
    return (log_term + math.log(log_term + 1.0)) / t_star


def normal_mixture_boundary(t: np.ndarray | float, alpha: float = ALPHA, t_star: float = T_STAR) -> np.ndarray:
    """Unit-variance half-width b(t) of the two-sided asymptotic CS at sample size(s) ``t`` >= 1."""
    rho2 = mixture_rho2(alpha, t_star)
    t = np.asarray(t, dtype=np.float64)
    if (t < 1).any():
        raise ValueError("the boundary is defined for t >= 1")
    scaled = t * rho2 + 1.0
    return np.sqrt(2.0 * scaled / (t * t * rho2) * np.log(np.sqrt(scaled) / alpha))


def _skewness(m2: np.ndarray, m3: np.ndarray, raw2: np.ndarray) -> np.ndarray:
    """Moment skewness m3 / m2^1.5; 0 where the variance m2 is rounding noise next to the raw second moment."""
    real = m2 > 1e-12 * raw2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(real, m3 / np.where(real, m2, 1.0) ** 1.5, 0.0)


def _running_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample sizes, running means, running n - 1 variances and running skewness along the last axis."""
    t = np.arange(1, x.shape[-1] + 1, dtype=np.float64)
    c = x - x[..., :1]  # the statistics are shift-invariant: subtract the first value for accuracy
    m1, r2, r3 = (np.cumsum(c**k, axis=-1) / t for k in (1, 2, 3))
    m2 = np.maximum(r2 - m1**2, 0.0)
    m3 = r3 - 3.0 * m1 * r2 + 2.0 * m1**3
    return t, m1 + x[..., :1], m2 * t / np.maximum(t - 1.0, 1.0), _skewness(m2, m3, r2)


def _hide_before_enough(lo: np.ndarray, hi: np.ndarray, t: np.ndarray, skewness: np.ndarray | None) -> None:
    """NaN where n < BURN_IN, and (when ``skewness`` is given) where n < SKEW_FACTOR * skewness^2."""
    hidden = np.broadcast_to(t < BURN_IN, lo.shape)
    if skewness is not None:
        hidden = hidden | (t < SKEW_FACTOR * skewness**2)
    lo[hidden] = np.nan
    hi[hidden] = np.nan


def asymptotic_cs(
    x: np.ndarray | list[float], alpha: float = ALPHA, t_star: float = T_STAR, skew_guard: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The asymptotic CS for the mean of ``x`` at every n: ``(lo, hi)``, shaped like ``x``.

    ``x`` is 1-D (observations in order) or 2-D (sequences x observations). Entries are
    NaN before :data:`BURN_IN` observations and, with ``skew_guard``, wherever the
    running skewness g1 asks for more: n < :data:`SKEW_FACTOR` * g1^2.
    """
    arr = _as_sequences(x, "x")
    t, mean, var, skewness = _running_moments(arr)
    half = np.sqrt(var) * normal_mixture_boundary(t, alpha, t_star)
    lo, hi = mean - half, mean + half
    _hide_before_enough(lo, hi, t, skewness if skew_guard else None)
    return lo, hi


def min_images(x: np.ndarray | list[float]) -> int:
    """The n from which :func:`asymptotic_cs` shows an interval, judged on the values so far:
    max(BURN_IN, ceil(SKEW_FACTOR * g1^2)) with g1 the skewness of all of 1-D ``x``."""
    arr = _as_sequences(x, "x")
    if arr.ndim != 1:
        raise ValueError(f"min_images takes one sequence (1-D), got shape {arr.shape}")
    if arr.size == 0:
        return BURN_IN
    *_, skewness = _running_moments(arr)
    return max(BURN_IN, math.ceil(SKEW_FACTOR * float(skewness[-1]) ** 2))


def asymptotic_interval(x: np.ndarray | list[float], alpha: float = ALPHA, t_star: float = T_STAR) -> tuple[float, float]:
    """The asymptotic CS of 1-D ``x`` at its last n, ``(lo, hi)`` (NaN while hidden)."""
    arr = _as_sequences(x, "x")
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"asymptotic_interval takes one non-empty sequence (1-D), got shape {arr.shape}")
    lo, hi = asymptotic_cs(arr, alpha, t_star)
    return float(lo[-1]), float(hi[-1])


def first_n_excluding(lo: np.ndarray, hi: np.ndarray, value: float = 0.0) -> int | None:
    """The first n at which a 1-D sequence excludes ``value``, or None if it never does."""
    excluded = (np.asarray(lo) > value) | (np.asarray(hi) < value)  # NaN compares False
    hits = np.flatnonzero(excluded)
    return int(hits[0]) + 1 if hits.size else None


def bounded_eb_cs(
    x: np.ndarray | list[float], alpha: float = ALPHA, lower: float = -1.0, upper: float = 1.0, truncation: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """The exact PrPl-EB CS (Waudby-Smith & Ramdas 2024, Thm 2) for observations in [lower, upper].

    On y = (x - lower) / (upper - lower) in [0, 1], with mu_t = (1/2 + sum y_i) / (t + 1),
    sigma2_t = (1/4 + sum (y_i - mu_i)^2) / (t + 1) and predictable bets
    lambda_t = min(sqrt(2 log(2/alpha) / (sigma2_{t-1} t log(1 + t))), truncation):

        sum(lambda_i y_i) / sum(lambda_i)  +-  (log(2/alpha) + sum v_i psi(lambda_i)) / sum(lambda_i)

    with v_i psi(lambda_i) = (y_i - mu_{i-1})^2 (-log(1 - lambda_i) - lambda_i); mapped back
    to the original scale and clipped to [lower, upper]. Shapes and burn-in as :func:`asymptotic_cs`.
    """
    arr = _as_sequences(x, "x")
    if not lower < upper:
        raise ValueError(f"need lower < upper, got [{lower}, {upper}]")
    if not ((arr >= lower) & (arr <= upper)).all():
        raise ValueError(f"x must lie in [{lower}, {upper}]")
    if not 0.0 < alpha < 1.0 or not 0.0 < truncation < 1.0:
        raise ValueError(f"alpha and truncation must lie in (0, 1), got {alpha!r}, {truncation!r}")
    width = upper - lower
    y = (arr - lower) / width
    t = np.arange(1, y.shape[-1] + 1, dtype=np.float64)
    mu = (0.5 + np.cumsum(y, axis=-1)) / (t + 1.0)
    sigma2 = (0.25 + np.cumsum((y - mu) ** 2, axis=-1)) / (t + 1.0)
    mu_prev = np.concatenate([np.full(y.shape[:-1] + (1,), 0.5), mu[..., :-1]], axis=-1)
    sigma2_prev = np.concatenate([np.full(y.shape[:-1] + (1,), 0.25), sigma2[..., :-1]], axis=-1)
    log_term = math.log(2.0 / alpha)
    lam = np.minimum(np.sqrt(2.0 * log_term / (sigma2_prev * t * np.log1p(t))), truncation)
    lam_sum = np.cumsum(lam, axis=-1)
    centre = np.cumsum(lam * y, axis=-1) / lam_sum
    half = (log_term + np.cumsum((y - mu_prev) ** 2 * (-np.log1p(-lam) - lam), axis=-1)) / lam_sum
    lo = np.clip(lower + width * (centre - half), lower, upper)
    hi = np.clip(lower + width * (centre + half), lower, upper)
    _hide_before_enough(lo, hi, t, None)
    return lo, hi


def images_to_exclude(
    value: float, mean: float, sd: float, n: int, alpha: float = ALPHA, t_star: float = T_STAR
) -> float:
    """The smallest n' >= max(n, BURN_IN) at which an asymptotic CS centred at ``mean`` with
    running sd ``sd`` excludes ``value``: sd * b(n') < |mean - value|. ``math.inf`` when
    ``mean == value`` (no number of images separates them) or beyond 1e15 images.

    A projection, not a promise: it assumes the mean and sd stay where they are now.
    """
    if not (math.isfinite(value) and math.isfinite(mean) and math.isfinite(sd)) or sd < 0:
        raise ValueError(f"need finite value, mean and sd >= 0, got {value!r}, {mean!r}, {sd!r}")
    start = max(int(n), BURN_IN)
    gap = abs(mean - value)
    if gap == 0.0:
        return math.inf
    if sd == 0.0:
        return float(start)
    target = gap / sd  # b(n') < target; b decreases in n'
    if normal_mixture_boundary(start, alpha, t_star) < target:
        return float(start)
    low, high = start, 2 * start  # invariant: b(low) >= target
    while normal_mixture_boundary(high, alpha, t_star) >= target:
        if high > _MAX_N:
            return math.inf
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        if normal_mixture_boundary(mid, alpha, t_star) < target:
            high = mid
        else:
            low = mid
    return float(high)


def implied_sd(lo: float, hi: float, n: int, alpha: float = ALPHA, t_star: float = T_STAR) -> float:
    """The running sd behind an asymptotic-CS interval ``(lo, hi)`` at n: half-width / b(n)."""
    return float((hi - lo) / 2.0 / normal_mixture_boundary(n, alpha, t_star))


def relative_cs(
    a: np.ndarray | list[float], b: np.ndarray | list[float], alpha: float = ALPHA, t_star: float = T_STAR
) -> tuple[np.ndarray, np.ndarray]:
    """Asymptotic CS for the relative difference of means r = mean(a) / mean(b) - 1, at every n.

    ``a`` and ``b`` are paired per-image values of two arms (same shape, as for
    :func:`asymptotic_cs`). By test inversion (Fieller's construction): r belongs to the
    set at n when the asymptotic CS of the paired differences d_i = a_i - (1 + r) b_i,
    whose mean is 0 at the true r, contains 0 at n. With c = 1 + r, B = b(n) and n - 1
    (co)variances this is the quadratic
    (mean_b^2 - B^2 var_b) c^2 - 2 (mean_a mean_b - B^2 cov_ab) c + (mean_a^2 - B^2 var_a) <= 0,
    an interval when mean(b) is separated from 0 (the leading coefficient is positive)
    and reported as (-inf, inf) otherwise. At the true r it inherits the time-uniform
    coverage of the sequence for that one difference. Hidden (NaN) like :func:`asymptotic_cs`,
    the skew guard judged on d at the point estimate r = mean(a) / mean(b) - 1.
    """
    arr_a, arr_b = _as_sequences(a, "a"), _as_sequences(b, "b")
    if arr_a.shape != arr_b.shape:
        raise ValueError(f"a and b must be paired (same shape), got {arr_a.shape} and {arr_b.shape}")
    t = np.arange(1, arr_a.shape[-1] + 1, dtype=np.float64)
    ca, cb = arr_a - arr_a[..., :1], arr_b - arr_b[..., :1]  # shift for accuracy, as in _running_moments

    def run(v: np.ndarray) -> np.ndarray:
        return np.cumsum(v, axis=-1) / t

    ma, mb = run(ca), run(cb)
    raa, rab, rbb = run(ca * ca), run(ca * cb), run(cb * cb)
    # central (1/t) co-moments of (a, b)
    saa, sab, sbb = raa - ma**2, rab - ma * mb, rbb - mb**2
    saaa = run(ca**3) - 3.0 * ma * raa + 2.0 * ma**3
    saab = run(ca * ca * cb) - mb * raa - 2.0 * ma * rab + 2.0 * ma**2 * mb
    sabb = run(ca * cb * cb) - ma * rbb - 2.0 * mb * rab + 2.0 * ma * mb**2
    sbbb = run(cb**3) - 3.0 * mb * rbb + 2.0 * mb**3
    mean_a, mean_b = ma + arr_a[..., :1], mb + arr_b[..., :1]
    ddof = t / np.maximum(t - 1.0, 1.0)
    bound2 = normal_mixture_boundary(t, alpha, t_star) ** 2
    quad = mean_b**2 - bound2 * ddof * np.maximum(sbb, 0.0)
    lin = mean_a * mean_b - bound2 * ddof * sab
    const = mean_a**2 - bound2 * ddof * np.maximum(saa, 0.0)
    bounded = quad > 0
    safe_quad = np.where(bounded, quad, 1.0)
    root = np.sqrt(np.maximum(lin**2 - quad * const, 0.0))  # >= 0 whenever bounded: c = mean_a/mean_b lies inside
    lo = np.where(bounded, (lin - root) / safe_quad - 1.0, -np.inf)
    hi = np.where(bounded, (lin + root) / safe_quad - 1.0, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(mean_b != 0, mean_a / mean_b, 0.0)
    m2 = np.maximum(saa - 2.0 * c * sab + c**2 * sbb, 0.0)
    m3 = saaa - 3.0 * c * saab + 3.0 * c**2 * sabb - c**3 * sbbb
    _hide_before_enough(lo, hi, t, _skewness(m2, m3, raa + c**2 * rbb))
    return lo, hi
