"""The claim-driven planner: computation goes only where a verdict is still open.

Each registered claim is decided on the store (:mod:`attx_core.chapters.claims`). For every claim and model with
an open comparison, the next step grows the configurations that comparison needs (its reference and its open
rivals; every setting for a trend, the two extreme settings for an equivalence over the settings; one variant for a
claim on one) by :data:`STEP` images, in the image set's order; a decided comparison gets nothing more. The
comparisons that decide a verdict (primary: Table 1's insertion) come first; the others (Table 1's deletion against
every rival) once their claim's verdict is decided, after every claim's primary ones. Before either, every claim
gets its first look: the burn-in's images, from which its sequence shows an interval, so that no claim rests on
nothing while another grows. Claims go in priority order (the paper's main claims first); within a priority, the
claim whose verdict is projected to cost the fewest CPU-hours goes first (the fewest paired images on a tie), so that
a fixed budget decides as many claims as it can; the projection is redone after every step. Chapters without claims
(figures, the explorer, the sanity check) fill to their image counts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from ..chapters import CLAIMS, PROFILES, chapters, get, settings
from ..chapters.claims import N_AVAILABLE, Comparison, covered, evaluate, testable
from ..chapters.registry import Claim
from ..stats.confseq import BURN_IN
from .costs import cpu_hours, hours_text
from .plan import Cell, cells, limits, missing, remaining, stages, store_status

STEP = 8  # images a claim's configurations grow by per step: all on the same images, so a stopped fill leaves pairs


@dataclass(frozen=True)
class Step:
    """One planned computation: a cell (chapter, model, section, configurations, image limit) and why."""

    cell: Cell
    claims: tuple[str, ...]
    why: str

    def __str__(self) -> str:
        return f"{self.cell}  <- {', '.join(self.claims) or 'fill'}: {self.why}"


def _members(claim: Claim, label: str) -> set[str]:
    return set(claim.pools.get(label, (label,)))


def _serving(comparisons: list[Comparison]) -> tuple[list[Comparison], int]:
    """The open comparisons a claim's next step serves, and their tier: its open primary comparisons (they decide the
    verdict: tier 1; tier 0, a first look, while they have fewer than the burn-in's images and so no interval, or
    nothing is paired yet); its other open ones (e.g. deletion against every rival) only once those are decided (tier 2,
    after every claim's tier 1)."""
    open_ = [c for c in comparisons if c.open]
    primary = [c for c in open_ if c.primary]
    serving, tier = (primary, 1) if primary or not open_ else (open_, 2)
    return serving, 0 if tier == 1 and min((c.n for c in serving), default=0) < BURN_IN else tier


def _needs(claim: Claim, comparisons: list[Comparison], serving: list[Comparison]
           ) -> tuple[frozenset[str] | None, frozenset[str]]:
    """(configurations of the claim's own section, configurations of its ``rivals_from`` chapter) that the open
    comparisons ``serving`` need; None: every configuration of the section (a trend: its slope reads every setting). An
    equivalence over the settings is decided on the extreme settings alone: once paired, only they grow. A claim on one
    variant of its section's axis (its ``where``) needs that variant alone."""
    column = CLAIMS[claim.name][0].section(claim.section).axis_column
    if column in claim.where:
        return frozenset({claim.where[column]}), frozenset()
    if claim.kind == "trend":
        return None, frozenset()
    labels: set[str] = set()
    if comparisons:
        for c in serving:
            labels |= _members(claim, c.reference) | _members(claim, c.rival)
    else:  # nothing paired yet: the reference and every rival the claim names (all, where it names none)
        if not claim.rivals and not claim.pools:
            return None, frozenset()
        labels = _members(claim, claim.reference) | {m for r in claim.rivals for m in _members(claim, r)}
    if claim.rivals_from:
        theirs = {m for r in claim.rivals for m in _members(claim, r)}
        return frozenset(labels - theirs), frozenset(labels & theirs)
    return frozenset(labels), frozenset()


def _limit(comparisons: list[Comparison], serving: list[Comparison], step: int) -> int:
    base = min((c.n for c in serving), default=max((c.n for c in comparisons), default=0))
    return min(N_AVAILABLE, base + step)


def claim_state(profile: str, fresh: bool = True, only: Sequence[str] | None = None) -> dict[tuple[str, str], list[Comparison]]:
    """(claim, model) -> its comparisons on the store, for every testable claim of the profile (of the chapters in
    ``only``) and every model its chapter runs (an empty list: nothing paired yet)."""
    names = {c.name for c in chapters(profile) if not only or c.name in {o.partition(":")[0] for o in only}}
    out: dict[tuple[str, str], list[Comparison]] = {}
    for name, (chapter, claim) in CLAIMS.items():
        if chapter.name not in names or testable(profile, name):
            continue
        found = evaluate(profile, name, fresh=fresh)
        for model in covered(profile, chapter.name) or sorted({c.model for c in found}):
            out[(name, model)] = [c for c in found if c.model == model]
    return out


def _decided(comparisons: list[Comparison]) -> bool:
    return bool(comparisons) and not any(c.open for c in comparisons)


def _hours_to_verdict(profile: str, state: dict[tuple[str, str], list[Comparison]], only: Sequence[str] | None
                      ) -> dict[tuple[str, str], float]:
    """(claim, model) -> the CPU-hours its projection still lacks: for its verdict while its primary comparisons are
    open, else for the rest of its comparisons."""
    return {(row["claim"], row["model"]): row["verdict_cpu_hours"] or row["cpu_hours"] for row, *_ in _projected(profile, state, only)}


def claim_steps(profile: str, only: Sequence[str] | None = None, step: int = STEP,
                state: dict[tuple[str, str], list[Comparison]] | None = None) -> list[Step]:
    """The next steps of the open claims, most urgent first (tier, priority, then the CPU-hours projected to decide
    the claim, then the fewest paired images): per (claim, model) with an open comparison, the configurations of the
    comparisons it serves (:func:`_serving`: the open primary ones while there are any) grown to ``step`` images beyond
    the fewest those have."""
    state = claim_state(profile, only=only) if state is None else state
    hours = _hours_to_verdict(profile, state, only)
    ranked = []
    for (name, model), comparisons in state.items():
        chapter, claim = CLAIMS[name]
        if only and chapter.name not in only and f"{chapter.name}:{model}" not in only:
            continue
        if "robust_scale" in settings(profile, chapter.name) or _decided(comparisons):
            continue  # the robustness study has no image axis: its chapter fills to its scale
        serving, tier = _serving(comparisons)
        own, theirs = _needs(claim, comparisons, serving)
        limit = _limit(comparisons, serving, step)
        open_n = [c.n for c in serving]
        if comparisons and min(open_n, default=N_AVAILABLE) >= N_AVAILABLE:
            continue  # the whole subset is computed: nothing more to give
        why = (f"{len(serving)} of {len(comparisons)} comparisons open at n = {min(open_n, default=0)}"
               + {0: ", a first look", 2: ", the verdict decided: the rest"}.get(tier, "") if comparisons else "nothing paired yet")
        left = hours.get((name, model), math.inf)
        if comparisons and math.isfinite(left):  # what orders the claims within a priority
            why += f"; {hours_text(left)} CPU-h projected to {'the rest' if tier == 2 else 'its verdict'}"
        cells_ = [Cell(chapter.name, model, (claim.section,), own, limit)]
        if claim.rivals_from and theirs:
            source = get(claim.rivals_from)
            cells_.append(Cell(source.name, model, (source.sections[0].name,), theirs, limit))
        for cell in cells_:
            ranked.append(((tier, claim.priority, left, min(open_n, default=0)), Step(cell, (name,), why)))
    ranked.sort(key=lambda r: r[0])
    merged: dict[Cell, Step] = {}
    for _, s in ranked:  # a cell two claims need is one step serving both
        merged[s.cell] = Step(s.cell, merged[s.cell].claims + s.claims, merged[s.cell].why) if s.cell in merged else s
    return list(merged.values())


def fill_steps(profile: str, only: Sequence[str] | None = None) -> list[Step]:
    """Chapters without claims (and the robustness study) fill to their image counts, stage by stage."""
    bounds, step = stages(profile), PROFILES[profile].get("compute_step")
    out = []
    for cell in cells(profile, only):
        spec = get(cell.chapter)
        if spec.claims and "robust_scale" not in settings(profile, cell.chapter):
            continue
        for i, stage in enumerate(bounds):
            for limit in limits(profile, cell, bounds[i - 1] if i else 0, stage, step):
                out.append(Step(Cell(cell.chapter, cell.model, limit=limit), (), "fill to the chapter's image count"))
    return out


def plan(profile: str, only: Sequence[str] | None = None, step: int = STEP) -> list[Step]:
    """What ``attx compute`` does next, in order: the open claims' steps, then the claim-less chapters' fill; steps
    whose images are all stored are left out."""
    out = []
    for s in [*claim_steps(profile, only, step), *fill_steps(profile, only)]:
        if any(ids for _, ids in missing(profile, s.cell)):
            out.append(s)
    return out


def _projected(profile: str, state: dict[tuple[str, str], list[Comparison]], only: Sequence[str] | None
               ) -> list[tuple[dict, dict, dict]]:
    """Per (claim, model): its row of :func:`open_claims`, the store entries its projection lacks (path -> (entry, ids))
    and those its verdict's projection lacks, so that totals over claims sharing entries count each computation once."""
    out = []
    for (name, model), comparisons in state.items():
        chapter, claim = CLAIMS[name]
        if only and chapter.name not in only and f"{chapter.name}:{model}" not in only:
            continue
        open_ = [c for c in comparisons if c.open]
        needed, lacking = _lacking(profile, claim, model, comparisons, open_)
        deciding = [c for c in open_ if c.primary]
        verdict = lacking if len(deciding) == len(open_) else _lacking(profile, claim, model, comparisons, deciding)[1]
        n, _, passes = remaining(lacking.values())
        row = {"claim": name, "chapter": chapter.name, "model": model, "comparisons": len(comparisons), "open": len(open_),
               "n": min((c.n for c in comparisons), default=0), "projected n": int(needed) if open_ else None, "missing": n,
               "passes": passes, "cpu_hours": cpu_hours(passes), "verdict_cpu_hours": cpu_hours(remaining(verdict.values())[2])}
        out.append((row, lacking, verdict))
    return out


def _lacking(profile: str, claim: Claim, model: str, comparisons: list[Comparison], serving: list[Comparison]
             ) -> tuple[int, dict]:
    """(the n ``serving`` is projected to need, the store entries that projection lacks: path -> (entry, ids)); each
    comparison's arms to its own projected n (a rival decided early stops there), nothing paired yet: a first look."""
    chapter = CLAIMS[claim.name][0]
    needs = {i: min(c.images_needed, N_AVAILABLE) for i, c in enumerate(serving) if math.isfinite(c.images_needed)}
    needed = max(needs.values(), default=0)
    if (comparisons and not serving) or "robust_scale" in settings(profile, chapter.name):
        return int(needed), {}
    groups = [(serving[i], int(n)) for i, n in needs.items()] if comparisons else [(None, STEP * 2)]
    lacking: dict = {}
    for c, target in groups:
        own, theirs = _needs(claim, comparisons, serving if c is None else [c])
        planned = missing(profile, Cell(chapter.name, model, (claim.section,), own, target))
        if claim.rivals_from and theirs:
            planned += missing(profile, Cell(claim.rivals_from, model, None, theirs, target))
        for e, ids in planned:
            if ids:
                lacking[e.path] = (e, sorted(set(ids) | set(lacking.get(e.path, (e, []))[1])))
    return int(needed), lacking


OPEN_COLUMNS = ["claim", "chapter", "model", "comparisons", "open", "n", "projected n", "missing", "passes", "cpu_hours",
                "verdict_cpu_hours"]


def open_claims(profile: str, state: dict[tuple[str, str], list[Comparison]] | None = None,
                only: Sequence[str] | None = None) -> pd.DataFrame:
    """Per claim and model: its comparisons, how many are open, the paired n, the n its open comparisons are projected
    to need (at most the subset; a claim with nothing paired yet: two steps), the image computations that projection
    still lacks and their cost (passes, CPU-hours on one thread), and the CPU-hours of the part that decides the verdict
    (its open primary comparisons: ``verdict_cpu_hours``)."""
    state = claim_state(profile, fresh=False) if state is None else state
    return pd.DataFrame([row for row, *_ in _projected(profile, state, only)], columns=OPEN_COLUMNS)


def outlook(profile: str, only: Sequence[str] | None = None) -> tuple[int, float, dict[str, int]]:
    """(image computations still needed, their cost in passes, per chapter): the open claims' projections plus what the
    claim-less chapters lack of their counts, each store entry's images counted once; computes nothing."""
    lacking: dict = {}
    for row, entries, _ in _projected(profile, claim_state(profile, only=only), only):
        for path, (entry, ids) in entries.items():
            lacking[path] = (row["chapter"], entry, sorted(set(ids) | set(lacking.get(path, ("", None, []))[2])))
    for step in fill_steps(profile, only):
        for entry, ids in missing(profile, Cell(step.cell.chapter, step.cell.model)):
            if ids:
                lacking[entry.path] = (step.cell.chapter, entry, ids)
    n, _, passes = remaining((e, ids) for _, e, ids in lacking.values())
    per: dict[str, int] = {}
    for chapter, _, ids in lacking.values():
        per[chapter] = per.get(chapter, 0) + len(ids)
    return n, passes, per


def status(profile: str, names: Sequence[str] | None = None, claims: Sequence[str] | None = None) -> pd.DataFrame:
    """What the store holds and what is still needed, per chapter and model (computes nothing): images stored
    (fewest-most over the chapter's configurations), then for a chapter with claims its comparisons still open and
    the images they are projected to need (the open claims decide what is computed, not a fixed count), for one
    without claims its image count; the image computations still needed (each counted once) and their CPU-hours
    on one thread, in all and for the part that decides the claims' verdicts. ``claims``: count only these claims'
    comparisons (one section of a chapter with several)."""
    stored = store_status(profile, names)
    projected = [p for p in _projected(profile, claim_state(profile, fresh=False, only=names), names)
                 if claims is None or p[0]["claim"] in claims]
    rows = []
    for r in stored.itertuples():
        mine = [p for p in projected if p[0]["chapter"] == r.chapter and p[0]["model"] in (r.model, None)]
        if get(r.chapter).claims and "robust_scale" not in settings(profile, r.chapter):
            lacking = {p: v for _, e, _ in mine for p, v in e.items()}
            n, _, passes = remaining(lacking.values())
            verdict = remaining({p: v for *_, e in mine for p, v in e.items()}.values())[2]
            n_open, n_all = sum(row["open"] for row, *_ in mine), sum(row["comparisons"] for row, *_ in mine)
            needed = [row["projected n"] for row, *_ in mine if row["projected n"] is not None]
            if all(testable(profile, c.name) for c in get(r.chapter).claims):
                target = "not testable offline"
            elif needed:
                target = f"{max(needed)} (projected)"
            else:
                target = "decided" if n_all and not n else f"{2 * STEP} (first look)" if n else "–"
            rows.append({"chapter": r.chapter, "model": r.model, "fewest": r.fewest, "most": r.most, "needed": target,
                         "open": f"{n_open} of {n_all}", "missing": n, "cpu_hours": cpu_hours(passes),
                         "verdict_cpu_hours": cpu_hours(verdict)})
        else:
            first = stored[stored.chapter == r.chapter].index[0] == r.Index
            hours = float(r.cpu_hours) if first else 0.0
            rows.append({"chapter": r.chapter, "model": r.model, "fewest": r.fewest, "most": r.most, "needed": f"{r.target} (count)",
                         "open": "", "missing": int(r.missing) if first else 0, "cpu_hours": hours, "verdict_cpu_hours": hours})
    return pd.DataFrame(rows, columns=["chapter", "model", "fewest", "most", "needed", "open", "missing", "cpu_hours",
                                       "verdict_cpu_hours"])
