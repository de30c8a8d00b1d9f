"""Reproducibility: bit-identical records where they must be, and `attx compute --audit` on a tiny store."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch

from attx_core import METHODS, compute
from attx_core.chapters import PROFILES
from attx_core.chapters.protocol import QUICK_METHODS
from attx_core.compute.audit import SENSITIVITY_FILE, audit_command, latest

# Every registered method at cheap settings (Table 1's quick settings, MFABA with few steps).
CHEAP = {**QUICK_METHODS, "attexplore": {"epsilon": 48 / 255, "N": 2, "num_steps": 2}, "agi": {"num_classes": 2, "num_steps": 3},
         "big": {"num_steps": 3, "steps": 4}, "smoothgrad": {"n_samples": 3}, "ig": {"steps": 4}, "guided_ig": {"steps": 4},
         "mfaba": {"num_steps": 5}}


def _profile(methods: dict, n_images: int) -> dict:
    return {"description": "tests: a tiny random CNN on packaged photos", "images": "sample", "n_images": n_images, "seed": 0,
            "batch_size": 2, "insdel": {"step": 224 * 32, "substrate": "zeros", "order": "reference"}, "stand_ins": True,
            "chapters": {"table01_insdel": {"models": ["inception_v3"], "methods": methods}}}


@pytest.fixture
def tiny_store(tmp_path, monkeypatch):
    """A profile ``audit_test``: Table 1 on a tiny random CNN; ``threads`` lists torch's thread count at every attribution."""
    import attx_core.experiments.runners as runners
    from attx_core import models

    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    monkeypatch.setitem(PROFILES, "audit_test", _profile({"saliency": {}, "ig": {"steps": 4}}, 4))
    torch.manual_seed(0)
    net = models.load("tiny_cnn", weights=None)
    monkeypatch.setattr(runners, "resolve_model", lambda r, **_: SimpleNamespace(
        requested=r, model=net, name="tiny", weights="random-init", note=f"{r} -> tiny"))
    threads: list[int] = []
    real = runners.attribute
    monkeypatch.setattr(runners, "attribute", lambda *a, **k: threads.append(torch.get_num_threads()) or real(*a, **k))
    root = tmp_path / "audit_test"
    return SimpleNamespace(root=root, threads=threads, tmp=tmp_path)


def _entry(root, method: str):
    return next((root / "insdel").glob(f"tiny-{method}-*.json"))


def _edit(root, method: str, change) -> None:
    path = _entry(root, method)
    stored = json.loads(path.read_text())
    change(stored)
    path.write_text(json.dumps(stored))


def _classes(root, **classes: str) -> None:
    (root / "audit").mkdir(parents=True, exist_ok=True)
    (root / "audit" / SENSITIVITY_FILE).write_text(json.dumps({"classes": classes}))


def _records(root) -> dict:
    """Every stored record of a store, timings left out."""
    out = {}
    for path in sorted((root / "insdel").glob("*.json")):
        for image, record in json.loads(path.read_text())["records"].items():
            out[(path.name, image)] = {k: v for k, v in record.items() if k != "seconds"}
    return out


def test_same_machine_threads_and_batch_give_bit_identical_records(tiny_store, monkeypatch) -> None:
    """Every method: the same configuration computed twice on this machine, one thread, the same batches -> the same bits."""
    assert set(CHEAP) == set(METHODS)
    monkeypatch.setitem(PROFILES, "audit_test", _profile(CHEAP, 2))
    stores = []
    for name in ("first", "second"):
        monkeypatch.setenv("ATTX_RESULTS", str(tiny_store.tmp / name))
        compute.Cell("table01_insdel", "inception_v3").frames("audit_test")
        stores.append(_records(tiny_store.tmp / name / "audit_test"))
    assert len(stores[0]) == 2 * len(METHODS) and stores[0] == stores[1]  # floats compared exactly


def test_the_audit_recomputes_like_with_like_and_passes(tiny_store, capsys) -> None:
    torch.set_num_threads(2)
    try:
        compute.Cell("table01_insdel", "inception_v3").frames("audit_test")  # records computed on 2 threads
    finally:
        torch.set_num_threads(1)
    _classes(tiny_store.root, saliency="float-stable", ig="float-sensitive")
    before = _records(tiny_store.root)
    tiny_store.threads.clear()
    assert audit_command("audit_test", n=4) == 0
    out = capsys.readouterr().out
    assert "audit passed" in out and "float-stable" in out
    assert tiny_store.threads == [2] * 4 and torch.get_num_threads() == 1  # two batches of 2 per method, on the records' 2 threads
    result = latest("audit_test")
    assert result["passed"] and {(c["method"], c["metric"], c["n_like"]) for c in result["configurations"]} == {
        (m, k, 4) for m in ("saliency", "ig") for k in ("insertion", "deletion")}
    assert all(c["max_abs_diff"] == 0.0 for c in result["configurations"]) and "commit" in result["provenance"]
    assert _records(tiny_store.root) == before  # the store is only read


