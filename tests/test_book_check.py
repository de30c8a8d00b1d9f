"""check-book's page checks on synthetic pages (no browser needed): each problem it names can be seen."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
from PIL import Image

from attx_core.book.check import count_problems, page_problems, stored_counts


def _png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_clean_page_passes_and_each_problem_is_named(tmp_path) -> None:
    page = tmp_path / "page.html"
    (tmp_path / "fig.png").write_bytes(_png(np.random.default_rng(0).integers(0, 255, (20, 20, 3))))
    (tmp_path / "blank.png").write_bytes(_png(np.full((20, 20, 3), 255)))
    assert page_problems(page, '<p>fine</p><img src="fig.png">') == []
    assert page_problems(page, "") == ["the browser rendered nothing"]
    assert "traceback" in page_problems(page, '<div class="cell_output output traceback">x</div>')[0]
    assert "an empty figure" in page_problems(page, '<img src="blank.png">')[0]
    assert "a missing figure" in page_problems(page, '<img src="gone.png">')[0]
    assert "an error on stderr" in page_problems(page, '<div class="output stderr">ValueError: bad</div>')[0]
    assert page_problems(page, '<div class="output stderr">a harmless warning</div>') == []


def test_csv_links_must_resolve_against_the_page(tmp_path) -> None:
    pages = tmp_path / "book" / "_executed"
    pages.mkdir(parents=True)
    (tmp_path / "tables" / "standard").mkdir(parents=True)
    (tmp_path / "tables" / "standard" / "table01_insdel.csv").write_text("model\n")
    page = pages / "table01_insdel.html"
    good = '<a href="../../tables/standard/table01_insdel.csv">csv</a> <a href="https://example.org/x.csv">elsewhere</a>'
    assert page_problems(page, good) == []
    bad = page_problems(page, '<a class="x" href="../../tables/standard/ablation_n.csv?v=1">csv</a><a href="other.html">page</a>')
    assert bad == ["a CSV link that does not resolve (../../tables/standard/ablation_n.csv?v=1)"]


def test_a_claims_page_needs_its_verdict_box(tmp_path) -> None:
    page = tmp_path / "page.html"
    assert page_problems(page, "<p>a table</p>") == []  # a page without claims needs none
    assert "no verdict box" in page_problems(page, "<p>a table</p>", needs_verdict=True)[0]
    assert "no verdict box" in page_problems(page, '<div class="attx-no-verdict">x</div>', needs_verdict=True)[0]
    assert page_problems(page, '<div class="attx-verdict" style="x">Table 1: open</div>', needs_verdict=True) == []


def test_stored_counts_read_the_status_as_pages_name_models() -> None:
    status = pd.DataFrame({"chapter": ["table01_insdel", "table01_insdel", "robustness"], "model": ["inception_v3", "resnet50", None],
                           "fewest": [140, 0, 500], "most": [148, 8, 500]})
    counts = stored_counts("standard", status)
    assert counts == {"table01_insdel": {"EfficientNet-Lite0 (for Inception-v3)": "140-148", "EfficientNet-Lite1 (for ResNet-50)": "0-8"},
                      "robustness": {None: "500"}}


EXPECTED = {"table01_insdel": {"EfficientNet-Lite0 (for Inception-v3)": "140-148", "EfficientNet-Lite1 (for ResNet-50)": "0-8"},
            "robustness": {None: "500"}, "figure04_heatmaps": {"EfficientNet-Lite0 (for Inception-v3)": "6"}}
LANDING = """<table><thead><tr><th>chapter</th><th>model</th><th>images stored</th><th>comparisons open</th></tr></thead><tbody>
<tr><td><a href="table01_insdel.html">table01_insdel</a></td><td>EfficientNet-Lite0 (for Inception-v3)</td><td>{a}</td><td>5 of 20</td></tr>
<tr><td></td><td>EfficientNet-Lite1 (for ResNet-50)</td><td>0-8</td><td>0 of 0</td></tr>
<tr><td><a href="robustness.html">robustness</a></td><td>the robustness nets</td><td>500</td><td></td></tr></tbody></table>"""


def test_counts_on_a_chapter_page_must_match_the_store() -> None:
    line = ("<p><b>EfficientNet-Lite0 (for Inception-v3)</b>: {} images stored; 5 comparisons open. "
            "<b>EfficientNet-Lite1 (for ResNet-50)</b>: 0-8 images stored</p>")
    assert count_problems(line.format("140-148"), EXPECTED, "table01_insdel") == []
    assert count_problems("<p><b>EfficientNet-Lite0 (for Inception-v3)</b>: 6 of 6 images stored.</p>", EXPECTED, "figure04_heatmaps") == []
    wrong = count_problems(line.format("400-400"), EXPECTED, "table01_insdel")
    assert wrong == ["table01_insdel / EfficientNet-Lite0 (for Inception-v3): the page shows 400-400 images stored, the store holds 140-148"]
    assert "400 images stored" in count_problems("<b>EfficientNet-Lite0 (for Inception-v3)</b>: 400 of 400 images stored",
                                                 EXPECTED, "figure04_heatmaps")[0]
    # the store grew after the page was built: fewer is stale, never more
    assert count_problems(line.format("132-140"), EXPECTED, "table01_insdel", grown=True) == []
    assert count_problems(line.format("132-140"), EXPECTED, "table01_insdel") != []
    assert count_problems(line.format("140-150"), EXPECTED, "table01_insdel", grown=True) != []
    # a claim box's model line is not a count of stored images
    assert count_problems("<b>EfficientNet-Lite0 (for Inception-v3)</b>, insertion, n = 400: open", EXPECTED, "table01_insdel") == []


def test_counts_on_the_landing_page_must_match_the_store() -> None:
    assert count_problems(LANDING.format(a="140-148"), EXPECTED, None) == []
    assert count_problems(LANDING.format(a="400"), EXPECTED, None) == [
        "table01_insdel / EfficientNet-Lite0 (for Inception-v3): the page shows 400 images stored, the store holds 140-148"]
    assert "does not list" in count_problems(LANDING.format(a="140-148").replace("ResNet-50", "VGG-16"), EXPECTED, None)[0]
