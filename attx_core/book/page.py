"""What a book page shows besides its table and figure: the verdict up front, the settings folded away,
where n falls short of the profile's target, and a link to the CSV the numbers come from."""
from __future__ import annotations

import functools
import html
import math
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, display

from ..chapters import CLAIMS, chapters, get, is_store, run_options, settings, stored_only
from ..chapters.claims import Comparison, compare_claim, evaluate, not_computed, overall, paper_contradictions, testable
from ..compute.costs import hours_text, measured_rates
from ..compute.planner import open_claims, status
from ..data import ImageDataError, ImageSet
from ..experiments import plots
from ..experiments.compare import (
    EXTRA_LABELS,
    KEYS,
    OUR_MODEL_NAMES,
    PAPER_MODEL_NAMES,
    compare,
    labels,
    notes_text,
    paper_layout,
    provenance_line,
)
from ..experiments.resolve import ANALOGUES, image_set
from ..metrics import mean_ci
from ..stats.confseq import BURN_IN
from ..store import ResultsStore

VERDICT_COLOURS = {"reproduced": "#1b5e20", "reversed": "#b71c1c", "partly reversed": "#b71c1c", "paper's effect ruled out": "#b71c1c",
                   "partly reproduced": "#e65100", "not separable": "#6d4c41", "not reproduced": "#6d4c41", "open": "#455a64", "too few": "#455a64",
                   "not testable": "#455a64", "not computed": "#455a64"}


def _colour(verdict: str) -> str:
    return next((c for k, c in VERDICT_COLOURS.items() if verdict.startswith(k)), "#455a64")


def _model_name(profile: str, chapter: str, model: str) -> str:
    """A model as what ran: "EfficientNet-Lite0 (for Inception-v3)" under a stand-in profile."""
    cfg = settings(profile, chapter)
    if cfg.get("stand_ins") and model in ANALOGUES:
        return f"{OUR_MODEL_NAMES[ANALOGUES[model]]} (for {PAPER_MODEL_NAMES.get(model, model)})"
    return PAPER_MODEL_NAMES.get(model, model)


def _namer(name: str):
    """The paper's label of a claim's configurations (a method, an attack, a setting), else the configuration itself."""
    chapter, claim = CLAIMS[name]
    table = chapter.section(claim.section).paper_table
    known = {**(EXTRA_LABELS if claim.by == "setting" else {}), **labels(table, claim.by), **labels("table01_insdel")}
    return lambda label: known.get(label, label)


def _number(value: float | None, digits: int = 3, sign: bool = True) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def _span(values: Sequence[int]) -> str:
    """A range of counts as a page writes it: "16", "16-24", "" when there are none."""
    return "" if not len(values) else f"{min(values)}" if min(values) == max(values) else f"{min(values)}-{max(values)}"


def _no_interval(cs: Sequence[Comparison]) -> str:
    """Why comparisons show no interval yet: fewer than the burn-in's images, or differences so skewed that the
    sequence needs more (the images it needs, from the statistics page's skew guard)."""
    if all(c.n < BURN_IN for c in cs):
        return f"no interval before {BURN_IN} images"
    need = [int(c.images_needed) for c in cs if math.isfinite(c.images_needed)] or [BURN_IN]
    return f"no interval yet: skewed differences, {_span(need)} images needed"


def _effect(c: Comparison) -> str:
    pct = c.kind == "relative"
    scale = 100 if pct else 1

    def fmt(v: float) -> str:
        return "–" if v != v else (f"{v * scale:+.1f}%" if pct else f"{v:+.3f}")

    return fmt(c.mean), (f"[{fmt(c.lo)}, {fmt(c.hi)}]" if c.lo == c.lo else _no_interval([c])), fmt(c.paper)


def _numbers(c: Comparison) -> str:
    """A single comparison's numbers under its verdict on the landing page: ours with its 95% confidence sequence (or why
    there is none yet) and the paper's value."""
    ours, interval, paper = _effect(c)
    text = f"ours {ours} " + (interval if c.lo == c.lo else f"({interval})") + (f", paper {paper}" if c.paper == c.paper else "")
    return f'<br><span style="font-size: 0.9em; color: #555">{html.escape(text)}</span>'


def _arms(c: Comparison, name) -> str:
    """What a comparison subtracts (or divides), in the paper's labels: ``"N = 60 − N = 10"``."""
    return f"{name(c.reference)} − {name(c.rival)}" if c.kind != "relative" else f"{name(c.reference)} / {name(c.rival)} − 1"


