"""What a book page shows besides its table and figure: the verdict up front, the settings folded away,
where n falls short of the profile's target, and a link to the CSV the numbers come from."""
from __future__ import annotations

import functools
import html
from typing import Any, Mapping

import pandas as pd
from IPython.display import HTML, display

from ..data import ImageDataError, ImageSet

from .claims import Verdict
from .compare import notes_text, provenance_line, settings_text

VERDICT_COLOURS = {"reproduced": "#1b5e20", "not reproduced": "#b71c1c", "partly reproduced": "#e65100"}


def verdict_box(verdict: Verdict) -> HTML:
    """The claim's verdict as a coloured box: the verdict, then the claim, the paper and ours in one line each."""
    colour = next((c for k, c in VERDICT_COLOURS.items() if verdict.verdict.startswith(k)), "#455a64")
    rows = "".join(f"<div><b>{label}:</b> {html.escape(text)}</div>"
                   for label, text in (("Claim", verdict.claim), ("Paper", verdict.paper), ("Ours", verdict.ours)) if text)
    return HTML(f'<div style="border-left: 6px solid {colour}; padding: 0.4em 0.8em; margin: 0.5em 0; background: #fafafa">'
                f'<div style="font-size: 1.1em"><b>Verdict: <span style="color: {colour}">{html.escape(verdict.verdict)}</span></b></div>'
                f"{rows}</div>")


def sentence(text: str) -> HTML:
    """A page's summary sentence as a paragraph of the page (printed, it would sit in a scrolling code box)."""
    return HTML(f"<p>{html.escape(text)}</p>")


def shortfall(cmp: pd.DataFrame, cfg: Mapping[str, Any]) -> str:
    """One line per model whose n is below the profile's target image count ('' when every cell is at it)."""
    per_model = dict(cfg.get("n_images_per_model") or {})
    lines = []
    for model, part in cmp.groupby("model", sort=False):
        target = per_model.get(model, cfg.get("n_images"))
        if target is None:
            continue
        low, high = int(part.n.min()), int(part.n.max())
        if low < target:
            lines.append(f"{model}: n = {low}{f'-{high}' if high != low else ''} of the target {target} images")
    return "; ".join(lines)


@functools.lru_cache(maxsize=None)
def _stored_missing(profile: str, chapter: str) -> tuple[int, float]:
    """:func:`~attx_core.experiments.compute.missing_hours` planned once per page of a store profile: such a
    page only reads the store, which does not change under it, and may show several sections of one chapter."""
    from .compute import missing_hours

    return missing_hours(profile, chapter)


def _missing(profile: str, chapter: str) -> tuple[int, float]:
    from .compute import missing_hours
    from .profiles import PROFILES

    return (_stored_missing if PROFILES[profile].get("book_reads_store") else missing_hours)(profile, chapter)


def status_line(cmp: pd.DataFrame, cfg: Mapping[str, Any], chapter: str) -> HTML:
    """n against the target (or that the target is met) and the CSV these numbers are also in."""
    short = shortfall(cmp, cfg)
    profile = cfg.get("profile")
    missing, hours = _missing(profile, chapter)
    text = "Every cell is at its target image count."
    if short or missing:
        text = (f"<b>Not at full size yet</b> ({html.escape(short or 'some settings not computed')}). The {missing:,} missing image computations cost about "
                f"{hours:,.1f} hours on one CPU thread (<code>attx compute --profile {profile} --only {chapter}</code>, "
                "resumable) or a short GPU run (<code>--device cuda</code>); the intervals narrow as n grows.")
    link = f'<a href="../../tables/{profile}/{chapter}.csv">{chapter}.csv</a>'
    return HTML(f"<p>{text} The numbers as CSV: {link} (long format, 95% bootstrap intervals).</p>")


def photos(images: str, n_images: int | None) -> ImageSet | None:
    """The image set a page draws its maps over, or None with a note on the page where its files are not on
    this machine (the numbers come from the store; the photos do not)."""
    from .resolve import image_set

    try:
        return image_set(images, n_images)
    except ImageDataError as err:
        display(HTML(f"<p><b>Photos not shown:</b> {html.escape(str(err))} (set <code>ATTX_DATA_DIR</code> to the folder "
                     "of the shared ImageNet validation subset).</p>"))
        return None


