"""Confidence sequences, their coverage under continuous monitoring, and the verdict rule (issue 25)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from attx_core.stats import confseq, coverage, verdicts
from attx_core.stats.confseq import (
    BURN_IN,
    asymptotic_cs,
    asymptotic_interval,
    bounded_eb_cs,
    first_n_excluding,
    images_to_exclude,
    implied_sd,
    min_images,
    normal_mixture_boundary,
    relative_cs,
)
from attx_core.stats.verdicts import (
    NOT_SEPARABLE,
    OPEN,
    REPRODUCED,
    REPRODUCED_SMALLER,
    REVERSED,
    RULED_OUT,
    TOO_FEW,
    VERDICTS,
    decide,
    per_image_trend,
)


@pytest.fixture(scope="module")
def measured() -> dict:
    return coverage.simulate_coverage(n_sequences=10_000, seed=25)


# ---------------------------------------------------------------- coverage (issue 25, item 1)


def test_asymptotic_sequence_holds_the_mean_at_every_look(measured):
    assert measured["n_sequences"] == 10_000
    assert (measured["first_look"], measured["last_look"], measured["n_looks"]) == (16, 496, 61)
    assert measured["asymptotic"] >= 0.945
    assert all(by["asymptotic"] >= 0.94 for by in measured["by_skew"].values())


def test_fixed_n_interval_looked_at_every_batch_covers_far_less(measured):
    assert measured["fixed_n_normal"] < 0.90
    assert measured["fixed_n_normal"] < measured["asymptotic"] - 0.2


def test_skew_guard_is_what_keeps_skewed_sequences_covered(measured):
    assert measured["asymptotic_no_skew_guard"] < measured["asymptotic"]
    symmetric = measured["by_skew"][0.0]
    assert symmetric["asymptotic"] == pytest.approx(symmetric["asymptotic_no_skew_guard"], abs=0.005)  # costs nothing when g1 ~ 0


def test_exact_bounded_sequence_covers(measured):
    assert measured["bounded_eb"] >= 0.95


def test_simulated_differences_are_like_ours():
    rng = np.random.default_rng(0)
    x, mean, shape = coverage._draw(rng, 4000, 500)
    assert np.abs(x).max() <= 1.0
    sd = x.std(axis=1)
    assert 0.03 < sd.min() and sd.max() < 0.22  # true sds 0.05-0.2
    assert np.abs(x.mean(axis=1) - mean).max() < 0.05
    skew = np.abs(np.mean((x - x.mean(1, keepdims=True)) ** 3, 1) / sd**3)
    assert skew[shape == 3].mean() > 2.5 and skew[shape == 0].mean() < 0.3


# ---------------------------------------------------------------- the sequences


def test_boundary_formula_and_tuning():
    rho2 = confseq.mixture_rho2()
    log_term = -2 * math.log(0.05)
    assert rho2 == pytest.approx((log_term + math.log(log_term + 1)) / 100)
    t = np.array([16.0, 100.0, 500.0])
    expected = np.sqrt(2 * (t * rho2 + 1) / (t**2 * rho2) * np.log(np.sqrt(t * rho2 + 1) / 0.05))
    np.testing.assert_allclose(normal_mixture_boundary(t), expected)
    b = normal_mixture_boundary(np.arange(1, 10_001))
    assert (np.diff(b) < 0).all()  # decreasing: the projection's bisection relies on it
    # tuned for ~100 images: near t* it is tighter than a sequence tuned for 16 or 2,000
    for other in (16, 2000):
        assert normal_mixture_boundary(100) < normal_mixture_boundary(100, t_star=other)


def test_asymptotic_cs_matches_running_formula_and_burn_in():
    rng = np.random.default_rng(1)
    x = rng.normal(0.1, 0.1, size=200)
    lo, hi = asymptotic_cs(x, skew_guard=False)
    assert lo.shape == hi.shape == x.shape
    assert np.isnan(lo[: BURN_IN - 1]).all() and np.isnan(hi[: BURN_IN - 1]).all()
    assert np.isfinite(lo[BURN_IN - 1 :]).all()
    for n in (16, 57, 200):
        half = x[:n].std(ddof=1) * normal_mixture_boundary(n)
        assert lo[n - 1] == pytest.approx(x[:n].mean() - half)
        assert hi[n - 1] == pytest.approx(x[:n].mean() + half)
    assert asymptotic_interval(x) == (asymptotic_cs(x)[0][-1], asymptotic_cs(x)[1][-1])
    assert all(math.isnan(v) for v in asymptotic_interval(x[:15]))
    # 2-D: each row is its own sequence
    lo2, hi2 = asymptotic_cs(np.stack([x, x[::-1]]), skew_guard=False)
    np.testing.assert_allclose(lo2[0], lo, equal_nan=True)
    np.testing.assert_allclose(hi2[1], asymptotic_cs(x[::-1], skew_guard=False)[1], equal_nan=True)
    # the guard only ever hides, and on symmetric data not for long
    guarded, _ = asymptotic_cs(x)
    shown = np.isfinite(guarded)
    np.testing.assert_array_equal(guarded[shown], lo[shown])
    assert shown[40:].all()
    # wider than a fixed-n interval, by ~1.5x near 140 images
    ratio = (hi[139] - lo[139]) / (2 * 1.959964 * x[:140].std(ddof=1) / math.sqrt(140))
    assert 1.3 < ratio < 1.8


def test_skew_guard_hides_the_interval_until_cochrans_rule_holds():
    rng = np.random.default_rng(2)
    x = np.clip(0.02 + 0.07 * (rng.beta(0.25, 6, size=400) - 0.04) / 0.0728, -1, 1)
    lo, _ = asymptotic_cs(x)
    lo_plain, _ = asymptotic_cs(x, skew_guard=False)
    assert np.isfinite(lo_plain[BURN_IN - 1 :]).all()
    need = min_images(x)
    assert need > 100  # skewness ~3: 25 * 9 = 225
    assert np.isnan(lo[: BURN_IN - 1]).all()
    assert np.isnan(lo[BURN_IN - 1 : 60]).any() and np.isfinite(lo[-1]) == (len(x) >= need)
    assert min_images(rng.normal(size=300)) == BURN_IN


def test_bounded_eb_cs_is_exact_wide_and_bounded():
    rng = np.random.default_rng(3)
    x = np.clip(rng.normal(0.05, 0.1, size=140), -1, 1)
    lo, hi = bounded_eb_cs(x)
    assert np.isnan(lo[: BURN_IN - 1]).all()
    assert (lo[BURN_IN - 1 :] >= -1).all() and (hi[BURN_IN - 1 :] <= 1).all()
    assert 0.15 < hi[-1] - lo[-1] < 0.3  # range-dominated: +-0.1 at n = 140 with sd 0.1
    a_lo, a_hi = asymptotic_cs(x)
    assert hi[-1] - lo[-1] > 2 * (a_hi[-1] - a_lo[-1])
    with pytest.raises(ValueError):
        bounded_eb_cs(x * 20)


def test_first_n_excluding():
    lo = np.array([np.nan, np.nan, -0.1, 0.01, -0.02, 0.03])
    hi = np.array([np.nan, np.nan, 0.3, 0.4, 0.3, 0.3])
    assert first_n_excluding(lo, hi) == 4
    assert first_n_excluding(lo, hi, value=0.35) == 3
    assert first_n_excluding(lo, hi, value=0.1) is None


def test_relative_cs_by_test_inversion():
    rng = np.random.default_rng(4)
    b = rng.uniform(0.2, 0.6, size=300)
    a = np.clip(1.0757 * b + rng.normal(0, 0.05, size=300), 0, 1)
    lo, hi = relative_cs(a, b)
    assert np.isnan(lo[: BURN_IN - 1]).all()
    r = a.mean() / b.mean() - 1
    assert lo[-1] < r < hi[-1] and lo[-1] < 0.0757 < hi[-1]
    # the end points are the r at which the paired differences a - (1 + r) b sit on their CS's edge
    for edge in (lo[-1], hi[-1]):
        d_lo, d_hi = asymptotic_cs(a - (1 + edge) * b)
        assert min(abs(d_lo[-1]), abs(d_hi[-1])) == pytest.approx(0.0, abs=1e-9)
    # coverage of the true ratio at every look, 400 sequences
    bb = rng.uniform(0.2, 0.6, size=(400, 300))
    aa = 1.0757 * bb + rng.normal(0, 0.05, size=bb.shape)
    rlo, rhi = relative_cs(aa, bb)
    looks = np.arange(16, 301, 8) - 1
    missed = ((rlo[:, looks] > 0.0757) | (rhi[:, looks] < 0.0757)).any(axis=1)
    assert missed.mean() <= 0.07


def test_inputs_are_checked():
    with pytest.raises(ValueError):
        asymptotic_cs([0.1, np.nan] * 10)
    with pytest.raises(ValueError):
        asymptotic_cs(np.zeros((2, 2, 20)))
    with pytest.raises(ValueError):
        asymptotic_cs(np.zeros(20), alpha=0.7)
    with pytest.raises(ValueError):
        relative_cs(np.ones(20), np.ones(21))


# ---------------------------------------------------------------- projection


def test_images_to_exclude_is_the_first_n_whose_half_width_clears_the_gap():
    mean, sd = 0.03, 0.1
    n_needed = images_to_exclude(0.0, mean, sd, 20)
    assert n_needed > 20 and n_needed == int(n_needed)
    assert sd * normal_mixture_boundary(n_needed) < mean <= sd * normal_mixture_boundary(n_needed - 1)
    assert images_to_exclude(0.0, 0.5, 0.1, 3) == BURN_IN  # never before the burn-in
    assert images_to_exclude(0.0, 0.5, 0.1, 40) == 40  # already excluded: now
    assert images_to_exclude(0.1, 0.1, 0.2, 40) == math.inf  # mean on the value: never
    assert images_to_exclude(0.0, 1e-9, 0.2, 40) == math.inf  # beyond 1e15 images
    assert images_to_exclude(0.0, 0.01, 0.0, 40) == 40
    # consistent with the sequence: data whose mean and sd stay put exclude 0 where projected
    x = np.tile([0.03 - 0.1, 0.03 + 0.1], 2000)
    lo, _ = asymptotic_cs(x)
    projected = images_to_exclude(0.0, 0.03, 0.1, 16)
    assert abs(first_n_excluding(lo, lo + 1) - projected) <= 2


def test_implied_sd_inverts_the_half_width():
    assert implied_sd(0.1 - 0.2 * normal_mixture_boundary(80), 0.1 + 0.2 * normal_mixture_boundary(80), 80) == pytest.approx(0.2)


# ---------------------------------------------------------------- verdicts (issue 25, item 2)


def _interval(mean: float, sd: float, n: int) -> tuple[float, float]:
    half = sd * float(normal_mixture_boundary(n))
    return mean - half, mean + half


def test_each_verdict_is_reachable_in_the_issues_order():
    seen = {
        decide(-0.10, -0.02, 100, paper=0.05, direction=1).verdict,
        decide(0.01, 0.03, 100, paper=0.05, direction=1).verdict,
        decide(0.02, 0.09, 100, paper=0.05, direction=1).verdict,
        decide(-0.01, 0.03, 100, paper=0.05, direction=1).verdict,
        decide(*_interval(0.0002, 0.035, 140), 140, paper=0.004, direction=1).verdict,
        decide(*_interval(0.02, 0.15, 40), 40, paper=0.05, direction=1).verdict,
        decide(math.nan, math.nan, 10, paper=0.05, direction=1).verdict,
    }
    assert seen == set(VERDICTS)


def test_verdict_fields_and_order_of_checks():
    v = decide(-0.012, 0.039, 140, paper=0.049, direction=1)  # Table 1, Lite0, insertion vs AGI
    assert v.verdict == RULED_OUT and v.paper_inside is False and v.images_needed == 140
    assert (v.n, v.lo, v.hi, v.paper) == (140, -0.012, 0.039, 0.049)
    # reproduced beats ruled-out: excludes 0 in the paper's direction and the paper's effect
    assert decide(0.01, 0.03, 100, paper=0.05, direction=1).verdict == REPRODUCED_SMALLER
    # an effect wholly larger than the paper's is reproduced, not "smaller"
    v = decide(0.10, 0.20, 100, paper=0.05, direction=1)
    assert v.verdict == REPRODUCED and v.paper_inside is False
    v = decide(0.02, 0.09, 100, paper=0.05, direction=1)
    assert v.verdict == REPRODUCED and v.paper_inside is True
    # a direction-only claim
    assert decide(0.02, 0.09, 100, direction=1).paper_inside is None
    assert decide(-0.02, 0.09, 100, direction=1).verdict == OPEN
    # negative direction (e.g. a lower deletion score is better)
    assert decide(-0.09, -0.02, 100, paper=-0.05, direction=-1).verdict == REPRODUCED
    assert decide(-0.03, -0.01, 100, paper=-0.05, direction=-1).verdict == REPRODUCED_SMALLER
    assert decide(0.004, 0.025, 140, paper=-0.01, direction=-1).verdict == REVERSED
    assert decide(-0.004, 0.025, 140, paper=-0.05, direction=-1).verdict == RULED_OUT


def test_too_few_images_below_the_burn_in_or_while_hidden():
    v = decide(0.1, 0.3, BURN_IN - 1, paper=0.05, direction=1)
    assert v.verdict == TOO_FEW and math.isnan(v.lo) and v.images_needed == BURN_IN
    v = decide(math.nan, math.nan, 140, paper=0.05, direction=1, min_n=289)  # skew guard still hiding it
    assert v.verdict == TOO_FEW and v.images_needed == 289
    assert decide(0.1, 0.3, BURN_IN, paper=0.2, direction=1).verdict == REPRODUCED


def test_not_separable_versus_open_follows_the_projection():
    lo, hi = _interval(0.0002, 0.035, 140)  # like deletion vs BIG: 500 images separate it neither from 0 nor from 0.004
    v = decide(lo, hi, 140, paper=0.004, direction=1)
    assert v.verdict == NOT_SEPARABLE and v.images_needed > 500 and v.paper_inside
    v = decide(lo, hi, 140, paper=0.004, direction=1, n_available=10**7)
    assert v.verdict == OPEN
    # open: the paper's effect or 0 will be excluded within the subset
    lo, hi = _interval(0.02, 0.15, 40)
    v = decide(lo, hi, 40, paper=0.05, direction=1)
    needed = min(images_to_exclude(0.0, 0.02, 0.15, 40), images_to_exclude(0.05, 0.02, 0.15, 40))
    assert v.verdict == OPEN and v.images_needed == pytest.approx(needed, abs=1)
    assert decide(lo, hi, 40, paper=0.05, direction=1, min_n=400).images_needed == 400


def test_relative_claims_use_the_relative_interval():
    rng = np.random.default_rng(5)
    b = rng.uniform(0.2, 0.6, size=200)
    a = np.clip(1.03 * b + rng.normal(0, 0.03, size=200), 0, 1)
    lo, hi = relative_cs(a, b)
    v = decide(lo[-1], hi[-1], 200, "relative", paper=0.0757, direction=1)
    assert v.verdict == REPRODUCED_SMALLER and 0 < v.lo < v.hi < 0.0757
    assert decide(-math.inf, math.inf, 20, "relative", paper=0.0757, direction=1).verdict == OPEN


def test_trend_claims_need_the_extreme_difference_and_the_trend():
    values = np.array([[0.1, 0.2, 0.3], [0.3, 0.3, 0.3], [0.5, 0.4, 0.3]])
    np.testing.assert_allclose(per_image_trend(values), [0.2, 0.0, -0.2])
    assert decide(0.02, 0.08, 100, "trend", paper=0.05, direction=1, trend=(0.01, 0.05)).verdict == REPRODUCED
    assert decide(0.02, 0.04, 100, "trend", paper=0.05, direction=1, trend=(0.01, 0.05)).verdict == REPRODUCED_SMALLER
    assert decide(0.02, 0.08, 100, "trend", paper=0.05, direction=1, trend=(-0.05, -0.01)).verdict == REVERSED
    v = decide(0.02, 0.08, 100, "trend", paper=0.05, direction=1, trend=(-0.01, 0.05))
    assert v.verdict in (OPEN, NOT_SEPARABLE) and v.images_needed > 100
    assert decide(-0.01, 0.02, 100, "trend", paper=0.05, direction=1, trend=(0.01, 0.05)).verdict == RULED_OUT
    with pytest.raises(ValueError):
        decide(0.02, 0.08, 100, "trend", paper=0.05, direction=1)


def test_equivalence_claims_against_their_margin():
    assert decide(-0.01, 0.015, 100, "equivalence", margin=0.02).verdict == REPRODUCED
    assert decide(0.03, 0.06, 100, "equivalence", margin=0.02).verdict == REVERSED
    assert decide(-0.06, -0.03, 100, "equivalence", margin=0.02).verdict == REVERSED
    lo, hi = _interval(0.005, 0.05, 60)  # straddles +margin, centre inside
    v = decide(lo, hi, 60, "equivalence", margin=0.02)
    assert v.verdict == OPEN and 60 < v.images_needed <= images_to_exclude(0.02, 0.005, 0.05, 60)
    lo, hi = _interval(0.019, 0.02, 60)  # centre on the margin, 0 excluded: no count decides it
    assert lo > 0 and decide(lo, hi, 60, "equivalence", margin=0.02).verdict == NOT_SEPARABLE
    lo, hi = _interval(0.019, 0.1, 60)  # centre on the margin, but 0 (no influence) still inside and decidable in time
    v = decide(lo, hi, 60, "equivalence", margin=0.02)
    assert v.verdict == OPEN and v.images_needed == images_to_exclude(0.02, 0.0, 0.1, 60) < 500
    lo, hi = _interval(0.019, 0.3, 60)  # 0 inside but so noisy that even 0 would not decide within the subset
    assert decide(lo, hi, 60, "equivalence", margin=0.02).verdict == NOT_SEPARABLE
    with pytest.raises(ValueError):
        decide(-0.01, 0.015, 100, "equivalence")


def test_decide_rejects_inconsistent_claims():
    with pytest.raises(ValueError):
        decide(0.0, 0.1, 100, paper=0.05)  # no direction
    with pytest.raises(ValueError):
        decide(0.0, 0.1, 100, paper=-0.05, direction=1)  # sign disagrees
    with pytest.raises(ValueError):
        decide(0.0, 0.1, 100, "ratio", paper=0.05, direction=1)
    with pytest.raises(ValueError):
        decide(0.2, 0.1, 100, paper=0.05, direction=1)
    with pytest.raises(ValueError):
        decide(0.0, 0.1, 100, paper=0.05, direction=1, margin=0.02)


def test_verdict_is_frozen_and_names_are_the_issues():
    v = decide(0.01, 0.03, 100, paper=0.05, direction=1)
    with pytest.raises(AttributeError):
        v.verdict = REPRODUCED  # type: ignore[misc]
    assert VERDICTS == (
        "reversed",
        "reproduced, smaller than the paper",
        "reproduced",
        "paper's effect ruled out",
        "not separable on this subset",
        "open",
        "too few images",
    )
    assert set(verdicts.DECIDED) < set(VERDICTS)


def test_confidence_sequences_and_verdicts_import_only_numpy_scipy_and_stdlib():
    """The sequences and the verdict rule are plain numerics (the bootstrap and paired tables of the same package use
    torch and pandas; tests/test_layers.py keeps the whole package at the bottom layer)."""
    import ast
    from pathlib import Path

    for name in ("confseq.py", "verdicts.py", "coverage.py"):
        path = Path(confseq.__file__).parent / name
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {"." if node.level else (node.module or "").split(".")[0]}
            else:
                continue
            assert roots <= {"__future__", "math", "dataclasses", "numpy", "scipy", ".", "ast"}, (path.name, roots)


def test_resampled_coverage_counts_false_verdicts_on_centred_data():
    """Resampled from columns of real-looking differences and centred at 0, the fixed-n interval declares a difference
    at some look far more often than the confidence sequence does."""
    from attx_core.stats import resampled_coverage

    rng = np.random.default_rng(1)
    columns = [rng.normal(0.1, 0.15, 140), rng.beta(0.5, 6, 140) - 0.2, rng.normal(-0.05, 0.08, 140)]
    false = resampled_coverage(columns, n_sequences=400, seed=3)
    assert false["fixed_n_normal"] > 0.2 and false["asymptotic"] < 0.1
    with pytest.raises(ValueError, match="at least one column"):
        resampled_coverage([np.array([1.0])])