def comparisons_table(comparisons: list[Comparison], profile: str) -> pd.DataFrame:
    """Every comparison of a claim: model, metric, the two arms, n, our mean with its 95% confidence sequence (no interval
    before 16 images), the paper's value, whether it lies inside, the verdict and the images it is projected to need."""
    rows = []
    for c in comparisons:
        name = _namer(c.claim)
        ours, interval, paper = _effect(c)
        needed = "" if c.images_needed != c.images_needed else ("never" if c.images_needed == float("inf") else f"{int(c.images_needed)}")
        rows.append({"model": _model_name(profile, c.chapter, c.model), "metric": c.metric, "comparison": _arms(c, name), "n": c.n, "ours": ours,
                     "95% CS": interval,
                     "paper": paper, "paper inside": {True: "yes", False: "no", None: ""}[c.paper_inside], "verdict": c.verdict,
                     "images needed": needed if c.open else "", "note": c.note})
    return pd.DataFrame(rows)


def verdict_text(profile: str, name: str, comparisons: list[Comparison]) -> str:
    """A claim's verdict over its comparisons, naming the models (datasets) it does not cover yet."""
    lacking = not_computed(profile, name, comparisons)
    return overall(comparisons) + (f" ({', '.join(lacking)}: not computed yet)" if lacking else "")


def claim_box(profile: str, name: str, decided: list[Comparison] | None = None) -> HTML:
    """A registered claim decided on the store (or by ``decided``, a page's own comparisons): the verdict, the claim, per
    model the primary comparisons in one line each (n, ours with its 95% confidence sequence, the paper's value, the
    verdict; a model the paper does not have: how many rivals the reference is ahead of), every comparison folded away."""
    chapter, claim = CLAIMS[name]
    reason = testable(profile, name) if decided is None else ""
    comparisons = decided if decided is not None else [] if reason else evaluate(profile, name)
    verdict = (f"not testable offline ({reason})" if reason else overall(comparisons) if decided is not None
               else verdict_text(profile, name, comparisons))
    colour = _colour(verdict)
    lines = []
    for model in dict.fromkeys(c.model for c in comparisons):
        mine = [c for c in comparisons if c.model == model and c.primary]
        counts = {}
        for c in mine:
            counts.setdefault(c.verdict, []).append(c)
        parts = []
        name = _namer(claim.name)
        for v, cs in counts.items():
            bare = all(c.lo != c.lo for c in cs)  # no interval yet: said once for the group, not after every rival
            arm = (lambda c: _arms(c, name)) if claim.kind in ("trend", "equivalence") else (lambda c: name(c.rival))
            detail = "; ".join(f"{arm(c)}: {_effect(c)[0] if bare else ' '.join(_effect(c)[:2])}"
                               + (f", paper {_effect(c)[2]}" if c.paper == c.paper else "") for c in cs)
            parts.append(f"<i>{html.escape(v)}</i> ({len(cs)}{', ' + _no_interval(cs) if bare else ''}): {html.escape(detail)}")
        n = sorted({c.n for c in mine})
        n_text = f"n = {_span(n)}"
        if mine and all(c.paper != c.paper for c in mine):
            ahead, behind = (sum(c.verdict.startswith(v) for c in mine) for v in ("reproduced", "reversed"))
            where = "on this model (not in the paper)" if chapter.section(claim.section).paper_table else "our question (no paper value)"
            parts.insert(0, f"{where}: {html.escape(name(claim.reference))} ahead of {ahead} of {len(mine)} "
                            f"rivals, behind {behind}, {len(mine) - ahead - behind} undecided")
        lines.append(f"<div><b>{html.escape(_model_name(profile, chapter.name, model))}</b>, {claim.metric}, {n_text}: "
                     + "; ".join(parts) + "</div>")
    against = paper_contradictions(claim.name)
    if against:
        name_of = _namer(claim.name)
        listed = "; ".join(f"{PAPER_MODEL_NAMES.get(m, m)} {metric}: {name_of(r)} {v:.4g} vs {name_of(claim.reference)} {ref:.4g}"
                           for m, metric, r, ref, v in against)
        lines.append(f"<div><b>The paper's own table disagrees with this claim</b> ({len(against)} cell(s)): {html.escape(listed)}.</div>")
    folded = ""
    if comparisons:
        table = comparisons_table(comparisons, profile).to_html(index=False, border=0, classes="attx-cs")
        folded = (f"<details><summary>All {len(comparisons)} comparisons (95% confidence sequences, valid at every n: "
                  f"see the statistics page)</summary>{table}</details>")
    elif not reason:
        lines.append("<div>Not computed yet: no image of this claim's comparisons is stored.</div>")
    return HTML(f'<div class="attx-verdict" style="border-left: 6px solid {colour}; padding: 0.4em 0.8em; margin: 0.5em 0; background: #fafafa">'
                f'<div style="font-size: 1.1em"><b>{html.escape(claim.label)}: <span style="color: {colour}">{html.escape(verdict)}</span></b></div>'
                f"<div><b>Claim:</b> {html.escape(claim.text)}</div>{''.join(lines)}{folded}</div>")


