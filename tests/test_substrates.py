"""The substrates chapter: the blurred and ROAD substrates against their authors' code (tests/reference/road.py), the
chapter registered and planned, Table 1's records read for their substrate AUCs instead of recomputing, keys kept."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from attx_core import chapters, compute
from attx_core.chapters import PROFILES
from attx_core.chapters.substrates import PROTOCOLS, ranks
from attx_core.compute.planner import plan
from attx_core.metrics.insertion_deletion import ROAD_FRACTIONS, auc, insertion_deletion, road_impute, substrate_images
from tests.reference.road import noisy_linear_impute, rise_blur, road_curves

INSDEL = {"step": 224 * 56, "substrate": "zeros", "order": "reference"}
# ROAD at two fractions near the middle (two small linear systems per curve), the blur at Table 1's test step
CHEAP = {"blur": {"substrate": "blur"}, "road": {"substrate": "road", "order": "pixel", "fractions": (0.45, 0.55)}}
METHODS = {"saliency": {}, "ig": {"steps": 2}}


def _net(size: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * size * size, 5)).eval()


@pytest.mark.parametrize("noise", [0.0, 0.01])
def test_road_imputation_is_road_s_own(noise) -> None:
    g = torch.Generator().manual_seed(0)
    img, known = torch.rand(3, 20, 17, generator=g), torch.rand(20, 17, generator=g) > 0.6
    known[0, :] = False  # a missing border row: its neighbours outside the image carry no weight
    torch.manual_seed(5)
    theirs = noisy_linear_impute(img, known.to(torch.uint8), noise)
    ours = road_impute(img, known, noise, torch.Generator().manual_seed(5))
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=0)
    assert torch.equal(ours[:, known], img[:, known])


def test_road_imputation_edges() -> None:
    img = torch.rand(3, 4, 4)
    assert torch.equal(road_impute(img, torch.ones(4, 4, dtype=torch.bool)), img)
    lone = torch.zeros(4, 4, dtype=torch.bool)
    lone[1, 2] = True  # one known pixel: every missing pixel takes its value (noise-free)
    torch.testing.assert_close(road_impute(img, lone, noise=0.0), img[:, 1:2, 2:3].expand(3, 4, 4), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="at least one pixel"):
        road_impute(img, torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="one image"):
        road_impute(img[None], lone)


def test_blur_is_rise_s_blur() -> None:
    x = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    np.testing.assert_allclose(substrate_images(x, "blur")[1].numpy(), rise_blur(x[1].numpy()), atol=1e-6)


def test_road_curves_are_road_s_loop() -> None:
    g = torch.Generator().manual_seed(2)
    x, maps = torch.rand(2, 3, 16, 16, generator=g), torch.randn(2, 3, 16, 16, generator=g)
    net = _net(16)
    res = insertion_deletion(net, x, maps, substrate="road", order="pixel", fractions=ROAD_FRACTIONS, batch_size=7, seed=3)
    for b in range(2):
        ins, dele = road_curves(net, x[b], maps[b], int(res.target[b]), ROAD_FRACTIONS, seed=3)
        np.testing.assert_allclose(res.insertion_curve[b].numpy(), ins, atol=1e-6)
        np.testing.assert_allclose(res.deletion_curve[b].numpy(), dele, atol=1e-6)
    torch.testing.assert_close(res.insertion, auc(res.insertion_curve))  # evenly spaced: RISE's normalised trapezoid


def test_fractions_at_the_step_s_points_give_the_step_s_curve() -> None:
    g = torch.Generator().manual_seed(3)
    x, maps = torch.rand(1, 3, 4, 4, generator=g), torch.randn(1, 3, 4, 4, generator=g)
    net = _net(4)
    for substrate in ("zeros", "blur"):
        stepped = insertion_deletion(net, x, maps, step=4, substrate=substrate)
        spots = insertion_deletion(net, x, maps, substrate=substrate, fractions=(0, 0.25, 0.5, 0.75, 1))
        torch.testing.assert_close(spots.insertion_curve, stepped.insertion_curve)
        torch.testing.assert_close(spots.deletion, stepped.deletion)


@pytest.mark.parametrize("kwargs, message", [
    ({"substrate": "road"}, "strictly inside"),
    ({"substrate": "road", "fractions": (0.0, 0.5)}, "strictly inside"),
    ({"substrate": "road", "fractions": (0.5, 1.0)}, "strictly inside"),
    ({"fractions": (0.5, 0.2)}, "increasing"),
    ({"fractions": (0.5,)}, "at least two"),
    ({"fractions": (0.5, 1.5)}, "in \\[0, 1\\]"),
])
def test_bad_protocols_are_one_clear_error(kwargs, message) -> None:
    x = torch.rand(1, 3, 4, 4)
    with pytest.raises(ValueError, match=message):
        insertion_deletion(_net(4), x, torch.rand(1, 3, 4, 4), **kwargs)
    with pytest.raises(ValueError, match="no fixed image"):
        substrate_images(x, "road")


def test_the_chapter_is_registered_with_a_claim_per_substrate() -> None:
    spec = chapters.get("substrates")
    assert spec.part == "Beyond the tables" and spec.sections[0].axis == ("methods",)
    assert {c.name: c.where["setting"] for c in spec.claims} == {"substrate_blur": "blur", "substrate_road": "road"}
    assert all(c.priority == 4 and c.reference == "attexplore" and c.direction is None and c.effect is None and c.also == ("deletion",)
               for c in spec.claims)
    cfg = chapters.settings("standard", "substrates")
    assert cfg["models"] == ["inception_v3"] and cfg["stand_ins"] and cfg["insdel"] == PROFILES["standard"]["insdel"]
    assert cfg["methods"] == chapters.settings("standard", "table01_insdel")["methods"] and cfg["substrates"] == PROTOCOLS
    assert PROTOCOLS["road"]["fractions"] == ROAD_FRACTIONS and "substrates" in [c.name for c in chapters.chapters("standard")]


def test_the_planner_grows_only_the_open_comparisons_methods() -> None:
    from attx_core.chapters.claims import Comparison
    from attx_core.compute.planner import STEP, claim_steps

    def comparison(claim: str, rival: str, verdict: str) -> Comparison:
        return Comparison(claim, claim, "substrates", "inception_v3", "insertion", True, "attexplore", rival, "difference", 24, 0.1, 0.0,
                          0.2, float("nan"), None, verdict, 200.0 if verdict == "open" else 24.0)

    state = {("substrate_blur", "inception_v3"): [comparison("substrate_blur", "ig", "open"), comparison("substrate_blur", "agi", "reproduced")],
             ("substrate_road", "inception_v3"): [comparison("substrate_road", "agi", "reproduced")]}
    steps = claim_steps("standard", state=state)
    assert len(steps) == 1 and steps[0].claims == ("substrate_blur",)
    cell = steps[0].cell
    assert (cell.chapter, cell.configs, cell.limit) == ("substrates", {"attexplore", "ig"}, 24 + STEP)
    assert list(cell.settings("standard")["methods"]) == ["ig", "attexplore"]


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Profile ``test`` with Table 1 and this chapter on a tiny random CNN; counts the attributions computed."""
    import attx_core.experiments.runners as runners
    from attx_core import models

    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    monkeypatch.setitem(PROFILES, "test", {
        "description": "tests", "images": "sample", "n_images": 2, "seed": 0, "batch_size": 2, "insdel": INSDEL, "stand_ins": True,
        "chapters": {"table01_insdel": {"models": ["inception_v3"], "methods": METHODS},
                     "substrates": {"models": ["inception_v3"], "methods": METHODS, "substrates": CHEAP}}})
    torch.manual_seed(0)
    net = models.load("tiny_cnn", weights=None)
    monkeypatch.setattr(runners, "resolve_model", lambda r, stand_in=False: SimpleNamespace(
        requested=r, model=net, name="tiny", weights="random-init", note=f"{r} -> tiny"))
    calls: list[int] = []
    real = runners.attribute
    monkeypatch.setattr(runners, "attribute", lambda *a, **k: calls.append(a[1].shape[0]) or real(*a, **k))
    return SimpleNamespace(root=tmp_path / "test", calls=calls, runners=runners)


