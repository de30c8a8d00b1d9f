"""Chapters are registered data: a new chapter is one module that calls register_chapter (plus its notebook), and
everything that lists chapters (settings, planning, status, tables, claims, the book's order) sees it."""
from __future__ import annotations

import importlib.util
import math
import re
import sys

import numpy as np
import pandas as pd
import pytest

from attx_core import chapters

MODULE = '''
from attx_core.chapters import Chapter, Claim, register_chapter
from attx_core.chapters.protocol import QUICK_METHODS, pick
from attx_core.chapters.sections import whole
from attx_core.experiments.runners import insdel_table

register_chapter(Chapter(
    name="zz_new_chapter", title="A new chapter", part="Beyond the tables", order=99,
    settings={"models": ["inception_v3"], "methods": pick(QUICK_METHODS, ("saliency", "ig"))},
    profiles={"quick": {"n_images": 2}},
    sections=(whole(insdel_table),),
    claims=(Claim(name="zz_new_claim", label="New", text="Saliency beats IG.", reference="saliency", priority=4),),
))
'''


@pytest.fixture
def new_chapter(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path / "results"))
    path = tmp_path / "zz_new_chapter.py"
    path.write_text(MODULE)
    spec = importlib.util.spec_from_file_location("zz_new_chapter", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["zz_new_chapter"] = module
    spec.loader.exec_module(module)
    yield chapters.get("zz_new_chapter")
    chapters.unregister_chapter("zz_new_chapter")
    sys.modules.pop("zz_new_chapter")


def test_a_registered_module_is_a_chapter_everywhere(new_chapter, tmp_path) -> None:
    from attx_core.book.toc import toc, toc_notebooks
    from attx_core.chapters.claims import claims_table
    from attx_core.compute import cells, store_status, write_tables

    cfg = chapters.settings("quick", "zz_new_chapter")
    assert cfg["n_images"] == 2 and list(cfg["methods"]) == ["saliency", "ig"] and cfg["images"] == "sample"
    assert "zz_new_chapter" in [c.chapter for c in cells("quick")]
    status = store_status("quick", ["zz_new_chapter"])
    assert status.fewest.tolist() == [0] and status.target.tolist() == [2] and status.missing.tolist() == [4]
    assert (tmp_path / "results" / "quick" / "tables" / "zz_new_chapter.csv") in write_tables("quick")
    row = claims_table("quick").set_index("claim").loc["zz_new_claim"]
    assert row.verdict == "not computed yet" and row.chapter == "zz_new_chapter"
    written = pd.read_csv(tmp_path / "results" / "quick" / "tables" / "claims.csv").set_index("claim")
    assert written.loc["zz_new_claim", "claim_cpu_hours"] > 0  # its first look is still to be computed, and priced
    names, reference = toc_notebooks(), [c.name for c in chapters.CHAPTERS.values() if c.part == "Reference"]
    assert names.index("zz_new_chapter") == names.index(reference[0]) - 1  # book order: last of its part, before the reference pages
    beyond = next(p for p in toc()["parts"] if p["caption"] == "Beyond the tables")
    assert beyond["chapters"][-1] == {"file": "book/_executed/zz_new_chapter"}


def test_registry_refuses_what_cannot_work() -> None:
    from attx_core.chapters import Chapter, Claim

    with pytest.raises(ValueError, match="registered twice"):
        chapters.register_chapter(chapters.get("table01_insdel"))
    with pytest.raises(ValueError, match="names no section"):
        Chapter(name="x", title="x", part="Beyond the tables", order=1, claims=(Claim(name="c", label="c", text="t", section="nope"),))
    with pytest.raises(ValueError, match="margin"):
        Claim(name="c", label="c", text="t", kind="equivalence")


def test_the_thirteen_claims_of_the_landing_page_are_registered() -> None:
    names = set(chapters.CLAIMS)
    assert {f"table{i:02d}" for i in range(1, 13)} | {"robustness"} <= names
    assert chapters.CLAIMS["table04"][1].kind == "equivalence" and chapters.CLAIMS["table05"][1].kind == "trend"
    assert chapters.CLAIMS["attexplorepp"][1].kind == "relative" and chapters.CLAIMS["attexplorepp"][1].effect == pytest.approx(0.0757)


def test_a_growth_claim_before_its_first_interval_says_so_in_words() -> None:
    """Under 16 images a trend comparison's note gives the slope without an interval ('nan' never reaches claims.csv)."""
    from attx_core.chapters.claims import _comparison

    chapter, claim = chapters.CLAIMS["table05"]
    values, trend = np.linspace(0.0, 0.02, 10), np.linspace(0.001, 0.003, 10)
    few = _comparison(claim, chapter, "inception_v3", claim.metric, "48", "8", values, 0.01, trend=trend)
    assert few.verdict == "too few images" and "nan" not in few.note and "(no interval yet)" in few.note
    enough = _comparison(claim, chapter, "inception_v3", claim.metric, "48", "8", np.linspace(0.0, 0.02, 20), 0.01,
                         trend=np.linspace(0.001, 0.003, 20))
    assert "nan" not in enough.note and re.search(r"\[[+-]\d\.\d{4}, [+-]\d\.\d{4}\]", enough.note)


def test_an_ablation_comparison_names_its_settings_not_the_method_twice() -> None:
    """Table 5 compares AttEXplore with itself at two settings: the page says 'epsilon = 48 − epsilon = 8'."""
    from attx_core.book.page import comparisons_table
    from attx_core.chapters.claims import _comparison

    chapter, claim = chapters.CLAIMS["table05"]
    c = _comparison(claim, chapter, "inception_v3", claim.metric, "48", "8", np.linspace(0.0, 0.02, 20), 0.01,
                    trend=np.linspace(0.001, 0.003, 20))
    assert comparisons_table([c], "standard").comparison.tolist() == ["epsilon = 48 − epsilon = 8"]


def test_a_comparison_without_an_interval_says_why() -> None:
    """Under 16 images: 'no interval before 16 images'; at 20 images with strongly skewed differences: the images the
    skew guard needs, not the burn-in it has passed."""
    from attx_core.book.page import claim_box, comparisons_table
    from attx_core.chapters.claims import _comparison

    chapter, claim = chapters.CLAIMS["table01"]
    few = _comparison(claim, chapter, "inception_v3", "insertion", "attexplore", "ig", np.linspace(0.0, 0.2, 10), 0.1)
    skewed = _comparison(claim, chapter, "inception_v3", "insertion", "attexplore", "ig", np.r_[np.zeros(19), 1.0], 0.1)
    shown = comparisons_table([few, skewed], "standard")["95% CS"].tolist()
    assert shown[0] == "no interval before 16 images"
    assert skewed.verdict == "too few images" and shown[1] == f"no interval yet: skewed differences, {int(skewed.images_needed)} images needed"
    assert skewed.images_needed > 20
    other = _comparison(claim, chapter, "inception_v3", "insertion", "attexplore", "big", np.r_[np.zeros(18), 0.5, 1.0], 0.1)
    needs = sorted(int(c.images_needed) for c in (skewed, other))
    box = claim_box("standard", "table01", [skewed, other]).data
    assert needs[0] < needs[1] and f"skewed differences, {needs[0]}-{needs[1]} images needed" in box


def test_the_landing_table_prices_each_open_claim(monkeypatch) -> None:
    """The landing page's status table gives, per open claim, the CPU-hours projected to its verdict (summed over its
    models; a grouped chapter over its claims), and nothing for a decided one."""
    from attx_core.book import page
    from attx_core.compute.planner import OPEN_COLUMNS

    rows = [{"claim": "table01", "model": m, "verdict_cpu_hours": h} for m, h in (("inception_v3", 1.0), ("resnet50", 0.25))]
    rows += [{"claim": "published_01", "verdict_cpu_hours": 0.02}, {"claim": "published_02", "verdict_cpu_hours": 0.03}]
    monkeypatch.setattr(page, "open_claims", lambda profile: pd.DataFrame(rows, columns=OPEN_COLUMNS))
    shown = page.landing_claims("standard").data.set_index("claim")["CPU-h to verdict"]
    by_label = {re.sub(r"<[^>]+>", "", k): v for k, v in shown.items()}
    assert by_label["Table 1"] == "1.2" and by_label["The published code vs corrected behaviour"] == "<0.1"
    assert by_label["Table 7"] == "" and by_label["Table 5"] == ""


def test_a_chapter_of_many_claims_prices_each_open_claim_in_its_overview(monkeypatch) -> None:
    """The published-vs-corrected page's overview gives each open claim the CPU-hours projected to its verdict (on its
    first row: the substrates' claims have a row per rival); a decided claim gets none."""
    from attx_core.book import page
    from attx_core.chapters.claims import _comparison
    from attx_core.compute.planner import OPEN_COLUMNS

    rows = [{"claim": "published_01", "verdict_cpu_hours": 0.02}, {"claim": "published_03", "verdict_cpu_hours": 2.25}]
    monkeypatch.setattr(page, "open_claims", lambda profile: pd.DataFrame(rows, columns=OPEN_COLUMNS))
    rng = np.random.default_rng(1)

    def evaluate(profile, name):
        chapter, claim = chapters.CLAIMS[name]
        return [_comparison(claim, chapter, "inception_v3", "insertion", "corrected", "published",
                            0.05 * rng.standard_normal(16), math.nan)]

    monkeypatch.setattr(page, "evaluate", evaluate)
    hours = page.claims_overview("standard", "published_vs_corrected").set_index("compared")["CPU-h to verdict"].tolist()
    assert hours[0] == "<0.1" and hours[2] == "2.2" and hours[1] == hours[3] == ""
    rows[1] = {"claim": "substrate_blur", "verdict_cpu_hours": 4.0}
    monkeypatch.setattr(page, "evaluate", lambda profile, name: evaluate(profile, "published_01") * 3)
    assert page.claims_overview("standard", "substrates")["CPU-h to verdict"].tolist()[:4] == ["4.0", "", "", ""]


def test_the_landing_table_gives_a_single_comparison_claim_its_numbers(monkeypatch) -> None:
    """A claim decided by one comparison shows on the landing page ours, its 95% confidence sequence and the paper's
    value under its verdict (or why there is no interval yet); a claim of many comparisons leaves them to its page."""
    from attx_core.book import page
    from attx_core.chapters.claims import _comparison

    chapter, claim = chapters.CLAIMS["table05"]
    rng = np.random.default_rng(0)
    one = _comparison(claim, chapter, "inception_v3", "insertion", "48", "8", 0.02 + 0.05 * rng.standard_normal(40), 0.0095,
                      trend=0.02 + 0.05 * rng.standard_normal(40))
    few = _comparison(claim, chapter, "inception_v3", "insertion", "48", "8", np.linspace(0.0, 0.2, 10), 0.0095,
                      trend=np.linspace(0.0, 0.2, 10))
    found = {"table05": [one], "table12": [few]}
    monkeypatch.setattr(page, "evaluate", lambda profile, name: found.get(name, [one, one]))
    monkeypatch.setattr(page, "open_claims", lambda profile: pd.DataFrame(columns=["claim", "verdict_cpu_hours"]))
    shown = page.landing_claims("standard").data
    verdicts = {re.sub(r"<[^>]+>", "", k): v for k, v in zip(shown["claim"], shown["verdict"])}
    assert f"ours {one.mean:+.3f} [{one.lo:+.3f}, {one.hi:+.3f}], paper +0.009" in verdicts["Table 5"]
    assert "(no interval before 16 images)" in verdicts["Table 12"]
    assert "ours" not in verdicts["Table 3"]


def test_an_ablation_curve_puts_every_setting_on_the_same_images() -> None:
    """A setting that holds more images (N = 20 is Table 1's own setting) would make its point of the curve differ by
    its images, not its setting: the table and curve keep the images every setting has, and the page says so; a table
    of methods whose rows hold different images says so under its claim box."""
    from attx_core.book.page import _common_note, _unequal, common_images

    rows = [{"model": "inception_v3", "metric": m, "setting": s, "image": f"{i:04d}.png", "value": 0.4}
            for m in ("insertion", "deletion") for s, n in (("10", 3), ("20", 5), ("60", 3)) for i in range(n)]
    rows.append({"model": "inception_v3", "metric": "insertion", "setting": "60", "image": "0009.png", "value": 0.9})
    frame = pd.DataFrame(rows)
    shown = common_images(frame)
    assert shown.groupby(["metric", "setting"]).image.nunique().tolist() == [3] * 6
    assert "use the 3 images that every setting has" in _common_note(frame, shown, "N") and "N = 20: 5" in _common_note(frame, shown, "N")
    assert len(common_images(frame[(frame.setting != "20") & (frame.image != "0009.png")])) == 12
    table = frame.assign(method=frame.setting.map({"10": "ig", "20": "attexplore", "60": "agi"}), setting="")
    assert _unequal(table) and not _unequal(common_images(frame).assign(method="m"))


def test_images_needed_for_an_interval_follow_the_skew_the_interval_is_hidden_by() -> None:
    """A relative comparison's interval is hidden by the skew of a - (mean a / mean b) b, a trend's also by its slopes':
    the images it needs come from those, not from the reference's values alone (which asked for one more image, again
    and again, while the interval stayed hidden)."""
    from attx_core.chapters.claims import _comparison
    from attx_core.stats.confseq import min_images

    chapter, claim = chapters.CLAIMS["table02"]
    rng = np.random.default_rng(0)
    a, b = 1.0 + 0.01 * rng.standard_normal(20), np.r_[np.full(19, 10.0), 30.0]
    c = _comparison(claim, chapter, "inception_v3", "fps", "attexplore", "guided_ig", a, math.nan, rival_values=b)
    assert c.verdict == "too few images" and min_images(a) <= 21 < c.images_needed == min_images(a - a.mean() / b.mean() * b)
    chapter, claim = chapters.CLAIMS["table11"]
    slopes = np.r_[np.full(19, 0.01), 1.0]
    t = _comparison(claim, chapter, "inception_v3", "insertion", "4", "1", np.linspace(0.0, 0.02, 20), 0.01, trend=slopes)
    assert t.verdict == "too few images" and t.images_needed == min_images(slopes) > 21