def verdict_hours(profile: str) -> dict[str, float]:
    """Per open claim of a store profile, the CPU-hours on one thread still projected to decide its verdict (summed
    over its models); empty for a profile the book computes itself."""
    left: dict[str, float] = {}
    if is_store(profile):
        for r in open_claims(profile).itertuples():
            left[r.claim] = left.get(r.claim, 0.0) + r.verdict_cpu_hours
    return left


def claims_overview(profile: str, chapter: str) -> pd.DataFrame:
    """One row per primary comparison of a chapter's claims (variants, explorers): what is compared (the claim's ``where``
    names the variant), n, ours with its 95% confidence sequence, the paper's value where it has one, the verdict and,
    on an open claim's first row, the CPU-hours on one thread still projected to decide it."""
    left = verdict_hours(profile)
    rows = []
    for claim in get(chapter).claims:
        for c in evaluate(profile, claim.name) if not testable(profile, claim.name) else []:
            if not c.primary:
                continue
            name = _namer(claim.name)
            ours, interval, paper = _effect(c)
            rows.append({"compared": next(iter(claim.where.values()), claim.label), "model": _model_name(profile, chapter, c.model),
                         "arms": _arms(c, name),
                         "n": c.n, "ours": ours, "95% CS": interval, "paper": paper, "verdict": c.verdict,
                         "CPU-h to verdict": hours_text(left.pop(claim.name)) if left.get(claim.name) else "",  # once per claim
                         "lo": c.lo, "hi": c.hi, "mean": c.mean, "margin": claim.margin})
    return pd.DataFrame(rows)


def overview_table(overview: pd.DataFrame, drop: Sequence[str] = ()) -> "pd.io.formats.style.Styler | None":
    """:func:`claims_overview` as a table: without the plot's columns (and ``drop``); the model, the arms or the paper's
    value, where every row has the same, said once in the caption instead of in every row."""
    if not len(overview):
        return None
    shown = overview.drop(columns=["lo", "hi", "mean", "margin", *drop], errors="ignore")
    same = [c for c in ("model", "arms", "paper") if c in shown and len(shown) > 1 and shown[c].nunique(dropna=False) == 1]
    styled = shown.drop(columns=same).style.hide(axis="index")
    if not same:
        return styled
    caption = "; ".join(f"{c}: {shown[c].iloc[0]}" for c in same).replace("paper: –", "no paper value")
    return styled.set_caption(f"Every row: {html.escape(caption)}")


def claim_boxes(profile: str, chapter: str, section: str | None = None, frame: pd.DataFrame | None = None, **overrides: Any) -> HTML:
    """The claim boxes of a chapter (or of one section of it), in registry order: decided on the store, or on ``frame``
    (the section's per-image frame) for a page run with its own settings (``overrides``; random weights: no verdict)."""
    names = [c.name for c in get(chapter).claims if section is None or c.section == section]
    if frame is not None and frame.attrs.get("random_weights"):
        return HTML("".join(f'<div class="attx-no-verdict" style="border-left: 6px solid #9e9e9e; padding: 0.4em 0.8em; margin: 0.5em 0">'
                            f"<b>{html.escape(CLAIMS[n][1].label)}: no verdict</b> (random weights). <b>Claim:</b> "
                            f"{html.escape(CLAIMS[n][1].text)}</div>" for n in names))
    return HTML("".join(claim_box(profile, n, None if frame is None else page_comparisons(profile, n, frame, **overrides)).data
                        for n in names))


def page_comparisons(profile: str, name: str, frame: pd.DataFrame, **overrides: Any) -> list[Comparison]:
    """Claim ``name`` decided on ``frame``, the per-image frame a page run with its own settings computed for the claim's
    section (``attx run``), not on the profile's store; a ``rivals_from`` claim reads its rivals from that chapter's
    store on the same models and images."""
    chapter, claim = CLAIMS[name]
    section = chapter.section(claim.section)
    if claim.own_model and any(k != v for k, v in frame.attrs.get("analogues", {}).items()):
        return []
    rivals = None
    if claim.rivals_from:
        source = get(claim.rivals_from).sections[0]
        same = {k: v for k, v in overrides.items() if k in ("models", "images", "n_images", "seed", "random_weights")}
        found = source.run(settings(profile, claim.rivals_from, **same), stored_only(profile))
        rivals = source.long(found) if source.long is not None else found
    return compare_claim(claim, section.long(frame) if section.long is not None else frame, rivals)