def _table1(tiny, n_images: int, substrates=None):
    return tiny.runners.insdel_table("test", ["inception_v3"], METHODS, "sample", n_images, 0, INSDEL, substrates=substrates, batch_size=2)


def _chapter(**opts):
    return chapters.get("substrates").sections[0].run(chapters.settings("test", "substrates"), opts)


def _own(tiny) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text())["records"] for p in (tiny.root / "substrates").glob("*.json")}


def test_table1_records_with_the_substrate_fields_are_read_without_recomputing(tiny) -> None:
    table1 = _table1(tiny, 2, CHEAP)
    assert tiny.calls == [2, 2]
    ours = _chapter()
    assert tiny.calls == [2, 2] and not _own(tiny)  # nothing recomputed, no own records
    assert set(ours.setting) == {"zeros", "blur", "road"} and len(ours) == 2 * 3 * 2 * 2
    zeros = ours[ours.setting == "zeros"].set_index(["method", "metric", "image"]).value
    assert zeros.to_dict() == table1.set_index(["method", "metric", "image"]).value.to_dict()
    stored = [json.loads(p.read_text())["records"] for p in (tiny.root / "insdel").glob("*.json")]
    assert all(set(r["substrates"]) == {"blur", "road"} for records in stored for r in records.values())
    assert plan("test", ["substrates"]) == []


