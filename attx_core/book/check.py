"""``make check-book``: open every page of the built book in headless Chromium and fail on what a reader
would see go wrong: a Python traceback or error output, an empty or missing figure, a CSV link that does not
resolve, a claim's page without its verdict box, counts of stored images that disagree with the store, or a
static explorer that does not change when its slider moves. Not part of CI (it needs Chromium and a built book)."""
from __future__ import annotations

import argparse
import base64
import html
import io
import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Mapping, Sequence
from urllib.parse import unquote, urlsplit

import pandas as pd

from ..chapters import CHAPTERS
from ..store import REPO_ROOT, ResultsStore
from .toc import toc_notebooks

HTML_DIR = REPO_ROOT / "_build" / "html" / "book" / "_executed"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# Injected into a copy of a page with a static explorer: move the epsilon slider, report what changed.
DRIVE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const out = {found: false};
  const root = document.querySelector(".attx-grid");
  if (root) {
    const canvas = root.querySelector("canvas"), slider = root.querySelector("input[data-axis=epsilon]");
    out.found = true; out.before = root.dataset.shown; out.before_pixels = canvas.toDataURL().length;
    const before = canvas.toDataURL();
    slider.value = slider.value > 0 ? 0 : 1; slider.dispatchEvent(new Event("input"));
    out.after = root.dataset.shown; out.pixels_changed = canvas.toDataURL() !== before;
  }
  const pre = document.createElement("pre"); pre.id = "attx-check"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 1500));
</script>"""


def browser() -> str:
    """The Chromium executable; a clear error when none is installed."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("check-book: no Chromium found (Debian: apt-get install chromium)")