def decisions(profile: str, name: str, frames: Mapping[str, pd.DataFrame], **overrides: Any) -> "pd.io.formats.style.Styler | HTML":
    """Every comparison of claim ``name`` as a table: decided on the store, or on the page's own ``frames`` (section ->
    per-image frame) for a page run with its own settings; one line where random weights ran (no verdict)."""
    frame = frames[CLAIMS[name][1].section]
    if frame.attrs.get("random_weights"):
        return HTML("<p><b>No verdict</b>: this page ran on random weights.</p>")
    decided = page_comparisons(profile, name, frame, **overrides) if overrides else evaluate(profile, name)
    return comparisons_table(decided, profile).style.hide(axis="index")


def random_banner(cfg: Mapping[str, Any]) -> HTML:
    """The banner of a page computed on random weights (``attx run --random-weights``): its numbers decide nothing."""
    return HTML('<div class="attx-random-weights" style="border: 2px solid #b71c1c; background: #ffebee; padding: 0.6em 0.9em; '
                f'margin: 0.5em 0"><b>Random weights.</b> This page ran {html.escape(", ".join(map(str, cfg.get("models") or [])))} '
                "with randomly initialised weights (asked for with <code>--random-weights</code>): its numbers exercise the "
                "methods and the protocol on an untrained network and say nothing about the paper's claims, so no claim is "
                "decided here.</div>")


def _ours_alone(cmp: pd.DataFrame, ours: pd.DataFrame) -> pd.DataFrame:
    """``cmp`` with rows for the models the paper's table does not have: our mean and 95% interval alone (paper empty)."""
    alone = ours[~ours.model.isin(set(cmp.model))]
    if alone.empty:
        return cmp
    names = labels(cmp.attrs.get("paper_table"))
    rows = []
    for key, part in alone.groupby(KEYS, sort=False):
        mean, lo, hi = mean_ci(part.value.to_numpy(dtype=float))
        rows.append({**dict(zip(KEYS, key)), "paper_label": names.get(key[1], key[1]), "paper": float("nan"), "ours": mean,
                     "delta": float("nan"), "ci_lo": lo, "ci_hi": hi, "n": len(part), "status": "not in the paper",
                     "95% CI": f"[{lo:.4g}, {hi:.4g}]"})
    out = pd.concat([cmp, pd.DataFrame(rows)], ignore_index=True).infer_objects()  # cmp may be empty (object columns)
    out.attrs.update(cmp.attrs)
    return out


