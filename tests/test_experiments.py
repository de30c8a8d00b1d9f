"""The experiment layer: settings, model resolution, paper comparison, stored and resumable results."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from attx_core import chapters
from attx_core import experiments as ex
from attx_core.models import WeightsUnavailableError


def test_settings_merge_profile_chapter_and_overrides() -> None:
    cfg = chapters.settings("quick", "table01_insdel", n_images=1)
    assert cfg["profile"] == "quick" and cfg["n_images"] == 1 and cfg["images"] == "sample"
    assert "attexplore" in cfg["methods"]
    with pytest.raises(ValueError, match="unknown profile"):
        chapters.settings("nope", "table01_insdel")
    with pytest.raises(ValueError, match="unknown setting"):
        chapters.settings("quick", "table01_insdel", bogus=1)


def test_every_chapter_of_every_profile_resolves() -> None:
    for profile in chapters.PROFILES:
        for chapter in chapters.chapters(profile):
            cfg = chapters.settings(profile, chapter.name)
            for section in chapter.sections:
                assert section.axis == () or section.configurations(cfg), (profile, chapter.name, section.name)


def test_resolve_model_uses_analogue_never_random_weights() -> None:
    resolved = ex.resolve_model("inception_v3")
    assert resolved.weights != "random-init"
    if resolved.name != "inception_v3":
        assert resolved.name == ex.ANALOGUES["inception_v3"]
        assert "inception_v3 -> efficientnet_lite0" in resolved.note
    with pytest.raises(WeightsUnavailableError):
        ex.resolve_model("tiny_cnn")  # random-only model without an analogue: refused, not random
    with pytest.raises(ValueError, match="unknown model"):
        ex.resolve_model("resnet9000")


def test_method_params_fill_defaults_and_note_unknown() -> None:
    full, notes = ex.method_params("ig", {"steps": 7, "bogus": 1}, seed=5)
    assert full["steps"] == 7 and "bogus" not in full and "seed" not in full
    assert any("bogus" in n for n in notes)
    with pytest.raises(ValueError, match="unknown method"):
        ex.method_params("no_such_method", {})


def _ours(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"model": "inception_v3", "ours_model": "efficientnet_lite0", "method": "attexplore", "parameter": "",
                         "setting": "", "metric": "insertion", "image": [f"i{k}" for k in range(len(values))], "value": values})


def test_compare_reports_paper_ours_delta_ci() -> None:
    cmp = ex.compare(_ours([0.40, 0.50, 0.45]), "table01_insdel", models=["inception_v3"])
    row = cmp[(cmp.method == "attexplore") & (cmp.metric == "insertion")].iloc[0]
    assert row.paper == pytest.approx(0.4732)
    assert row.ours == pytest.approx(0.45)
    assert row.delta == pytest.approx(0.45 - 0.4732)
    assert row.ci_lo <= row.ours <= row.ci_hi and row.n == 3
    assert row.status == "paper value inside CI"
    assert {"paper", "ours", "delta", "95% CI"} <= set(cmp.columns)
    # cells we did not compute stay in the table, marked; models we did not run are left out
    missing = cmp[(cmp.method == "agi") & (cmp.metric == "insertion")].iloc[0]
    assert pd.isna(missing.ours) and missing.status == "not computed yet"
    assert set(cmp.model) == {"inception_v3"} and len(cmp) == 22


def test_compare_table2_applies_to_the_models_run() -> None:
    ours = _ours([10.0]).assign(method="ig", metric="fps")
    cmp = ex.compare(ours, "table02_fps", models=["inception_v3"])
    assert cmp[cmp.method == "ig"].iloc[0].ours == 10.0 and len(cmp) == 6


def test_expected_gradients_draws_from_the_whole_set_whatever_the_run_count(tmp_path, monkeypatch) -> None:
    """A record's reference pool is every image of the set (named in the key), so an image's record is the same whether
    the run that computed it asked for 1 image or 3."""
    import attx_core.experiments.runners as runners

    pools = []
    real = runners.attribute
    monkeypatch.setattr(runners, "attribute", lambda *a, **k: pools.append(k["background"].shape[0]) or real(*a, **k))
    kw = dict(profile="quick", models=["inception_v3"], methods={"expected_gradients": {"background": runners.EVALUATION_SET}},
              images="sample", seed=0, insdel={"step": 224 * 56, "substrate": "zeros", "order": "pixel"}, batch_size=1)
    everything = len(ex.image_ids("sample", None)[0])
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path / "one"))
    one = ex.insdel_table(n_images=1, **kw)
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path / "three"))
    three = ex.insdel_table(n_images=3, **kw)
    assert pools == [everything] * 4 and everything > 3
    pd.testing.assert_frame_equal(three[three.image == one.image.iloc[0]].reset_index(drop=True), one.reset_index(drop=True))
    entry = next((tmp_path / "one" / "quick" / "insdel").glob("*expected_gradients*.json"))
    assert json.loads(entry.read_text())["key"]["background_images"] == everything


def test_insdel_table_is_stored_and_resumable(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    calls = []
    import attx_core.experiments.runners as runners

    real = runners.attribute
    monkeypatch.setattr(runners, "attribute", lambda *a, **k: calls.append(a[1].shape[0]) or real(*a, **k))
    kw = dict(profile="quick", models=["inception_v3"], methods={"saliency": {}}, images="sample", seed=0,
              insdel={"step": 224 * 56, "substrate": "zeros", "order": "pixel"}, batch_size=1)
    first = ex.insdel_table(n_images=1, **kw)
    assert calls == [1] and len(first) == 2
    assert "efficientnet_lite0" in ex.provenance_line(first) or "inception_v3" in ex.provenance_line(first)
    again = ex.insdel_table(n_images=2, **kw)  # only the new image is computed
    assert calls == [1, 1]
    pd.testing.assert_frame_equal(again[again.image == first.image.iloc[0]].reset_index(drop=True), first.reset_index(drop=True))
    stored = ex.insdel_table(n_images=2, stored_only=True, **kw)
    assert calls == [1, 1] and len(stored) == 4
    fresh = ex.insdel_table(n_images=3, stored_only=True, **kw)  # a missing image: nothing computed, a note
    assert fresh.empty and any("not computed" in n for n in fresh.attrs["notes"])
    assert all(0.0 <= v <= 1.0 for v in stored.value)
    assert torch.is_tensor(torch.tensor(stored.value.to_numpy()))


def test_unknown_method_is_one_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    with pytest.raises(ValueError, match="unknown method 'not_written_yet'"):
        ex.insdel_table("quick", ["inception_v3"], {"not_written_yet": {}}, "sample", 1, 0,
                        {"step": 224 * 56, "substrate": "zeros", "order": "pixel"})


def test_claims_on_a_constructed_table() -> None:
    """Table 1's claim on made-up per-image values: a clear lead is reproduced, a rival ahead reverses it, and
    nothing is decided (no interval) before 16 images."""
    from attx_core.chapters.claims import compare_claim, overall

    claim = chapters.CLAIMS["table01"][1]
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.6, 40)
    values = {"attexplore": base + 0.1 + rng.normal(0, 0.02, 40), "ig": base, "agi": base + 0.2 + rng.normal(0, 0.02, 40)}
    ours = pd.concat([_ours(list(v)).assign(method=m) for m, v in values.items()])
    found = {c.rival: c for c in compare_claim(claim, ours) if c.metric == "insertion"}
    assert found["ig"].verdict.startswith("reproduced") and found["ig"].n == 40 and found["ig"].lo > 0
    assert found["agi"].verdict == "reversed" and overall(list(found.values())) == "partly reversed"
    unstored = [c for c in compare_claim(claim, ours, expected=["attexplore", "ig", "agi", "saliency"]) if c.rival == "saliency"]
    assert [(c.n, c.verdict, c.open) for c in unstored] == [(0, "too few images", True)]  # run, nothing stored: still compared
    few = compare_claim(claim, ours[ours.image.isin([f"i{k}" for k in range(8)])])
    assert {c.verdict for c in few} == {"too few images"} and all(c.lo != c.lo for c in few)
    from attx_core.book.page import verdict_text

    assert verdict_text("standard", "table01", list(found.values())) == "partly reversed (resnet50, vgg16: not computed yet)"


def test_an_overview_says_a_value_every_row_shares_once() -> None:
    """The variants' overview names the model and the arms once in its caption when every row has the same, and keeps
    them as columns when rows differ (the substrates compare several rivals)."""
    from attx_core.book.page import overview_table

    rows = [{"compared": f"v{i}", "model": "Lite0", "arms": "corrected − published", "n": 16, "ours": "+0.01", "95% CS": "[-0.01, +0.03]",
             "paper": "–", "verdict": "open", "lo": -0.01, "hi": 0.03, "mean": 0.01, "margin": 0.01} for i in range(3)]
    html = overview_table(pd.DataFrame(rows)).to_html()
    assert "Every row: model: Lite0; arms: corrected − published; no paper value" in html and html.count("Lite0") == 1
    rows[1]["arms"] = "attexplore − ig"
    html = overview_table(pd.DataFrame(rows), drop=["margin"]).to_html()
    assert "Every row: model: Lite0; no paper value" in html and html.count("attexplore − ig") == 1 and ">mean<" not in html
    assert overview_table(pd.DataFrame()) is None


def test_a_claim_with_nothing_reproduced_is_not_called_partly_reproduced() -> None:
    """Where no primary comparison is reproduced, the claim's verdict is the one they share (a published-vs-corrected
    claim whose one comparison is not separable on the subset) or "not reproduced" with the counts, never "partly
    reproduced"; one reproduced among them is "partly reproduced"."""
    import dataclasses

    from attx_core.chapters.claims import Comparison, overall

    one = Comparison("c", "C", "ch", "m", "insertion", True, "a", "b", "difference", 16, 0.0, -0.1, 0.1, float("nan"), None,
                     "not separable on this subset", 2261.0)
    ruled_out = dataclasses.replace(one, rival="d", verdict="paper's effect ruled out")
    assert overall([one]) == "not separable on this subset"
    assert overall([one, ruled_out]) == "not reproduced: not separable on this subset (1), paper's effect ruled out (1)"
    assert overall([one, dataclasses.replace(one, rival="e", verdict="reproduced")]) == "partly reproduced"


