"""The registered claims decided on the store: paired comparisons on the same images, each with a 95% confidence
sequence (valid at every n, so the computation may stop as soon as a claim is decided) and a verdict.

A claim (:class:`~.registry.Claim`) becomes one comparison per (model, metric, rival): the per-image paired
difference reference - rival (or their relative difference of means, a trend statistic, an equivalence test), its
asymptotic confidence sequence (:mod:`attx_core.stats.confseq`) read at the largest n, the paper's effect on the
same comparison, and the verdict of :func:`attx_core.stats.verdicts.verdict`.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from ..experiments.compare import paper_table
from ..experiments.resolve import ANALOGUES, resolve_model
from ..stats.confseq import BURN_IN, asymptotic_cs, min_images, relative_cs
from ..stats.paired import LOWER_IS_BETTER
from ..stats.verdicts import TOO_FEW, decide, per_image_trend
from .profiles import chapters, settings, stored_only
from .registry import CLAIMS, Chapter, Claim, get

N_AVAILABLE = 500  # images in the shared validation subset: no claim can be given more
NOT_TESTABLE = "not testable offline"
COLUMNS = ["claim", "label", "chapter", "model", "metric", "primary", "reference", "rival", "kind", "n", "mean", "lo", "hi",
           "paper", "paper_inside", "verdict", "images_needed", "note"]


@dataclass(frozen=True)
class Comparison:
    """One comparison of a claim, decided: n paired images, their mean, the confidence sequence's interval at n,
    the paper's value of the same comparison and the verdict."""

    claim: str
    label: str
    chapter: str
    model: str
    metric: str
    primary: bool
    reference: str
    rival: str
    kind: str
    n: int
    mean: float
    lo: float
    hi: float
    paper: float
    paper_inside: bool | None
    verdict: str
    images_needed: float
    note: str = ""
    values: tuple[float, ...] = field(default=(), repr=False)  # the per-image paired differences, in image order


    @property
    def open(self) -> bool:
        """Whether more images could still decide it (the planner computes only for these)."""
        return self.verdict in ("open", TOO_FEW)


def _label(value: Any) -> str:
    return str(value)


def _wide(long: pd.DataFrame, model: str, metric: str, by: str) -> pd.DataFrame:
    part = long[(long.model == model) & (long.metric == metric)]
    wide = part.pivot_table(index="image", columns=by, values="value", aggfunc="first")
    wide.columns = [_label(c) for c in wide.columns]
    return wide.sort_index()