def settings_dropdown(cfg: Mapping[str, Any], ours: pd.DataFrame | None = None) -> HTML:
    """Settings, every deviation from the paper's protocol, the run's notes and provenance, folded away."""
    parts = [settings_text(cfg)]
    if ours is not None:
        parts += [notes_text(ours), provenance_line(ours)]
    body = html.escape("\n\n".join(parts))
    return HTML(f"<details><summary><b>Settings, deviations from the paper, notes and provenance</b></summary>"
                f'<pre style="white-space: pre-wrap; font-size: 0.8em">{body}</pre></details>')


def claims_table(summary: pd.DataFrame) -> "pd.io.formats.style.Styler":
    """The landing page's reproduction status: per claim (linked to its page) its verdict, n and the models
    that ran, wrapped to the page width."""
    def table(row: pd.Series) -> str:
        label = f"Table {int(row['table'][5:7])}" if row["table"].startswith("table") else row["table"].capitalize()
        return f'<a href="{row["page"]}.html">{label}</a>'

    shown = pd.DataFrame({
        "table": summary.apply(table, axis=1),
        "claim": summary["claim"],
        "verdict": summary["verdict"].replace({"not run": "not computed yet"}),
        "n": summary["n"],
        "models that ran": summary["models that ran"],
    })
    return (shown.style.hide(axis="index")
            .set_table_attributes('class="attx-claims"')
            .set_table_styles([{"selector": "td, th", "props": "text-align: left; vertical-align: top; font-size: 0.9em; padding: 3px 6px"},
                               {"selector": "td:nth-child(2)", "props": "min-width: 16em"},
                               {"selector": "td:nth-child(3)", "props": "min-width: 12em"}]))


def store_table(profile: str) -> "pd.io.formats.style.Styler | HTML":
    """The landing page's view of a store profile: per chapter (linked to its page) and model, the images
    stored against the target, and what the missing image computations cost on one CPU thread. A profile
    the book computes itself (``quick``) gets one line: its pages reach their targets as they build."""
    from .compare import OUR_MODEL_NAMES
    from .compute import store_status
    from .profiles import PROFILES, settings
    from .resolve import ANALOGUES

    if not PROFILES[profile].get("book_reads_store"):
        return HTML(f"<p>The <b>{profile}</b> profile computes each chapter as its page builds, to the chapter's target.</p>")
    status = store_status(profile)

    def model(row: pd.Series) -> str:
        if row["model"] is None or pd.isna(row["model"]):
            return "the robustness nets" if row["chapter"] == "robustness" else ""
        if settings(profile, row["chapter"]).get("stand_ins"):
            return f"{OUR_MODEL_NAMES[ANALOGUES[row['model']]]} (for {row['model']})"
        return row["model"]

    first = status.missing.notna()
    shown = pd.DataFrame({
        "chapter": [f'<a href="{c}.html">{c}</a>' if f else "" for c, f in zip(status.chapter, first)],
        "model": status.apply(model, axis=1),
        "images stored": [f"{a}" if a == b else f"{a}-{b}" for a, b in zip(status.fewest, status.most)],
        "target": status.target.map(lambda t: "" if pd.isna(t) else f"{int(t)}"),
        "missing computations": status.missing.map(lambda m: "" if pd.isna(m) else f"{int(m):,}"),
        "CPU-hours left": status.cpu_hours.map(lambda h: "" if pd.isna(h) else f"{h:,.1f}"),
    })
    return (shown.style.hide(axis="index")
            .apply(lambda _: ["font-weight: bold" if f < t else "" for f, t in zip(status.fewest, status.target.fillna(0))], subset=["images stored"])
            .set_table_styles([{"selector": "td, th", "props": "text-align: left; font-size: 0.9em; padding: 2px 8px"}]))