def dump_dom(page: Path, chrome: str) -> str:
    """The page's DOM after its scripts ran (headless Chromium, 10 s of virtual time)."""
    cmd = [chrome, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def _blank(png: bytes) -> bool:
    from PIL import Image, ImageStat

    image = Image.open(io.BytesIO(png)).convert("L")
    return max(ImageStat.Stat(image).stddev) < 1.0


def page_problems(page: Path, dom: str, needs_verdict: bool = False) -> list[str]:
    """What is wrong on one rendered page (empty list: nothing); ``needs_verdict``: the page's chapter registers
    claims, so it must show their verdict box."""
    problems = []
    if not dom.strip():
        return ["the browser rendered nothing"]
    if needs_verdict and not re.search(r'class="[^"]*\battx-verdict\b', dom):
        problems.append("no verdict box (class attx-verdict) on a page whose chapter registers claims")
    problems += csv_link_problems(page, dom)
    if "Traceback (most recent call last)" in dom or re.search(r'class="[^"]*output[^"]*(traceback|error)', dom):
        problems.append("a Python traceback or error output")
    for stderr in re.findall(r'class="[^"]*output stderr[^"]*"[^>]*>(.*?)</div>', dom, flags=re.S):
        if re.search(r"Error|Exception", stderr):
            problems.append(f"an error on stderr: {re.sub(r'<[^>]+>', '', stderr).strip()[:120]}")
    for src in re.findall(r'<img[^>]+src="([^"]+)"', dom):
        if src.startswith("blob:"):  # drawn by a widget in the browser: present by construction
            continue
        if src.startswith("data:"):
            data = base64.b64decode(src.split(",", 1)[1]) if ";base64," in src else b""
        else:
            path = (page.parent / src.split("#")[0]).resolve()
            data = path.read_bytes() if path.is_file() else b""
        if not data:
            problems.append(f"a missing figure ({src[:80]})")
        elif src.endswith(".png") or src.startswith("data:image/png"):
            if _blank(data):
                problems.append(f"an empty figure ({src[:80]})")
    return problems


def csv_link_problems(page: Path, dom: str) -> list[str]:
    """Relative links to a ``.csv`` that resolve to no file, against the page's own folder (as a browser follows them)."""
    problems = []
    for href in dict.fromkeys(html.unescape(h) for h in re.findall(r'<a\b[^>]*\bhref="([^"]+)"', dom)):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith("/") or not parts.path.lower().endswith(".csv"):
            continue
        if not (page.parent / unquote(parts.path)).resolve().is_file():
            problems.append(f"a CSV link that does not resolve ({href})")
    return problems


def _count(text: str) -> tuple[int, int]:
    """'140-148' or '6' as (fewest, most)."""
    low, _, high = text.strip().partition("-")
    return int(low), int(high or low)


def stored_counts(profile: str, table: pd.DataFrame | None = None) -> dict[str, dict[str | None, str]]:
    """Per chapter, model as the pages name it (None: a chapter without models) -> images stored as the pages show
    them (``fewest-most``), from the planner's status of the store computed now (``table``: a given status frame)."""
    from ..compute.planner import status
    from .page import _model_name

    table = status(profile) if table is None else table
    out: dict[str, dict[str | None, str]] = {}
    for r in table.itertuples():
        name = _model_name(profile, r.chapter, r.model) if isinstance(r.model, str) else None
        out.setdefault(r.chapter, {})[name] = f"{r.fewest}" if r.fewest == r.most else f"{r.fewest}-{r.most}"
    return out


def _cells(row: str, tag: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(rf"<{tag}\b[^>]*>(.*?)</{tag}>", row, flags=re.S)]


def shown_counts(dom: str, chapter: str | None) -> list[tuple[str, str | None, str]]:
    """(chapter, model, images stored) as a page shows them: the status lines of ``chapter``'s page
    ("<b>model</b>: 140-148 images stored", "6 of 6 images stored"), or for the landing page (``chapter`` None)
    the rows of its table of what the store holds."""
    if chapter is not None:
        found = re.findall(r"<b>([^<]+)</b>:\s*(\d+(?:-\d+)?)(?: of \d+)? images stored", dom)
        return [(chapter, html.unescape(m).strip(), n) for m, n in found]
    out = []
    for table in re.findall(r"<table\b.*?</table>", dom, flags=re.S):
        header = _cells(table, "th")
        if not {"chapter", "model", "images stored"} <= set(header):
            continue
        at = {h: header.index(h) for h in ("chapter", "model", "images stored")}
        current = None
        for row in re.findall(r"<tr\b.*?</tr>", table, flags=re.S):
            cells = _cells(row, "td")
            if len(cells) <= max(at.values()):
                continue
            current = cells[at["chapter"]] or current
            out.append((current, cells[at["model"]], cells[at["images stored"]]))
    return out


def count_problems(dom: str, expected: Mapping[str, Mapping[str | None, str]], chapter: str | None, grown: bool = False) -> list[str]:
    """Images-stored counts on a page (:func:`shown_counts`) that disagree with ``expected`` (:func:`stored_counts`).
    ``grown``: the store was written after the page was built, so a count below the store's is stale, not wrong; a
    count above it is always wrong (the page counted something the store does not hold)."""
    problems = []
    for name, model, shown in dict.fromkeys(shown_counts(dom, chapter)):
        mine = expected.get(name, {})
        want = mine.get(model, mine.get(None) if len(mine) == 1 else None)
        if want is None:
            problems.append(f"counts for {name} / {model} ({shown} images stored), which the store's status does not list")
            continue
        (lo, hi), (want_lo, want_hi) = _count(shown), _count(want)
        behind = lo <= want_lo and hi <= want_hi
        if (lo, hi) != (want_lo, want_hi) and not (grown and behind):
            problems.append(f"{name} / {model}: the page shows {shown} images stored, the store holds {want}")
    return problems


def _executed_at(name: str, profile: str) -> float | None:
    """When the page's notebook started executing (epoch seconds): from the build's execution record, else from its
    executed notebook's time less its wall time; None if unknown (the HTML's own time is that of the last HTML build)."""
    from .build import EXECUTED, read_executions, read_timings

    record = read_executions().get(profile, {}).get(name)
    if record and record.get("date"):
        return datetime.fromisoformat(record["date"].replace("Z", "+00:00")).timestamp() - float(record.get("seconds") or 0) - 1
    notebook = EXECUTED / f"{name}.ipynb"
    if not notebook.is_file():
        return None
    return notebook.stat().st_mtime - float(read_timings().get(profile, {}).get(name) or 0) - 1


def _store_written(profile: str) -> dict[str | None, float]:
    """Per chapter, the latest write to a store entry it reads (epoch seconds; 0: none stored); None: to any record
    of the profile's store (what the landing page counts)."""
    from ..compute import cells, missing

    out: dict[str | None, float] = {None: max((p.stat().st_mtime for p in ResultsStore(profile).entry_paths()), default=0.0)}
    for cell in cells(profile):
        times = [entry.path.stat().st_mtime for entry, _ in missing(profile, cell) if entry.path.is_file()]
        out[cell.chapter] = max([out.get(cell.chapter, 0.0), *times])
    return out


def explorer_problems(page: Path, chrome: str) -> list[str]:
    """Drive the page's static explorer (if it has one): moving the slider must change the map shown."""
    html = page.read_text()
    if "attx-grid" not in html:
        return []
    probe = page.with_name(f".check-{page.name}")
    probe.write_text(html.replace("</body>", DRIVE + "</body>"))
    try:
        dom = dump_dom(probe, chrome)
    finally:
        probe.unlink(missing_ok=True)
    found = re.search(r'<pre id="attx-check"[^>]*>(.*?)</pre>', dom, flags=re.S)
    if not found:
        return ["the explorer check did not run"]
    result = json.loads(found.group(1).replace("&quot;", '"'))
    if not result.get("found"):
        return []  # the page says the grid is not stored yet
    if result.get("before") == result.get("after") or not result.get("pixels_changed"):
        return [f"moving the explorer's epsilon slider did not change the map ({result})"]
    return []


def main(argv: Sequence[str] | None = None) -> int:
    """Check every page of the book (in registry order) as built; print one line per page, exit 1 on a problem."""
    parser = argparse.ArgumentParser(prog="check-book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", default=str(HTML_DIR), help="folder of the built pages")
    parser.add_argument("--profile", help="the profile the book was built with (default: the one its landing page names)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    folder, chrome = Path(args.html).resolve(), browser()
    names = toc_notebooks()
    landing = folder / f"{names[0]}.html"
    named = re.search(r"Profile <b>([A-Za-z0-9_.-]+)</b>", landing.read_text()) if landing.is_file() else None
    profile = args.profile or (named.group(1) if named else "standard")
    expected, written = stored_counts(profile), _store_written(profile)
    failed = 0
    for name in names:
        page = folder / f"{name}.html"
        if not page.is_file():
            problems, stale = [f"not built ({page})"], False
        else:
            dom = dump_dom(page, chrome)
            stale = written.get(None if name == names[0] else name, 0.0) > (_executed_at(name, profile) or page.stat().st_mtime)
            problems = (page_problems(page, dom, needs_verdict=bool(CHAPTERS[name].claims)) + explorer_problems(page, chrome)
                        + count_problems(dom, expected, None if name == names[0] else name, grown=stale))
        failed += bool(problems)
        note = " (the store grew since this page was built: counts below the store's are stale, not checked)" if stale else ""
        print(f"{'FAIL' if problems else 'ok  '} {name}{note}" + "".join(f"\n     - {p}" for p in problems), flush=True)
    print(f"check-book: {failed} page(s) with problems" if failed else "check-book: every page renders cleanly")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