def _with_pools(wide: pd.DataFrame, pools: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Add each pool as a column: the per-image mean over its members (images that have all of them)."""
    for name, members in pools.items():
        present = [m for m in members if m in wide]
        if present and len(present) == len(members):
            wide[name] = wide[present].mean(axis=1, skipna=False)
    return wide


def _paper(claim: Claim, chapter: Chapter) -> dict[tuple[str, str, str], float]:
    """The paper's values of the claim's table: (model, configuration, metric) -> value."""
    table = chapter.section(claim.section).paper_table
    if table is None:
        return {}
    paper = paper_table(table)
    return {(r.model, _label(r[claim.by]), r.metric): float(r.value) for _, r in paper.iterrows()}


def _direction(claim: Claim, metric: str) -> int:
    if claim.direction is not None and metric == claim.metric:
        return claim.direction
    return -1 if metric in LOWER_IS_BETTER else 1


def _setting_order(columns: list[str]) -> list[str]:
    try:
        return sorted(columns, key=float)
    except ValueError:
        return list(columns)


def _pairs(claim: Claim, wide: pd.DataFrame, expected: Sequence[str] = ()) -> Iterator[tuple[str, str]]:
    """(reference, rival) of every comparison the claim makes on one (model, metric): its named rivals, else every
    configuration its section runs (``expected``) or holds; a rival without stored values is still a comparison (n = 0)."""
    if claim.kind in ("trend", "equivalence") and claim.by == "setting" and not claim.rivals:
        order = _setting_order(list(wide.columns))
        if len(order) >= 2:
            yield order[-1], order[0]
        return
    if claim.reference not in wide:
        return
    found = [c for c in wide.columns if c != claim.reference and c not in claim.pools]
    yield from ((claim.reference, rival) for rival in claim.rivals or list(dict.fromkeys([*expected, *found])) if rival != claim.reference)


def _interval(kind: str, values: np.ndarray, rival_values: np.ndarray | None) -> tuple[float, float, float]:
    """(mean, lo, hi) at the largest n: the asymptotic sequence of the mean (relative: of mean(a) / mean(b) - 1)."""
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    if kind == "relative":
        lo, hi = relative_cs(values, rival_values)
        return float(values.mean() / rival_values.mean() - 1), float(lo[-1]), float(hi[-1])
    lo, hi = asymptotic_cs(values)
    return float(values.mean()), float(lo[-1]), float(hi[-1])


def _shown_from(kind: str, values: np.ndarray, rival_values: np.ndarray | None, trend: np.ndarray | None) -> int:
    """The n from which the comparison's intervals show, by the skew guard of the values each is built on: the
    differences; for a relative comparison a - (mean a / mean b) b, as :func:`relative_cs` judges it; for a trend also
    the per-image slopes."""
    if not len(values):
        return BURN_IN
    guarded = values
    if kind == "relative" and rival_values is not None and rival_values.mean() != 0:
        guarded = values - values.mean() / rival_values.mean() * rival_values
    return max(min_images(guarded), min_images(trend) if kind == "trend" and trend is not None and len(trend) else BURN_IN)


def _comparison(claim: Claim, chapter: Chapter, model: str, metric: str, reference: str, rival: str, values: np.ndarray,
                paper: float, rival_values: np.ndarray | None = None, trend: np.ndarray | None = None) -> Comparison:
    """One comparison decided: ``values`` are the per-image differences (relative: the reference's values, with
    ``rival_values``); ``trend`` the per-image trend statistics of a growth claim."""
    kind = claim.kind if metric == claim.metric else "relative" if claim.kind == "relative" else "difference"
    direction = _direction(claim, metric)
    mean, lo, hi = _interval(kind, values, rival_values)
    note = ""
    if math.isfinite(paper) and kind != "equivalence" and paper * direction <= 0:
        note = f"the paper's own table has {reference} - {rival} = {paper:+.4g}, against the claim"
    effect = paper if math.isfinite(paper) and not note and kind != "equivalence" else None
    trend_ci = None
    if kind == "trend":
        t_mean, t_lo, t_hi = _interval("difference", trend, None)
        trend_ci = (t_lo, t_hi)
        interval = f"[{t_lo:+.4f}, {t_hi:+.4f}]" if math.isfinite(t_lo) else "(no interval yet)"
        note = f"trend: mean per-image slope {t_mean:+.4f} {interval} (first to last setting)"
    decision = decide(lo, hi, len(values), kind, paper=effect, direction=None if kind == "equivalence" else direction,
                      margin=claim.margin if kind == "equivalence" else None, trend=trend_ci, n_available=N_AVAILABLE,
                      min_n=_shown_from(kind, values, rival_values, trend))
    return Comparison(claim.name, claim.label, chapter.name, model, metric, metric == claim.metric, reference, rival, kind,
                      len(values), mean, decision.lo, decision.hi, paper, decision.paper_inside, decision.verdict,
                      decision.images_needed, note, tuple(values - rival_values if kind == "relative" else values))


def _trend_values(full: pd.DataFrame) -> np.ndarray:
    """Per image with every setting (``full``: columns in the settings' order): the least-squares slope over them."""
    return per_image_trend(full.to_numpy(dtype=float)) if len(full) and full.shape[1] >= 2 else np.array([])


def compare_claim(claim: Claim, long: pd.DataFrame, rivals: pd.DataFrame | None = None, expected: Sequence[str] = ()) -> list[Comparison]:
    """Every comparison of ``claim`` on the long per-image frame of its section (``rivals``: the frame of the
    chapter its rivals come from, for ``rivals_from`` claims; ``expected``: the configurations its section runs, so that
    one with nothing stored yet is a comparison at n = 0, not left out)."""
    chapter = CLAIMS[claim.name][0]
    paper = _paper(claim, chapter)
    for column, value in claim.where.items():
        long = long[long[column] == value]
    out = []
    for model in dict.fromkeys(long.model):
        for metric in claim.metrics:
            wide = _wide(long, model, metric, claim.by)
            if rivals is not None:
                other = _wide(rivals, model, metric, "method")
                wide = wide.join(other.drop(columns=[c for c in other if c in wide]), how="outer")
            wide = _with_pools(wide, dict(claim.pools))
            for reference, rival in _pairs(claim, wide, expected):
                if rival not in wide:
                    wide[rival] = np.nan
                both = wide[[reference, rival]].dropna()
                ref, riv = both[reference].to_numpy(dtype=float), both[rival].to_numpy(dtype=float)
                p_ref, p_riv = (paper.get((model, c, metric), paper.get(("", c, metric))) for c in (reference, rival))  # "": any model
                relative = claim.kind == "relative"
                if claim.effect is not None and metric == claim.metric:
                    effect = claim.effect
                elif p_ref is None or p_riv is None:
                    effect = math.nan
                else:
                    effect = p_ref / p_riv - 1 if relative else p_ref - p_riv
                if relative:
                    out.append(_comparison(claim, chapter, model, metric, reference, rival, ref, effect, riv))
                elif claim.kind == "trend" and metric == claim.metric:  # both statistics on the images with every setting
                    full = wide[_setting_order(list(wide.columns))].dropna()
                    diff = (full[reference] - full[rival]).to_numpy(dtype=float)
                    out.append(_comparison(claim, chapter, model, metric, reference, rival, diff, effect, trend=_trend_values(full)))
                else:
                    out.append(_comparison(claim, chapter, model, metric, reference, rival, ref - riv, effect))
    return out


def paper_contradictions(name: str) -> list[tuple[str, str, str, float, float]]:
    """Where the paper's own table disagrees with its claim: (model, metric, rival, the reference's value, the rival's)
    for every rival the table puts ahead of the reference (best-method claims only)."""
    chapter, claim = CLAIMS[name]
    if claim.kind in ("trend", "equivalence") or claim.pools:
        return []
    paper = _paper(claim, chapter)
    out = []
    for (model, label, metric), value in paper.items():
        ref = paper.get((model, claim.reference, metric))
        if metric not in claim.metrics or label == claim.reference or ref is None or (claim.rivals and label not in claim.rivals):
            continue
        if (ref - value) * _direction(claim, metric) < 0:
            out.append((model, metric, label, ref, value))
    return out


def _section_long(chapter: Chapter, section: str, cfg: dict[str, Any], opts: dict[str, Any]) -> pd.DataFrame:
    spec = chapter.section(section)
    frame = spec.run(cfg, dict(opts))
    return spec.long(frame) if spec.long is not None else frame


@lru_cache(maxsize=64)
def _stored_long(profile: str, chapter: str, section: str) -> pd.DataFrame:
    """A store profile's per-image frame of one section (read once per process: pages only read the store)."""
    spec = get(chapter)
    return _section_long(spec, section, settings(profile, chapter), stored_only(profile))


def evaluate(profile: str, name: str, fresh: bool = False) -> list[Comparison]:
    """Every comparison of the registered claim ``name`` on what ``profile``'s store holds (computes nothing);
    ``fresh`` re-reads the store instead of the process's cached frame (the planner, while it fills)."""
    chapter, claim = CLAIMS[name]
    read = _stored_long.__wrapped__ if fresh else _stored_long
    long = read(profile, chapter.name, claim.section)
    if claim.own_model:
        ran = long.attrs.get("analogues", {})
        if any(k != v for k, v in ran.items()):
            return []
    rivals = None
    if claim.rivals_from:
        source = get(claim.rivals_from)
        rivals = read(profile, source.name, source.sections[0].name)
    runs = settings(profile, chapter.name).get("methods") if claim.by == "method" and not claim.rivals else None
    return compare_claim(claim, long, rivals, list(runs or ()))


def testable(profile: str, name: str) -> str:
    """'' where the claim can be tested under ``profile``, else why not (Table 7 on a CNN stand-in)."""
    chapter, claim = CLAIMS[name]
    if not claim.own_model:
        return ""
    cfg = settings(profile, chapter.name)
    return claim.own_model if cfg.get("stand_ins") or not _own_weights(cfg.get("models") or []) else ""


def _own_weights(models: list[str]) -> bool:
    try:
        return all(resolve_model(m).name == m or m not in ANALOGUES for m in models)
    except Exception:  # noqa: BLE001 - no weights, no network: the paper's own model cannot run here
        return False


def overall(comparisons: list[Comparison]) -> str:
    """A claim's verdict over its primary comparisons: *open* while any is open; *reversed* where any is;
    *reproduced* where all are (", smaller than the paper" where some are); *partly reproduced* where some are; where
    none is, the one verdict they share (effect ruled out, not separable), else *not reproduced* with their counts."""
    primary = [c for c in comparisons if c.primary] or comparisons
    if not primary or all(c.n == 0 for c in primary):
        return "not computed yet"
    verdicts = [c.verdict for c in primary]
    if all(v == TOO_FEW for v in verdicts):
        return TOO_FEW
    if any(v.startswith("reversed") for v in verdicts):
        return "reversed" if all(v.startswith("reversed") for v in verdicts) else "partly reversed"
    if any(c.open for c in primary):
        return "open"
    if all(v.startswith("reproduced") for v in verdicts):
        return "reproduced, smaller than the paper" if any(v != "reproduced" for v in verdicts) else "reproduced"
    if any(v.startswith("reproduced") for v in verdicts):
        return "partly reproduced"
    kinds = Counter(verdicts)
    return verdicts[0] if len(kinds) == 1 else "not reproduced: " + ", ".join(f"{v} ({k})" for v, k in kinds.items())


def covered(profile: str, chapter: str) -> list[str]:
    """What a chapter's claims are decided per: its models (the robustness study: its datasets); [] where it names none."""
    cfg = settings(profile, chapter)
    return list(cfg.get("models") or cfg.get("datasets") or [])


def not_computed(profile: str, name: str, comparisons: list[Comparison]) -> list[str]:
    """The models (robustness: datasets) a claim covers that have no comparison yet, while others have one: a verdict
    read from the others holds for them only."""
    seen = {c.model for c in comparisons}
    return [m for m in covered(profile, CLAIMS[name][0].name) if m not in seen] if seen else []


def claims_table(profile: str, fresh: bool = False) -> pd.DataFrame:
    """Every comparison of every registered claim (:data:`COLUMNS`), from ``profile``'s store; a claim that cannot be
    tested here gets one row saying why, one without stored images one row 'not computed yet'."""
    rows = []
    for name, (chapter, claim) in CLAIMS.items():
        if chapter.name not in [c.name for c in chapters(profile)]:
            continue
        reason = testable(profile, name)
        comparisons = [] if reason else evaluate(profile, name, fresh)
        seen = {c.model for c in comparisons}
        for model in covered(profile, chapter.name) or ([] if seen else [None]):
            if model not in seen:
                rows.append({**{c: None for c in COLUMNS}, "claim": name, "label": claim.label, "chapter": chapter.name, "model": model,
                             "metric": claim.metric, "primary": True, "kind": claim.kind, "n": 0,
                             "verdict": f"{NOT_TESTABLE}: {reason}" if reason else "not computed yet"})
        rows += [{k: v for k, v in asdict(c).items() if k != "values"} for c in comparisons]
    return pd.DataFrame(rows, columns=COLUMNS)


__all__ = ["BURN_IN", "COLUMNS", "Comparison", "N_AVAILABLE", "claims_table", "compare_claim", "covered", "evaluate", "not_computed",
           "overall", "paper_contradictions", "testable"]