def test_vit_claim_on_a_cnn_stand_in_is_not_testable() -> None:
    from attx_core.chapters.claims import testable

    assert "ViT-B/16" in testable("standard", "table07") and testable("standard", "table01") == ""


def test_live_explorer_recomputes_on_slider_change(tiny_model):
    from attx_core.experiments.explorer import live_explorer

    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    box = live_explorer(tiny_model, x, torch.tensor([1, 2]), ["a", "b"], ["attexplore", "saliency"], insdel_step=256)
    controls, outputs = box.children
    picture, curves = outputs.children
    first = bytes(picture.value)
    assert first and bytes(curves.value)
    n_slider = next(w for w in controls.children if getattr(w, "description", "") == "N")
    n_slider.value = 2  # attexplore takes N: the map is recomputed
    assert bytes(picture.value) != first
    assert controls.children[-1].description == "done"


def test_store_profile_pages_compute_nothing(monkeypatch) -> None:
    """`make book` (profile standard) reads what `attx compute` stored: no attribution runs, n says how many."""
    from attx_core.experiments import runners

    def forbidden(*_a, **_k):
        raise AssertionError("a store page computed an attribution")

    monkeypatch.setattr(runners, "attribute", forbidden)
    assert chapters.run_options("standard") == {"force": False, "partial": True}
    assert chapters.run_options("quick") == {"force": False, "partial": False}
    assert chapters.run_options("standard", force=True)["partial"] is False
    cfg = chapters.settings("standard", "table01_insdel", n_images=2, models=["inception_v3"], methods={"saliency": {}})
    ours = ex.insdel_table(**cfg, **chapters.run_options("standard"))
    assert set(ours.method) <= {"saliency"} and ours.image.nunique() <= 2