def test_a_tampered_float_stable_record_fails_the_audit(tiny_store, capsys) -> None:
    compute.Cell("table01_insdel", "inception_v3").frames("audit_test")
    _classes(tiny_store.root, saliency="float-stable", ig="float-sensitive")

    def tamper(stored: dict) -> None:
        stored["records"][sorted(stored["records"])[1]]["insertion"] += 1e-3

    _edit(tiny_store.root, "saliency", tamper)
    assert audit_command("audit_test", n=4) == 1
    out = capsys.readouterr().out
    failed = [c for c in latest("audit_test")["configurations"] if not c["passed"]]
    assert [(c["method"], c["metric"]) for c in failed] == [("saliency", "insertion")]
    assert "bump saliency's version" in failed[0]["why"] and "FAILED" in out


def test_records_without_provenance_are_audited_at_the_mean_level(tiny_store) -> None:
    compute.Cell("table01_insdel", "inception_v3").frames("audit_test")
    _classes(tiny_store.root, saliency="float-stable")

    def strip(stored: dict, shift: float = 0.0, image: str | None = None) -> None:
        stored.pop("provenances"), stored.pop("record_provenance")
        for name, record in stored["records"].items():
            if image in (None, name):
                record["deletion"] += shift

    first = sorted(json.loads(_entry(tiny_store.root, "saliency").read_text())["records"])[0]
    _edit(tiny_store.root, "saliency", lambda s: strip(s, 1e-3, first))  # one image moved: the mean's interval holds 0
    assert audit_command("audit_test", n=4) == 0
    rows = {(c["method"], c["metric"]): c for c in latest("audit_test")["configurations"]}
    assert rows["saliency", "deletion"]["n_mean_level"] == 4 and rows["saliency", "deletion"]["n_like"] == 0
    assert rows["ig", "deletion"]["class"] == "float-sensitive (not measured)"
    _edit(tiny_store.root, "saliency", lambda s: [r.update(deletion=r["deletion"] + 1e-2) for r in s["records"].values()])
    assert audit_command("audit_test", n=4) == 1  # every image moved by 0.01: the mean moved beyond float rounding


def test_records_from_another_cpu_are_passed_over(tiny_store, capsys) -> None:
    compute.Cell("table01_insdel", "inception_v3").frames("audit_test")
    _edit(tiny_store.root, "ig", lambda s: [p.update(cpu="Another CPU", isa=["avx2"]) for p in s["provenances"].values()])
    tiny_store.threads.clear()
    assert audit_command("audit_test", n=2, seed=3) == 0
    out = capsys.readouterr().out
    assert "4 record(s) passed over (computed on Another CPU (avx2)" in out and "no float-sensitivity measurement" in out
    assert {c["method"] for c in latest("audit_test")["configurations"]} == {"saliency"} and len(tiny_store.threads) == 1


def test_the_rule_reads_shifts_beyond_float_rounding_at_a_family_wise_level() -> None:
    """Tiny systematic shifts (another CPU's rounding) pass; a mean that moved by 0.05 fails; the interval widens with
    the number of configurations judged together (Bonferroni), and Student's t makes 8 images honest."""
    import numpy as np
    import pandas as pd

    from attx_core.compute.audit import verdicts
    from attx_core.stats import t_interval

    rng = np.random.default_rng(0)
    rows = [{"entry": f"e{k}", "model": "m", "method": "agi", "image": f"{i:04d}.png", "metric": "insertion", "stored": 0.5,
             "recomputed": 0.5 + d, "difference": d, "like": False}
            for k, shift in enumerate([2e-10] * 20 + [0.0, 0.05]) for i, d in enumerate(shift + rng.normal(0, 1e-11 if shift < 1e-3 else 0.01, 8))]
    table = verdicts(pd.DataFrame(rows), {"agi": "float-sensitive"})
    assert table.passed.tolist() == [True] * 21 + [False] and "beyond +-0.0001" in table.why.iloc[-1]
    d = rng.normal(0, 1, 8)
    assert t_interval(d, 0.05 / 22)[2] - t_interval(d, 0.05 / 22)[1] > t_interval(d, 0.05)[2] - t_interval(d, 0.05)[1]
    assert t_interval(np.array([0.3]))[1:] == (-np.inf, np.inf)