def common_images(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a per-image frame on the images that every setting has, per model and metric: an ablation's rows
    and curve then differ by the setting alone, not by which images each setting happens to hold."""
    if not len(frame):
        return frame
    every = frame.groupby(["model", "metric"]).setting.transform("nunique")
    return frame[frame.groupby(["model", "metric", "image"]).setting.transform("nunique") == every]


def _unequal(frame: pd.DataFrame) -> bool:
    """Whether a per-image frame's rows (method and setting) hold different numbers of images within a model and
    metric: their means in one table then come from different images."""
    if not len(frame):
        return False
    counts = frame.groupby(["model", "metric", "method", "setting"]).image.nunique()
    return bool((counts.groupby(level=["model", "metric"]).nunique() > 1).any())


def _common_note(ours: pd.DataFrame, shown: pd.DataFrame, parameter: str) -> str:
    """What :func:`common_images` left out, in one sentence under the claim boxes."""
    n = shown.groupby(["model", "metric"]).image.nunique()
    more = ours.groupby("setting", sort=False).image.nunique()
    more = more[more > (n.max() if len(n) else 0)]
    held = "; ".join(f"{parameter} = {s}: {k}" for s, k in more.items())
    return (f"The table and the curves use the {_span(sorted(set(n.tolist())))} images that every setting has, so that "
            f"the rows differ by the setting alone. Some settings hold more images ({held}): the claim's comparison "
            f"above uses every image its two settings share.")


def sentence(text: str) -> HTML:
    """A page's summary sentence as a paragraph of the page (printed, it would sit in a scrolling code box)."""
    return HTML(f"<p>{html.escape(text)}</p>")


@functools.lru_cache(maxsize=None)
def _status(profile: str, chapter: str, claims: tuple[str, ...] | None) -> pd.DataFrame:
    """The planner's status of one chapter (or of some of its claims), once per page: a store profile's page only reads
    the store, which does not change while it renders."""
    return status(profile, [chapter], claims=claims)


def images_absent(images: str) -> bool:
    """Whether the image files of a named set are missing on this machine (the store still has every number)."""
    try:
        image_set(images, 1)
    except ImageDataError:
        return True
    return False


def status_line(profile: str, chapter: str, section: str | None = None) -> HTML:
    """Per model: the images stored; for a chapter with claims the comparisons still open and the images they are projected
    to need, with their cost on one CPU thread (else the chapter's image count); the CSV these numbers are in.
    ``section``: where the chapter's claims lie in several sections, count only that section's claims (and say only under
    the first that the image files are absent)."""
    spec = get(chapter)
    mine = [c.name for c in spec.claims if c.section == section]
    several = len({c.section for c in spec.claims}) > 1
    claims = tuple(mine) if several and mine else None
    table = _status(profile, chapter, claims) if is_store(profile) else status(profile, [chapter], claims=claims)
    parts = []
    for r in table.itertuples():
        stored = _span([r.fewest, r.most])
        name = _model_name(profile, chapter, r.model) if isinstance(r.model, str) else "the nets"
        if str(r.needed) == "not testable offline":
            text = f"<b>{html.escape(name)}</b>: not testable offline (the claim needs the paper's own model)"
        elif r.open:
            first = str(r.needed).endswith("(first look)")
            text = (f"<b>{html.escape(name)}</b>: {stored} images stored; "
                    + ("nothing paired yet, the first look needs 16 images" if first else
                       f"{r.open} comparisons open" + ("" if not r.missing else
                                                       f", projected to need {str(r.needed).replace(' (projected)', '')} images")))
            if r.missing:
                text += f": {r.missing:,} more image computations, about {r.cpu_hours:,.1f} hours on one CPU thread"
                if r.verdict_cpu_hours < r.cpu_hours - 0.05:
                    text += (f" ({r.verdict_cpu_hours:,.1f} of them for the comparisons that decide the verdict)"
                             if r.verdict_cpu_hours >= 0.05 else " (the verdict is decided: all of them for the other comparisons)")
            elif str(r.needed) == "decided":
                text += ": every comparison decided"
        else:
            text = f"<b>{html.escape(name)}</b>: {stored} of {html.escape(str(r.needed).replace(' (count)', ''))} images stored"
        parts.append(text)
    cfg = settings(profile, chapter)
    absent = (" <i>The image files are not on this machine: every number and map below comes from the store; photos are "
              "not shown (set <code>ATTX_DATA_DIR</code> to the folder of the shared ImageNet validation subset to see them)."
              "</i>") if "images" in cfg and images_absent(cfg["images"]) and section in (None, spec.sections[0].name) else ""
    fill = (f" More: <code>attx compute --profile {profile} --only {chapter}</code> (resumable; it computes only for open claims) "
            "or a short GPU run.") if table.missing.sum() else ""
    link = f'<a href="../../tables/{profile}/{chapter}.csv">{chapter}.csv</a>'
    return HTML(f"<p>{'; '.join(parts)}.{fill}{absent} The numbers as CSV: {link} (long format, bootstrap 95% intervals); every "
                f'claim\'s comparisons: <a href="../../tables/{profile}/claims.csv">claims.csv</a>.</p>')


def photos(images: str, n_images: int | None) -> ImageSet | None:
    """The image set a page draws its maps over, or None where its files are not on this machine (the page's status
    line says so: the numbers and maps come from the store, the photos do not)."""
    try:
        return image_set(images, n_images)
    except ImageDataError:
        return None


def _differences(ours: Any, paper: Any, prefix: str = "") -> list[str]:
    """Leaf-by-leaf differences between two settings trees, as 'key ours (paper: value)'."""
    if isinstance(ours, dict) and isinstance(paper, dict):
        out = []
        for key in dict.fromkeys([*ours, *paper]):
            out += _differences(ours.get(key, "default"), paper.get(key, "default"), f"{prefix}{key}.")
        return out
    return [] if ours == paper else [f"{prefix.rstrip('.')} {ours} (paper: {paper})"]


def settings_text(cfg: Mapping[str, Any]) -> str:
    """The settings a chapter runs with, one per line, then every difference from the paper profile (leaving out the
    profile-wide settings the chapter does not use, e.g. the ImageNet image set for the robustness study)."""
    skip = ("force", "stored_only", "profile", "chapter", *(get(cfg["chapter"]).ignores if cfg.get("chapter") else ()))
    lines = [f"profile: {cfg.get('profile')}"]
    for k, v in cfg.items():
        if k in skip:
            continue
        if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
            lines.append(f"{k}:")
            lines += [f"    {name}: {params or 'defaults'}" for name, params in v.items()]
        else:
            lines.append(f"{k}: {v}")
    if cfg.get("profile") != "paper" and cfg.get("chapter"):
        paper = settings("paper", cfg["chapter"])
        diffs = _differences({k: v for k, v in cfg.items() if k not in skip}, {k: v for k, v in paper.items() if k not in skip})
        lines.append(f"DEVIATIONS from the paper's protocol (`attx book --profile paper` runs it): {len(diffs)}")
        lines += [f"  - {d}" for d in diffs]
    return "\n".join(lines)


def settings_dropdown(cfg: Mapping[str, Any], ours: pd.DataFrame | None = None) -> HTML:
    """Settings, every deviation from the paper's protocol, the run's notes and provenance, folded away."""
    parts = [settings_text(cfg)]
    if ours is not None:
        parts += [notes_text(ours), provenance_line(ours)]
    body = html.escape("\n\n".join(parts))
    return HTML(f"<details><summary><b>Settings, deviations from the paper, notes and provenance</b></summary>"
                f'<pre style="white-space: pre-wrap; font-size: 0.8em">{body}</pre></details>')


GROUPED = 4  # a chapter with at least this many claims (one per variant) is one row of the landing table


def landing_claims(profile: str) -> "pd.io.formats.style.Styler":
    """The landing page's reproduction status, in book order: per registered claim (linked to its page) what the paper
    says, the verdict (with its numbers where one comparison decides it), n, its primary comparisons' verdicts counted
    and (a store profile) the CPU-hours on one thread still projected to decide it; a chapter of many small claims
    (the published code's deviations) is one row counting its claims' verdicts."""
    left = verdict_hours(profile)

    def hours(names: Sequence[str]) -> str:
        total = sum(left.get(n, 0.0) for n in names)
        return "" if total == 0 else hours_text(total)

    rows = []
    for chapter in chapters(profile):
        found = []
        for claim in chapter.claims:
            reason = testable(profile, claim.name)
            comparisons = [] if reason else evaluate(profile, claim.name)
            verdict = f"not testable offline ({reason})" if reason else verdict_text(profile, claim.name, comparisons)
            found.append((claim, reason, comparisons, verdict))
        link = f'<a href="{chapter.name}.html">{{}}</a>'
        if len(found) >= GROUPED:
            verdicts = [v for *_, v in found]
            n = sorted({c.n for _, _, cs, _ in found for c in cs if c.primary and c.n})
            rows.append({"claim": link.format(html.escape(chapter.title.split(":")[0])),
                         "the paper says": html.escape(f"{len(found)} separate claims, e.g. {found[0][0].text}"),
                         "verdict": html.escape(", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts))),
                         "n": _span(n), "comparisons": "",
                         "CPU-h to verdict": hours([c.name for c, *_ in found])})
            continue
        for claim, reason, comparisons, verdict in found:
            primary = [c for c in comparisons if c.primary]
            n = sorted({c.n for c in primary if c.n})
            counts: dict[str, int] = {}
            for c in primary:
                counts[c.verdict] = counts.get(c.verdict, 0) + 1
            rows.append({"claim": link.format(html.escape(claim.label)), "the paper says": html.escape(claim.text),
                         "verdict": html.escape(verdict) + (_numbers(primary[0]) if len(primary) == 1 else ""), "n": _span(n),
                         "comparisons": html.escape(", ".join(f"{count} {v}" for v, count in counts.items())),
                         "CPU-h to verdict": hours([claim.name])})
    shown = pd.DataFrame(rows)
    return (shown.style.hide(axis="index").set_table_attributes('class="attx-claims"')
            .set_table_styles([{"selector": "td, th", "props": "text-align: left; vertical-align: top; font-size: 0.9em; padding: 3px 6px"},
                               {"selector": "td:nth-child(2)", "props": "min-width: 16em"},
                               {"selector": "td:nth-child(3)", "props": "min-width: 12em"}]))


def store_table(profile: str) -> "pd.io.formats.style.Styler | HTML":
    """The landing page's view of a store profile: per chapter (linked to its page) and model, the images stored, the
    comparisons still open and the images they are projected to need (a claim-less chapter: its image count), and what
    the missing image computations cost on one CPU thread, in all and for the comparisons that decide the verdicts,
    under a caption giving the cost model beside what the store's own records measure. A profile the book computes
    itself gets one line."""
    if not is_store(profile):
        return HTML(f"<p>The <b>{profile}</b> profile computes each chapter as its page builds, to the chapter's image count.</p>")
    table = status(profile)
    first = ~table.chapter.duplicated()
    shown = pd.DataFrame({
        "chapter": [f'<a href="{c}.html">{c}</a>' if f else "" for c, f in zip(table.chapter, first)],
        "model": [_model_name(profile, c, m) if isinstance(m, str) else "the robustness nets" for c, m in zip(table.chapter, table.model)],
        "images stored": [_span([a, b]) for a, b in zip(table.fewest, table.most)],
        "comparisons open": table.open,
        "images needed": table.needed,
        "missing computations": [f"{int(m):,}" if m else "" for m in table.missing],
        "CPU-hours (of them deciding verdicts)": [f"{h:,.1f} ({v:,.1f})" if h else ""
                                                  for h, v in zip(table.cpu_hours, table.verdict_cpu_hours)],
    })
    return (shown.style.hide(axis="index").set_caption(html.escape(measured_rates(ResultsStore(profile).entries()).text()))
            .set_table_styles([{"selector": "td, th", "props": "text-align: left; font-size: 0.9em; padding: 2px 8px"},
                               {"selector": "caption", "props": "caption-side: bottom; text-align: left; font-size: 0.85em"}]))


def robustness_table(ours: pd.DataFrame) -> "pd.io.formats.style.Styler | None":
    """The robustness results as the issue asks them: per dataset and objective NA, AA, and top-k intersection,
    Kendall and Spearman with their 95% intervals over the attacked images, and n."""
    if ours.empty:
        return None

    def ci(metric: str) -> pd.Series:
        return ours.apply(lambda r: f"{r[metric]:.3f} [{r[metric + '_lo']:.3f}, {r[metric + '_hi']:.3f}]", axis=1)

    from ..robust.evaluate import TRAINED_NA

    na = ours.NA.map(lambda v: f"{v:.3f}" + (" (did not learn)" if v < TRAINED_NA else ""))
    shown = pd.DataFrame({"dataset": ours.dataset, "objective": ours.objective, "NA": na, "AA": ours.AA.round(3),
                          "top-k (95% CI)": ci("topk"), "Kendall (95% CI)": ci("kendall"), "Spearman (95% CI)": ci("spearman"),
                          "n attacked": ours.n_images.astype(int), "epochs": ours.epochs})
    return shown.set_index(["dataset", "objective"]).style.format(precision=3).set_table_styles(
        [{"selector": "td, th", "props": "font-size: 0.85em; padding: 2px 6px"}])


def robustness_paired(ours: pd.DataFrame) -> "pd.io.formats.style.Styler | str":
    """Each objective minus natural and minus PGD training, per dataset and metric, on the test images both nets
    classify correctly (paired bootstrap 95% interval, n): the comparison that decides the paper's claim."""
    from ..robust.evaluate import paired_robustness

    paired = paired_robustness(ours)
    if paired.empty:
        return ("No per-image values stored for these nets (records from before the paired statistics): rerun "
                "`attx compute --only robustness` (the robustness VERSION bump gives them a new store entry).")
    paired = paired.assign(cell=paired.apply(lambda r: f"{r.difference:+.3f} [{r.ci_lo:+.3f}, {r.ci_hi:+.3f}]", axis=1),
                           n=paired.n.astype(str))
    wide = paired.pivot_table(index=["dataset", "objective"], columns=["reference", "metric"], values="cell", aggfunc="first")
    counts = paired.pivot_table(index=["dataset", "objective"], columns="reference", values="n", aggfunc="first")
    for reference in counts.columns:
        wide[(reference, "n")] = counts[reference]
    order = [(ref, m) for ref in counts.columns for m in ("topk", "kendall", "spearman", "n") if (ref, m) in wide]
    return wide[order].fillna("–").style.set_table_styles([{"selector": "td, th", "props": "font-size: 0.85em; padding: 2px 6px"}])


def robustness_costs() -> dict[str, Any] | None:
    """The newest measured costs of the robustness study (``attx bench --robustness``), preferring one CPU
    thread (the store's background runs); None when never measured."""
    import json

    from ..store import REPO_ROOT

    files = sorted((REPO_ROOT / "data" / "bench").glob("robust-*.json"), key=lambda p: (p.name != "robust-cpu-1t.json", p.name))
    for path in files:
        runs = json.loads(path.read_text()).get("runs", {})
        if "paper" in runs:
            return {**runs["paper"], "file": f"data/bench/{path.name}"}
    return None


def robustness_scale(scale: str) -> HTML:
    """The scale that ran against the authors' (a robustness scale of :data:`attx_core.robust.SCALES`),
    and what the larger scales cost, from measured seconds per training step and per attacked image."""
    from ..robust import SCALES
    from ..robust.costs import projected_hours

    ran, paper = SCALES[scale], SCALES["paper"]

    def describe(p) -> str:
        schedule = "the authors' schedule" if p.epochs is None else f"{p.epochs} epoch(s)"
        return (f"{'all' if p.n_train is None else f'{p.n_train:,}'} training images, "
                f"{schedule}, width x{p.width}, "
                f"{'every test image' if p.n_test is None else f'{p.n_test:,} test images'} for NA/AA, "
                f"{'every correctly classified test image' if p.n_attack is None else f'{p.n_attack} correctly classified test images'} attacked"
                + (f", {p.attack['iterations']} attack iterations" if "iterations" in p.attack else ", the authors' attack iterations"))

    text = (f"<p><b>Scale that ran</b> (robustness scale <code>{scale}</code>): {html.escape(describe(ran))}. "
            f"<b>The paper's scale</b>: {html.escape(describe(paper))}.</p>")
    costs = robustness_costs()
    if costs is None:
        return HTML(text + "<p>Costs not measured yet (<code>attx bench --robustness</code>).</p>")
    rows = []
    for dataset, steps in costs["step_seconds"].items():
        for objective, seconds in steps.items():
            row = {"dataset": dataset, "objective": objective, "s / training step": f"{seconds:.2f}"}
            for name in ("standard", "paper"):  # the scales at the measured (paper) net width
                if name in SCALES:
                    row[f"{name}: hours"] = f"{projected_hours(costs, dataset, objective, name)['total']:,.1f}"
            rows.append(row)
    attack = "; ".join(f"{d} {a['total']:.1f} s per attacked image ({a['iterations']} iterations)" for d, a in costs["attack"].items())
    prov = costs.get("provenance", {})
    table = pd.DataFrame(rows).to_html(index=False, border=0)
    standard = sum(projected_hours(costs, d, o, "standard")["total"] for d, s in costs["step_seconds"].items() for o in s)
    return HTML(text + f"<p><b>What the larger scales cost</b>, measured with the paper-size nets on "
                f"{html.escape(str(prov.get('device', '?')))} (<code>attx bench --robustness</code>, {costs['file']}): "
                f"the authors' top-k attack costs {html.escape(attack)}; a training step costs the seconds in the table. "
                f"The <code>standard</code> scale ({html.escape(describe(SCALES['standard']))}) needs ~{standard:,.0f} "
                "CPU-hours for MNIST and Fashion-MNIST, the paper's far more: GPU jobs "
                "(<code>run_study(dataset, scale=\"standard\", device=\"cuda\")</code>; the paper's scale: "
                "<code>attx compute --profile paper --only robustness --device cuda</code>).</p>"
                f"<details><summary>Cost per net: seconds per training step, hours of training + AA + attack per scale</summary>{table}</details>")


def render(profile: str, chapter: str, force: bool = False, **overrides: Any) -> dict[str, pd.DataFrame]:
    """A chapter's standard page: per section its claim boxes, the paper's table in its own layout with ours beside
    it (paper | ours | interval | n), where n stands against the target, and a figure; then the settings, deviations,
    notes and provenance folded away. Returns each section's per-image frame (for a page's own further cells)."""
    spec = get(chapter)
    cfg = settings(profile, chapter, **overrides)
    opts = run_options(profile, force)
    frames: dict[str, pd.DataFrame] = {}
    if cfg.get("random_weights"):
        display(random_banner(cfg))
    for section in spec.sections:
        ours = section.run(cfg, dict(opts))
        frames[section.name] = ours
        if section.title:
            display(HTML(f"<h2>{html.escape(section.title)}</h2>"))
        display(claim_boxes(profile, chapter, section.name, ours if overrides else None, **overrides))
        if section.paper_table is None:
            continue
        models = [m for m, ran in ours.attrs.get("analogues", {}).items() if ran == m] if _needs_own(chapter) else None
        shown = ours[ours.model.isin(models)] if models is not None else ours
        if section.parameter:  # a curve over settings: every point on the same images
            common = common_images(shown)
            if len(common) < len(shown):
                display(sentence(_common_note(shown, common, section.parameter)))
            shown = common
        elif _unequal(shown):
            display(sentence("Each cell is its row's mean over the images that row holds (its n): the rows hold different "
                             "images, so compare them with the claim box above, which pairs them image by image."))
        cmp = compare(shown, section.paper_table, models=list(ours.attrs.get("models", [])) if models is not None else None)
        cmp = _ours_alone(cmp, shown)
        by_setting = any(c.by == "setting" for c in spec.claims if c.section == section.name)
        display(paper_layout(cmp, row="setting" if by_setting else "paper_label"))
        if models is None or models:
            if not overrides:  # a page run with its own settings (attx run): the store's status is another run's
                display(status_line(profile, chapter, section.name))
            title = section.title or spec.title
            fig = (plots.ablation_curves(cmp, section.parameter, title=title) if section.parameter else
                   plots.paper_vs_ours(cmp, x="setting" if by_setting else "paper_label", title=f"{title}: paper (grey) vs ours (blue)"))
            if fig is not None:  # under its own section, not gathered at the end of the page's cell
                display(fig)
                plt.close(fig)
    display(settings_dropdown(cfg, next(reversed(frames.values())) if frames else None))
    return frames


def _needs_own(chapter: str) -> bool:
    return any(c.own_model for c in get(chapter).claims)
