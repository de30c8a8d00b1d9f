"""``make check-book``: open every page of the built book in headless Chromium and fail on what a reader
would see go wrong: a Python traceback or error output, an empty or missing figure, or a static explorer
that does not change when its slider moves. Not part of CI (it needs Chromium and a built book)."""
from __future__ import annotations

import argparse
import base64
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from ..cache import REPO_ROOT
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


def page_problems(page: Path, dom: str) -> list[str]:
    """What is wrong on one rendered page (empty list: nothing)."""
    problems = []
    if not dom.strip():
        return ["the browser rendered nothing"]
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
    args = parser.parse_args(list(argv) if argv is not None else None)
    folder, chrome = Path(args.html).resolve(), browser()
    failed = 0
    for name in toc_notebooks():
        page = folder / f"{name}.html"
        problems = [f"not built ({page})"] if not page.is_file() else page_problems(page, dump_dom(page, chrome)) + explorer_problems(page, chrome)
        failed += bool(problems)
        print(f"{'FAIL' if problems else 'ok  '} {name}" + "".join(f"\n     - {p}" for p in problems), flush=True)
    print(f"check-book: {failed} page(s) with problems" if failed else "check-book: every page renders cleanly")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