def robustness_table(ours: pd.DataFrame) -> "pd.io.formats.style.Styler | None":
    """The robustness results as the issue asks them: per dataset and objective NA, AA, and top-k intersection,
    Kendall and Spearman with their 95% intervals over the attacked images, and n."""
    if ours.empty:
        return None

    def ci(metric: str) -> pd.Series:
        return ours.apply(lambda r: f"{r[metric]:.3f} [{r[metric + '_lo']:.3f}, {r[metric + '_hi']:.3f}]", axis=1)

    from .claims import TRAINED_NA

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
        return "No per-image values stored for these nets (records from before the paired statistics): rerun `attx compute --only robustness` (the robustness VERSION bump gives them a new store entry)."
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

    from ..cache import REPO_ROOT

    files = sorted((REPO_ROOT / "data" / "bench").glob("robust-*.json"), key=lambda p: (p.name != "robust-cpu-1t.json", p.name))
    for path in files:
        runs = json.loads(path.read_text()).get("runs", {})
        if "paper" in runs:
            return {**runs["paper"], "file": f"data/bench/{path.name}"}
    return None


def robustness_scale(profile_name: str) -> HTML:
    """The scale that ran against the authors' (a robustness profile of :data:`attx_core.robust.PROFILES`),
    and what the larger scales cost, from measured seconds per training step and per attacked image."""
    from ..robust import PROFILES as ROBUST
    from ..robust.costs import projected_hours

    ran, paper = ROBUST[profile_name], ROBUST["paper"]

    def describe(p) -> str:
        schedule = "the authors' schedule" if p.epochs is None else f"{p.epochs} epoch(s)"
        return (f"{'all' if p.n_train is None else f'{p.n_train:,}'} training images, "
                f"{schedule}, width x{p.width}, "
                f"{'every test image' if p.n_test is None else f'{p.n_test:,} test images'} for NA/AA, "
                f"{'every correctly classified test image' if p.n_attack is None else f'{p.n_attack} correctly classified test images'} attacked"
                + (f", {p.attack['iterations']} attack iterations" if "iterations" in p.attack else ", the authors' attack iterations"))

    text = (f"<p><b>Scale that ran</b> (robustness profile <code>{profile_name}</code>): {html.escape(describe(ran))}. "
            f"<b>The paper's scale</b>: {html.escape(describe(paper))}.</p>")
    costs = robustness_costs()
    if costs is None:
        return HTML(text + "<p>Costs not measured yet (<code>attx bench --robustness</code>).</p>")
    rows = []
    for dataset, steps in costs["step_seconds"].items():
        for objective, seconds in steps.items():
            row = {"dataset": dataset, "objective": objective, "s / training step": f"{seconds:.2f}"}
            for name in ("standard", "paper"):  # the scales at the measured (paper) net width
                if name in ROBUST:
                    row[f"{name}: hours"] = f"{projected_hours(costs, dataset, objective, name)['total']:,.1f}"
            rows.append(row)
    attack = "; ".join(f"{d} {a['total']:.1f} s per attacked image ({a['iterations']} iterations)" for d, a in costs["attack"].items())
    prov = costs.get("provenance", {})
    table = pd.DataFrame(rows).to_html(index=False, border=0)
    standard = sum(projected_hours(costs, d, o, "standard")["total"] for d, s in costs["step_seconds"].items() for o in s)
    return HTML(text + f"<p><b>What the larger scales cost</b>, measured with the paper-size nets on "
                f"{html.escape(str(prov.get('device', '?')))} (<code>attx bench --robustness</code>, {costs['file']}): "
                f"the authors' top-k attack costs {html.escape(attack)}; a training step costs the seconds in the table. "
                f"The <code>standard</code> scale ({html.escape(describe(ROBUST['standard']))}) needs ~{standard:,.0f} "
                "CPU-hours for MNIST and Fashion-MNIST, the paper's far more: GPU jobs "
                "(<code>run_study(dataset, profile=\"standard\", device=\"cuda\")</code>; the paper's scale: "
                "<code>attx compute --profile paper --only robustness --device cuda</code>).</p>"
                f"<details><summary>Cost per net: seconds per training step, hours of training + AA + attack per scale</summary>{table}</details>")