def _frame(values: dict[str, list[float]], metric: str) -> pd.DataFrame:
    rows = [dict(model="inception_v3", ours_model="efficientnet_lite0", method=m, parameter="", setting="", metric=metric,
                 image=f"{i:04d}.png", value=v)
            for m, vs in values.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_paired_differences_decide_on_the_same_images() -> None:
    """Scores that overlap image to image are still separated when one method wins on every image."""
    from attx_core.stats.paired import paired_differences

    base = [0.1, 0.5, 0.3, 0.9, 0.2, 0.7, 0.4, 0.6]
    ins = _frame({"attexplore": [v + 0.02 for v in base], "ig": base, "agi": [v + 0.05 for v in base[:6]] + [0.0, 2.0]}, "insertion")
    dele = _frame({"attexplore": [v - 0.02 for v in base], "ig": base}, "deletion")
    pairs = paired_differences(pd.concat([ins, dele]), "attexplore").set_index(["metric", "rival"])
    assert pairs.loc[("insertion", "ig"), "better"] == "attexplore"
    assert pairs.loc[("deletion", "ig"), "better"] == "attexplore"  # lower is better for deletion
    assert pairs.loc[("insertion", "agi"), "better"] == "" and pairs.loc[("insertion", "agi"), "n"] == 8
    swapped = paired_differences(ins.replace({"method": {"attexplore": "ig", "ig": "attexplore"}}), "attexplore").set_index("rival")
    assert swapped.loc["ig", "better"] == "ig" and "ig better" == swapped.loc["ig", "verdict"]


def test_paper_layout() -> None:
    base = [0.1, 0.5, 0.3, 0.9, 0.2, 0.7, 0.4, 0.6]
    ours = _frame({"attexplore": [v + 0.02 for v in base], "ig": base}, "insertion")
    ours.attrs.update(models=["inception_v3"], analogues={"inception_v3": "efficientnet_lite0"})
    cmp = ex.compare(ours, "table01_insdel")
    styled = ex.paper_layout(cmp)
    html = styled.to_html()
    assert "EfficientNet-Lite0 (stand-in for Inception-v3)" in html and "INS ↑" in html
    frame = styled.data
    assert frame.loc["AttEXplore (ours)", ("EfficientNet-Lite0 (stand-in for Inception-v3)", "", "n")] == 8
    assert "font-weight: bold" in html


def test_resolution_table_flags_changes_and_reorderings() -> None:
    from attx_core.experiments.resolution import resolution_table

    rows = []
    for i in range(4):
        for method, fine, coarse in (("a", 0.50, 0.501), ("b", 0.40, 0.4005), ("c", 0.30, 0.36)):
            rows += [dict(model="m", method=method, metric="insertion", image=i, value=fine),
                     dict(model="m", method=method, metric="insertion@448px", image=i, value=coarse),
                     dict(model="m", method=method, metric="insertion@896px", image=i, value=fine + 0.0001)]
    table = resolution_table(pd.DataFrame(rows)).set_index("step")
    assert table.loc["448px", "n"] == 4 and table.loc["448px", "worst_method"] == "c"
    assert not table.loc["448px", "usable"] and table.loc["448px", "ranking_unchanged"]  # c moved by 0.06
    assert table.loc["896px", "usable"] and abs(table.loc["896px", "max_mean_change"] - 0.0001) < 1e-9


def test_paired_differences_say_whether_the_papers_difference_is_inside_our_interval() -> None:
    """AttEXplore leads IG by exactly 0.02 on every image: a paper difference of 0.02 is inside, 0.2 is ruled out."""
    from attx_core.stats.paired import paired_differences

    base = [0.1, 0.5, 0.3, 0.9, 0.2, 0.7, 0.4, 0.6]
    ours = _frame({"attexplore": [v + 0.02 for v in base], "ig": base}, "insertion")

    def paper(lead: float) -> pd.DataFrame:
        return pd.DataFrame([{"model": "inception_v3", "metric": "insertion", "method": "attexplore", "paper": 0.5 + lead},
                             {"model": "inception_v3", "metric": "insertion", "method": "ig", "paper": 0.5}])

    assert paired_differences(ours, paper=paper(0.02)).paper_in_ci.tolist() == ["yes"]
    assert paired_differences(ours, paper=paper(0.2)).paper_in_ci.tolist() == ["no"]
    assert paired_differences(ours).paper_in_ci.tolist() == [""]


def test_sanity_stages_with_constant_maps_are_kept_and_named() -> None:
    """Stages where every randomised map is constant stay in the table (NaN), the pass/fail sentence judges the
    deepest stage with defined correlations and names the constant ones, and the CSV counts defined values only."""
    from attx_core import compute

    rhos = {"a": (1.0, 0.2, np.nan), "b": (1.0, 0.9, np.nan), "c": (1.0, 0.485, np.nan)}
    rows = [dict(model="inception_v3", ours_model="m", image=i, method=meth, stage=s, layer=layer, spearman=rho + (0.01 * i if rho == rho else 0))
            for i in range(4) for meth, values in rhos.items() for s, (layer, rho) in enumerate(zip(("original", "fc", "block"), values))]
    df = pd.DataFrame(rows)
    table = ex.sanity_table(df)
    assert list(table.index) == [(0, "original"), (1, "fc"), (2, "block")] and (table.loc[2] == "constant map").all().all()
    assert table.loc[(1, "fc"), "a"].startswith("0.215 [")  # mean with its interval
    sentence = ex.sanity_sentence(df)
    assert "down to fc (4 images): a decorrelate" in sentence and "b stay similar" in sentence and "c are undecided" in sentence
    assert "From block on (stages 2-2)" in sentence
    csv = compute.table_rows("sanity_check", [("", df)]).set_index(["method", "setting"])
    assert csv.loc[("a", "stage 1: fc"), "n"] == 4 and csv.loc[("a", "stage 2: block"), "n"] == 0


def test_variant_sentence_names_variants_missing_a_version_instead_of_printing_nan() -> None:
    table = pd.DataFrame({"metric": ["insertion"] * 3, "parameter": ["AGI: walk", "AGI: walk", "IG: trapezoid"],
                          "setting": ["published", "corrected", "published"], "mean": [0.5, 0.6, 0.4]})
    text = ex.variant_sentence(table)
    assert text == "Insertion, corrected minus published: AGI: walk +0.1000. Not computed yet in both versions: IG: trapezoid."
    assert "nan" not in ex.variant_sentence(table[table.parameter == "IG: trapezoid"])


def test_map_concentration_shows_no_interval_before_the_first_look() -> None:
    from attx_core.experiments.summaries import describe_maps

    rng = np.random.default_rng(0)
    maps = pd.DataFrame([{"method": m, "image": i, "map": rng.random((4, 4))} for m in ("attexplore", "ig") for i in range(20)])
    assert "[" not in describe_maps(maps[maps.image < 6]) and "not ranked" in describe_maps(maps[maps.image < 6])
    assert "95% interval" in describe_maps(maps) and "ranks" in describe_maps(maps)


def test_published_vs_corrected_runs_only_the_variants_asked_and_names_an_unknown_one(monkeypatch) -> None:
    """The planner runs one variant at a time; a variant the runner does not know is one clear error, before any work."""
    from attx_core.experiments import runners

    asked = []
    monkeypatch.setattr(runners, "_insdel_rows", lambda run, models, configs, insdel: asked.extend(c[1] for c in configs) or [])
    monkeypatch.setattr(runners.Run, "frame", lambda self, rows, models: pd.DataFrame(rows))
    one = runners.PUBLISHED_VS_CORRECTED[5]
    runners.published_vs_corrected("test", ["inception_v3"], "val-subset", 1, 0, {}, variants=[one, runners.ORDER_VARIANT])
    assert asked == [one, one, runners.ORDER_VARIANT, runners.ORDER_VARIANT]
    with pytest.raises(ValueError, match=r"unknown published-vs-corrected variant\(s\) \['IG: nonsense'\]"):
        runners.published_vs_corrected("test", ["inception_v3"], "val-subset", 1, 0, {}, variants=["IG: nonsense"])