def test_older_records_are_scored_once_in_the_chapter_s_own_entry(tiny) -> None:
    _table1(tiny, 1)  # an older record: no substrate fields
    planned = compute.missing("test", compute.Cell("substrates", "inception_v3"))
    assert sorted(len(ids) for _, ids in planned) == [2, 2] and {e.path.parent.name for e, _ in planned} == {"substrates"}
    ours = _chapter()
    assert tiny.calls == [1, 1, 1, 1, 1, 1]  # Table 1 grows by its second image (with the fields); the first is rescored once
    assert [sorted(r) for r in _own(tiny).values()] == [["imagenet_00_243.jpg"]] * 2
    assert set(ours.groupby("setting").image.nunique()) == {2}
    _chapter()
    assert len(tiny.calls) == 6 and all(not ids for _, ids in compute.missing("test", compute.Cell("substrates", "inception_v3")))
    page = _chapter(partial=True)
    assert page.sort_values(list(page.columns)).reset_index(drop=True).equals(ours.sort_values(list(ours.columns)).reset_index(drop=True))


def test_attx_compute_fills_the_chapter_through_the_planner(tiny) -> None:
    _table1(tiny, 1)
    assert compute.run("test", ["substrates"]) == []
    assert len(tiny.calls) == 2 + 2 * 2 and plan("test", ["substrates"]) == []  # per method: Table 1's second image, the first rescored


def test_table1_keys_and_fields_stay(tiny, tmp_path, monkeypatch) -> None:
    _table1(tiny, 1)
    before = {p.name: json.loads(p.read_text()) for p in (tiny.root / "insdel").glob("*.json")}
    _table1(tiny, 2, CHEAP)
    after = {p.name: json.loads(p.read_text()) for p in (tiny.root / "insdel").glob("*.json")}
    assert set(after) == set(before) and all(after[n]["key"] == before[n]["key"] for n in before)
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path / "plain"))
    _table1(tiny, 2)
    plain = {p.name: json.loads(p.read_text())["records"] for p in (tmp_path / "plain" / "test" / "insdel").glob("*.json")}
    for name, entry in after.items():
        for image, record in entry["records"].items():  # the same fields, the same values (batches of 1 there, 2 here)
            alone = plain[name][image]
            assert set(record) - {"substrates"} == set(alone) and record["target"] == alone["target"]
            np.testing.assert_allclose(_scores(record), _scores(alone), atol=1e-6)


def _scores(record: dict) -> list[float]:
    return [record["insertion"], record["deletion"], *(v for step in sorted(record.get("coarser", {})) for v in record["coarser"][step])]


def test_ranks_per_substrate_on_the_images_every_method_has() -> None:
    import pandas as pd

    rows = [dict(model="m", method=method, setting=setting, metric=metric, image=image, value=value)
            for image in ("a", "b")
            for setting, order in (("zeros", ("attexplore", "ig", "saliency")), ("blur", ("ig", "attexplore", "saliency")))
            for rank, method in enumerate(order)
            for metric, value in (("insertion", 0.9 - rank / 10), ("deletion", 0.1 + rank / 10))]
    rows.append(dict(model="m", method="ig", setting="zeros", metric="insertion", image="c", value=0.0))  # not every method: left out
    table = ranks(pd.DataFrame(rows)).set_index("substrate")
    assert table.loc["zeros", ["insertion rank", "deletion rank", "n", "methods"]].tolist() == [1, 1, 2, 3]
    assert table.loc["blur", ["insertion rank", "highest insertion", "lowest deletion"]].tolist() == [2, "ig", "ig"]


def test_the_claim_box_of_a_claim_without_paper_values_says_so_once() -> None:
    """The substrates' claims are ours: the box says 'no paper value' once, not 'paper –' after every rival."""
    from attx_core.book.page import claim_box
    from attx_core.chapters import CLAIMS
    from attx_core.chapters.claims import _comparison

    chapter, claim = CLAIMS["substrate_blur"]
    found = [_comparison(claim, chapter, "inception_v3", "insertion", "attexplore", rival, np.full(20, 0.05) + np.linspace(0, 0.01, 20),
                         float("nan")) for rival in ("ig", "big")]
    text = claim_box("standard", "substrate_blur", decided=found).data
    assert text.count("our question (no paper value)") == 1 and "paper –" not in text and "not in the paper" not in text
