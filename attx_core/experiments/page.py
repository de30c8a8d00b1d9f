"""What a book page shows besides its table and figure: the verdict up front, the settings folded away,
where n falls short of the profile's target, and a link to the CSV the numbers come from."""
from __future__ import annotations

import html
from typing import Any, Mapping

import pandas as pd
from IPython.display import HTML, display

from ..data import ImageDataError, ImageSet

from .claims import Verdict
from .compare import OUR_MODEL_NAMES, notes_text, provenance_line, settings_text

VERDICT_COLOURS = {"reproduced": "#1b5e20", "not reproduced": "#b71c1c", "partly reproduced": "#e65100"}


def verdict_box(verdict: Verdict) -> HTML:
    """The claim's verdict as a coloured box: the verdict, then the claim, the paper and ours in one line each."""
    colour = next((c for k, c in VERDICT_COLOURS.items() if verdict.verdict.startswith(k)), "#455a64")
    rows = "".join(f"<div><b>{label}:</b> {html.escape(text)}</div>"
                   for label, text in (("Claim", verdict.claim), ("Paper", verdict.paper), ("Ours", verdict.ours)) if text)
    return HTML(f'<div style="border-left: 6px solid {colour}; padding: 0.4em 0.8em; margin: 0.5em 0; background: #fafafa">'
                f'<div style="font-size: 1.1em"><b>Verdict: <span style="color: {colour}">{html.escape(verdict.verdict)}</span></b></div>'
                f"{rows}</div>")


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


def status_line(cmp: pd.DataFrame, cfg: Mapping[str, Any], chapter: str) -> HTML:
    """n against the target (or that the target is met) and the CSV these numbers are also in."""
    from .compute import missing_hours

    short = shortfall(cmp, cfg)
    profile = cfg.get("profile")
    text = "Every cell is at its target image count."
    if short:
        missing, hours = missing_hours(profile, chapter)
        text = (f"<b>Not at full size yet</b> ({html.escape(short)}). The {missing:,} missing image computations cost about "
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
        number = int(row["table"][5:7])
        return f'<a href="{row["page"]}.html">Table {number}</a>'

    def models(used: str) -> str:
        return "; ".join(f"{OUR_MODEL_NAMES.get(b.strip(), b.strip())} for {a.strip()}" if "->" in pair else pair
                         for pair in used.split(", ") for a, _, b in [pair.partition("->")])

    shown = pd.DataFrame({
        "table": summary.apply(table, axis=1),
        "claim": summary["claim"],
        "verdict": summary["verdict"].replace({"not run": "not computed yet"}),
        "n": summary["n"],
        "models that ran": summary["models used"].map(models),
    })
    return (shown.style.hide(axis="index")
            .set_table_attributes('class="attx-claims"')
            .set_table_styles([{"selector": "td, th", "props": "text-align: left; vertical-align: top; font-size: 0.9em; padding: 3px 6px"},
                               {"selector": "td:nth-child(2)", "props": "min-width: 16em"},
                               {"selector": "td:nth-child(3)", "props": "min-width: 12em"}]))
