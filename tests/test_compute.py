"""`attx compute`: a store shared by processes, deadlines, resuming, CLI errors and the CSV tables."""
from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

import attx_core.store as store
from attx_core import compute
from attx_core.chapters import PROFILES, settings
from attx_core.cli import main
from attx_core.compute.plan import limits
from attx_core.store import DeadlineReached, EntryBusy, ResultsStore, compute_policy

KEY = {"model": "m", "method": "fake", "steps": 3}
IDS = [f"img{i:02d}" for i in range(16)]


def _entry(root: Path, force: bool = False) -> store.StoreEntry:
    return ResultsStore("test", root=root, force=force).entry("fake", KEY)


def _fake(log: Path, delay: float = 0.0):
    """A compute function that logs every id it computes (one line per id, appended by this PID)."""
    def fn(batch: list[str]) -> list[dict]:
        time.sleep(delay)
        with open(log / f"{os.getpid()}.log", "a") as fh:
            fh.writelines(f"{i}\n" for i in batch)
        return [{"v": int(i[3:])} for i in batch]

    return fn


def _compute_worker(root: str, log: str, delay: float) -> None:
    _entry(Path(root)).compute(IDS, _fake(Path(log), delay), batch_size=2)


def _put_worker(root: str, offset: int) -> None:
    for k in range(20):
        _entry(Path(root)).put({f"w{offset + k}": {"v": k}})


def _logged(log: Path) -> list[str]:
    return [line for f in log.glob("*.log") for line in f.read_text().split()]


def test_two_processes_lose_nothing_and_compute_nothing_twice(tmp_path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_compute_worker, args=(str(tmp_path), str(log), 0.1)) for _ in range(2)]
    procs += [ctx.Process(target=_put_worker, args=(str(tmp_path), o)) for o in (0, 100)]  # plain writers too
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    computed = _logged(log)
    assert sorted(computed) == IDS  # every image computed exactly once, by one of the two
    assert len(list(log.glob("*.log"))) == 2  # and both took part
    stored = json.loads(_entry(tmp_path).path.read_text())["records"]
    assert set(IDS) <= set(stored) and len(stored) == len(IDS) + 40  # no write lost
    assert not list(_entry(tmp_path).path.parent.glob("*.tmp"))


def test_two_writers_loaded_before_either_wrote_keep_both(tmp_path) -> None:
    first, second = _entry(tmp_path), _entry(tmp_path)
    first.put({"a": {"v": 1}}, {"profile": "one"})
    second.put({"b": {"v": 2}}, {"profile": "two"})
    stored = json.loads(first.path.read_text())
    assert set(stored["records"]) == {"a", "b"} and stored["provenance"] == {"profile": "one"}


def _killed_writer(root: str, ready: str) -> None:
    entry = _entry(Path(root))
    entry.put({"a": {"v": 0}, "b": {"v": 1}})

    def stuck_dump(obj, fh, **kw):
        fh.write('{"records": {"a"')  # half a file
        fh.flush()
        Path(ready).touch()
        time.sleep(60)

    store.json.dump = stuck_dump  # this (forked) process only
    entry.compute(IDS, lambda b: [{"v": 9} for _ in b], batch_size=2)


def test_killed_writer_leaves_a_valid_resumable_entry(tmp_path) -> None:
    ready = tmp_path / "ready"
    proc = mp.get_context("fork").Process(target=_killed_writer, args=(str(tmp_path), str(ready)))
    proc.start()
    for _ in range(300):
        if ready.exists():
            break
        time.sleep(0.05)
    assert ready.exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    entry = _entry(tmp_path)
    (tmp,) = entry.path.parent.glob("*.tmp")  # the killed write's temp file, named with its PID
    assert f".{proc.pid}." in tmp.name
    assert set(entry.records) == {"a", "b"}  # the stored file is the last complete one
    old = entry.path.parent / "other.json.xyz.tmp"  # an old temp file without a PID
    old.write_text("{")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    live = entry.path.parent / f"other.json.{os.getpid()}.abc.tmp"  # a live writer's: kept
    live.write_text("{")
    log = tmp_path / "log"
    log.mkdir()
    entry.compute(IDS, _fake(log), batch_size=4)  # the dead process's claims were released by the kernel
    assert sorted(_logged(log)) == IDS[:] and len(entry.records) == len(IDS) + 2
    assert not tmp.exists()
    assert [p.name for p in ResultsStore("test", root=tmp_path).clean_tmp()] == [old.name]
    assert live.exists()


def test_images_claimed_elsewhere_are_skipped_or_waited_for(tmp_path) -> None:
    entry = _entry(tmp_path)
    held = entry._claim(IDS[:2], 2)  # as if another live process were computing the first two
    log = tmp_path / "log"
    log.mkdir()
    with compute_policy(wait=False) as policy:
        with pytest.raises(EntryBusy):
            _entry(tmp_path).compute(IDS[:3], _fake(log), batch_size=1)
    assert _logged(log) == ["img02"] and policy.busy == 1
    entry.put({i: {"v": -1} for i, _ in held})
    entry._release(held)
    assert [r["v"] for r in _entry(tmp_path).compute(IDS[:3], _fake(log), batch_size=1)] == [-1, -1, 2]
    assert _logged(log) == ["img02"]


def test_deadline_stops_between_batches_and_the_rest_resumes(tmp_path) -> None:
    log = tmp_path / "log"
    log.mkdir()
    with compute_policy(deadline=time.time() - 1):
        with pytest.raises(DeadlineReached):
            _entry(tmp_path).compute(IDS, _fake(log), batch_size=4)
    assert _logged(log) == []

    def stop_after_first(entry, batch, seconds):
        store._POLICY.get().deadline = 0.0

    with compute_policy(on_batch=stop_after_first):
        with pytest.raises(DeadlineReached):
            _entry(tmp_path).compute(IDS, _fake(log), batch_size=4)
    assert _logged(log) == IDS[:4]
    assert len(_entry(tmp_path).missing(IDS)) == 12
    _entry(tmp_path).compute(IDS, _fake(log), batch_size=4)
    assert sorted(_logged(log)) == IDS


# --- the command on a tiny profile -------------------------------------------------------------------

TEST_PROFILE = {
    "description": "tests: tiny random CNNs on packaged photos",
    "images": "sample",
    "n_images": 3,
    "seed": 0,
    "batch_size": 1,
    "insdel": {"step": 224 * 56, "substrate": "zeros", "order": "reference"},
    "stand_ins": True,
    "chapters": {
        "table01_insdel": {"models": ["inception_v3", "resnet50"], "n_images_per_model": {"resnet50": 2},
                           "methods": {"saliency": {}, "ig": {"steps": 2}}},
    },
}


@pytest.fixture
def tiny_profile(tmp_path, monkeypatch):
    """Profile ``test``: Table 1 on two tiny random CNNs standing in for the paper's models; counts attributions."""
    import attx_core.experiments.runners as runners
    from attx_core import models

    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    monkeypatch.setitem(PROFILES, "test", TEST_PROFILE)
    torch.manual_seed(0)
    nets = {r: models.load("tiny_cnn", weights=None) for r in ("inception_v3", "resnet50")}
    monkeypatch.setattr(runners, "resolve_model", lambda r, stand_in=False: SimpleNamespace(
        requested=r, model=nets[r], name=f"tiny_{r}", weights="random-init", note=f"{r} -> tiny_{r}"))
    calls: list[int] = []
    real = runners.attribute
    monkeypatch.setattr(runners, "attribute", lambda *a, **k: calls.append(a[1].shape[0]) or real(*a, **k))
    return SimpleNamespace(root=tmp_path / "test", calls=calls)


def test_cells_follow_the_claims_priorities(tiny_profile) -> None:
    assert [str(c) for c in compute.cells("test")] == ["table01_insdel inception_v3", "table01_insdel resnet50"]
    order = compute.cells("standard")
    assert str(order[0]) == "table01_insdel inception_v3" and len(set(order)) == len(order)
    from attx_core.chapters import chapters

    assert {c.chapter for c in order} == {c.name for c in chapters("standard")}
    assert [str(c) for c in compute.cells("test", ["table01_insdel:inception_v3"])] == ["table01_insdel inception_v3"]


def test_compute_resumes_stops_at_its_deadline_and_writes_tables(tiny_profile, capsys) -> None:
    assert main(["compute", "--profile", "test", "--hours", "1e-9", "--threads", "1"]) == 0  # time up at once
    err = capsys.readouterr().err
    assert "projected to need 10 more image computations" in err and "Traceback" not in err
    assert tiny_profile.calls == []

    def stop_after_first(entry, batch, seconds):
        store._POLICY.get().deadline = 0.0

    with pytest.raises(DeadlineReached):
        compute.run("test", deadline=time.time() + 3600, on_batch=stop_after_first)
    assert tiny_profile.calls == [1]
    assert main(["compute", "--profile", "test"]) == 0  # resumes: the 9 images left
    err = capsys.readouterr().err
    assert "done: every claim of profile test is decided" in err and len(tiny_profile.calls) == 10
    table = pd.read_csv(tiny_profile.root / "tables" / "table01_insdel.csv")
    assert list(table.columns) == compute.CSV_COLUMNS
    assert len(table) == 8 and set(table.metric) == {"insertion", "deletion"}
    assert dict(table.groupby("model").n.max()) == {"tiny_inception_v3": 3, "tiny_resnet50": 2}
    assert table.ci_lo.isna().all() and table.ci_hi.isna().all()  # 2-3 images: no interval before the first look (16)
    stored = [json.loads(p.read_text()) for p in (tiny_profile.root / "insdel").glob("*.json")]
    assert len(stored) == 4 and all("commit" in s["provenance"] for s in stored)
    assert all(set(s["record_provenance"]) == set(s["records"]) for s in stored)  # every record says what computed it
    prov = next(iter(stored[0]["provenances"].values()))
    assert {"commit", "cpu", "isa", "threads", "forward_backend", "method_version", "batch_size", "torch"} <= set(prov)
    assert main(["compute", "--profile", "test"]) == 0 and len(tiny_profile.calls) == 10  # nothing left to do


def test_a_batch_running_at_the_hard_stop_is_abandoned_cleanly(tiny_profile, monkeypatch) -> None:
    import attx_core.experiments.runners as runners

    counted, started = runners.attribute, []  # the second attribution hangs: the alarm goes off in it

    def attribute(*a, **k):
        started.append(1)
        if len(started) == 2:
            signal.setitimer(signal.ITIMER_REAL, 0.2)
            time.sleep(30)
        return counted(*a, **k)

    monkeypatch.setattr(runners, "attribute", attribute)

    def stop(*_):
        raise DeadlineReached("time is up")

    old = signal.signal(signal.SIGALRM, stop)
    try:
        with pytest.raises(DeadlineReached):
            compute.run("test")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert len(started) == 2 and len(tiny_profile.calls) == 1  # the second batch was abandoned in its attribution
    assert main(["compute", "--profile", "test"]) == 0
    assert len(tiny_profile.calls) == 10  # the abandoned image is recomputed, nothing twice


def _comparison(claim: str, rival: str, n: int, verdict: str, metric: str = "insertion", reference: str = "attexplore"):
    from attx_core.chapters.claims import Comparison

    return Comparison(claim, claim, "table01_insdel", "inception_v3", metric, metric == "insertion", reference, rival, "difference",
                      n, 0.1, 0.0, 0.2, 0.05, True, verdict, 200.0 if verdict == "open" else float(n))


def test_the_planner_grows_only_what_open_comparisons_need(monkeypatch) -> None:
    """A decided comparison gets nothing more; an open one grows its two arms by one step beyond the fewest open n;
    a claim with nothing paired starts with every configuration; trends need every setting, an equivalence over the
    settings its two extremes; first looks (no interval yet) come before any claim grows further, priorities order
    claims within each, then the CPU-hours projected to decide a claim (cheapest first), then its fewest images."""
    from attx_core.compute import planner
    from attx_core.compute.planner import STEP, claim_steps

    hours = {("table01", "inception_v3"): 1.0, ("table03", "inception_v3"): 5.0, ("table04", "inception_v3"): 5.0}
    monkeypatch.setattr(planner, "_hours_to_verdict", lambda profile, state, only: hours)

    state = {("table01", "inception_v3"): [_comparison("table01", "ig", 140, "reproduced"), _comparison("table01", "agi", 140, "open"),
                                           _comparison("table01", "big", 148, "open", metric="deletion")],
             ("table01", "resnet50"): [_comparison("table01", "ig", 40, "reproduced")],
             ("table01", "vgg16"): [],
             ("table03", "inception_v3"): [_comparison("table03", "10", 16, "open", reference="60")],
             ("table09", "inception_v3"): [_comparison("table09", "1", 8, "too few images", reference="9")],
             ("table04", "inception_v3"): [_comparison("table04", "5", 20, "open", reference="30")]}
    steps = claim_steps("standard", state=state)
    cells = {(s.cell.chapter, s.cell.model, *s.cell.sections): s.cell for s in steps}
    assert ("table01_insdel", "resnet50", "") not in cells  # every comparison decided
    lite0 = cells[("table01_insdel", "inception_v3", "")]
    assert lite0.configs == {"attexplore", "agi"} and lite0.limit == 140 + STEP  # big's open deletion waits: insertion decides
    assert cells[("table01_insdel", "vgg16", "")].configs is None and cells[("table01_insdel", "vgg16", "")].limit == STEP
    trend = cells[("ablation_n", "inception_v3", "table03_n")]
    assert trend.configs is None and trend.sections == ("table03_n",) and trend.limit == 16 + STEP
    assert cells[("ablation_n", "inception_v3", "table09_n_small")].limit == 8 + STEP  # 8 images: no interval yet
    equivalence = cells[("ablation_num_steps", "inception_v3", "table04_num_steps")]  # decided on num_steps 5 and 30 alone
    assert equivalence.configs == {"5", "30"} and equivalence.limit == 20 + STEP
    assert [s.why for s in steps[:2]] == ["nothing paired yet", "1 of 1 comparisons open at n = 8, a first look"]
    assert steps[2].why == "1 of 3 comparisons open at n = 140; 1.0 CPU-h projected to its verdict"
    order = [(s.cell.chapter, s.cell.model, s.cell.sections) for s in steps]
    assert order[:2] == [("table01_insdel", "vgg16", ("",)), ("ablation_n", "inception_v3", ("table09_n_small",))]  # first looks
    assert order[2:] == [("table01_insdel", "inception_v3", ("",)),  # the cheapest verdict first, though it has the most images
                         ("ablation_n", "inception_v3", ("table03_n",)),  # a tie with Table 4: the fewest images first
                         ("ablation_num_steps", "inception_v3", ("table04_num_steps",))]


def test_a_published_vs_corrected_claim_grows_its_own_variant_alone() -> None:
    """Each published-vs-corrected claim is one variant of the chapter's runner: its step runs that variant only, to its
    own n; a decided one (here 14) gets nothing."""
    from attx_core.chapters import CLAIMS
    from attx_core.compute.planner import STEP, claim_steps

    state = {(f"published_{i:02d}", "inception_v3"): [_comparison(f"published_{i:02d}", "published", n, verdict, reference="corrected")]
             for i, n, verdict in ((6, 16, "open"), (13, 40, "too few images"), (14, 16, "reversed"))}
    steps = {s.claims: s.cell for s in claim_steps("standard", state=state)}
    assert set(steps) == {("published_06",), ("published_13",)}
    for name, n in (("published_06", 16), ("published_13", 40)):
        cell = steps[(name,)]
        assert cell.configs == {CLAIMS[name][1].where["parameter"]} and cell.limit == n + STEP
        assert cell.settings("standard")["variants"] == [CLAIMS[name][1].where["parameter"]]


def test_secondary_comparisons_grow_only_once_their_claims_verdict_is_decided() -> None:
    """Deletion (not primary) against a rival waits while an insertion comparison is open; once the verdict is decided
    it grows, after every claim's primary comparisons, from its own fewest n."""
    from attx_core.compute.planner import STEP, claim_steps

    decided = [_comparison("table01", "ig", 40, "reproduced"), _comparison("table01", "big", 32, "open", metric="deletion"),
               _comparison("table01", "agi", 24, "too few images", metric="deletion")]
    state = {("table01", "resnet50"): decided,
             ("table09", "inception_v3"): [_comparison("table09", "5", 16, "open", reference="10")]}
    steps = claim_steps("standard", state=state)
    assert [(s.cell.chapter, s.cell.model) for s in steps] == [("ablation_n", "inception_v3"), ("table01_insdel", "resnet50")]
    rest = steps[-1]
    assert rest.cell.configs == {"attexplore", "big", "agi"} and rest.cell.limit == 24 + STEP and "verdict decided" in rest.why
    assert claim_steps("standard", state={("table01", "resnet50"): [_comparison("table01", "ig", 40, "reproduced"),
                                                                      _comparison("table01", "big", 32, "reproduced", metric="deletion")]}) == []


def test_the_projection_prices_what_decides_the_verdict_apart(tiny_profile) -> None:
    """A claim's CPU-hours count every open comparison; its verdict's CPU-hours only the open primary ones (0 once they
    are decided, while its deletion comparisons still grow)."""
    from attx_core.compute.planner import open_claims

    primary, deletion = _comparison("table01", "saliency", 1, "open"), _comparison("table01", "ig", 1, "open", metric="deletion")
    both = open_claims("test", state={("table01", "inception_v3"): [primary, deletion]}).iloc[0]
    assert both.missing == 6 and 0 < both.verdict_cpu_hours < both.cpu_hours  # 3 images x (saliency, ig); the verdict: saliency
    decided = dataclasses.replace(primary, verdict="reproduced")
    rest = open_claims("test", state={("table01", "inception_v3"): [decided, deletion]}).iloc[0]
    assert rest.missing == 3 and rest.cpu_hours > 0 and rest.verdict_cpu_hours == 0
    near = dataclasses.replace(primary, images_needed=1.0)  # each comparison's arms to its own projected n
    assert open_claims("test", state={("table01", "inception_v3"): [near, deletion]}).iloc[0].missing == 1 + 3


def test_tables_only_summarises_the_images_stored(tiny_profile) -> None:
    compute.Cell("table01_insdel", "resnet50").frames("test")
    assert main(["compute", "--profile", "test", "--tables-only"]) == 0
    table = pd.read_csv(tiny_profile.root / "tables" / "table01_insdel.csv")
    assert set(table.model) == {"tiny_resnet50"} and set(table.n) == {2} and len(tiny_profile.calls) == 4


@pytest.mark.parametrize("args, message", [
    (["--profile", "nope"], "unknown profile 'nope'"),
    (["--profile", "quick", "--only", "table01_insdel,nope"], "unknown chapter(s) nope"),
    (["--profile", "quick", "--only", "table01_insdel:vgg16"], "chapter 'table01_insdel' has no model 'vgg16'"),
    (["--hours", "0"], "--hours must be a positive number"),
    (["--hours", "-2"], "--hours must be a positive number"),
    (["--hours", "soon"], "--hours expects a positive number"),
    (["--threads", "0"], "--threads must be a positive integer"),
    (["--device", "tpu"], "device"),
    pytest.param(["--device", "cuda"], "CUDA is not available",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
])
def test_bad_arguments_exit_2_with_one_line(args, message, capsys) -> None:
    assert main(["compute", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_chapter_without_claims_grows_a_few_images_at_a_time() -> None:
    """Within a stage a claim-less chapter grows by compute_step images (all configurations on the same images), up to its
    image count."""
    cell = compute.Cell("sanity_check", "inception_v3")
    assert settings("standard", "sanity_check")["n_images"] == 16
    assert limits("standard", cell, 0, 8, 4) == [4, 8]
    assert limits("standard", cell, 8, 32, 4) == [12, 16]  # the stage ends at the count
    assert limits("standard", cell, 16, None, 4) == []  # at its count
    assert limits("standard", cell, 0, 8, None) == [8]  # no step: the stage itself


def test_a_sanity_entry_costs_every_method_at_every_stage(tmp_path) -> None:
    """The sanity check's entry runs each of its methods on the original model and after each of its
    randomised stages, so its cost is the sum of the methods' passes times (stages + 1)."""
    methods = {"saliency": {}, "ig": {"steps": 20}}
    key = {"method": "saliency", "params": {}, "model": "efficientnet_lite0", "methods": methods, "layers": ["a", "b"]}
    sanity = compute.entry_cost(store.StoreEntry(tmp_path / "s.json", key, force=True))
    alone = {m: compute.entry_cost(store.StoreEntry(tmp_path / f"{m}.json", {"method": m, "params": p, "model": "efficientnet_lite0"}, force=True))
             for m, p in methods.items()}
    assert alone["ig"] > alone["saliency"]
    assert sanity == pytest.approx(3 * (alone["saliency"] + alone["ig"]))


def test_a_robustness_net_costs_its_scales_measured_hours() -> None:
    """A robustness record is one trained and evaluated net: priced from the committed one-thread measurement of its
    scale (the mean per net over the measured datasets), not as one pass; an unmeasured scale stays at one unit."""
    from attx_core.compute.costs import cpu_hours, key_cost
    from attx_core.robust.costs import measured_hours

    key = {"eps": None, "method": "mnist_cpu", "model": "robust", "seed": 3407, "version": 3}
    per_net = [measured_hours("mnist_cpu", d) / 6 for d in ("mnist", "fmnist")]
    assert cpu_hours(key_cost(key)) == pytest.approx(sum(per_net) / 2) and 0.01 < cpu_hours(key_cost(key)) < 1
    assert key_cost({**key, "method": "not_measured"}) == 1.0


def test_store_status_counts_what_is_stored_against_the_targets(tiny_profile, monkeypatch) -> None:
    """Fewest/most images over a chapter's methods per model, the target, and what is missing."""
    compute.Cell("table01_insdel", "resnet50").frames("test")
    compute.Cell("table01_insdel", "inception_v3", limit=1).frames("test")
    status = compute.store_status("test").set_index("model")
    assert status.loc["inception_v3", ["fewest", "most", "target"]].tolist() == [1, 1, 3]
    assert status.loc["resnet50", ["fewest", "most", "target"]].tolist() == [2, 2, 2]
    assert status.loc["inception_v3", "missing"] == 4 and status.loc["inception_v3", "cpu_hours"] > 0
    monkeypatch.setitem(TEST_PROFILE["chapters"]["table01_insdel"], "methods", {"saliency": {}, "ig": {"steps": 2}, "smoothgrad": {"n_samples": 2}})
    status = compute.store_status("test").set_index("model")  # a method with no images yet: fewest 0
    assert status.loc["resnet50", ["fewest", "most", "target"]].tolist() == [0, 2, 2]
    assert status.loc["inception_v3", "missing"] == 4 + 3 + 2 and len(tiny_profile.calls) == 6


def test_the_cost_model_is_measured_on_the_stores_own_timed_records(tmp_path) -> None:
    """Seconds per pass come from the records' attribution timing, seconds per forward from their batch's wall time
    less it, each a cost-weighted median over one-thread CPU records; a slow outlier (a shared machine), records on
    two threads, records without a timing and records whose batch also scored other substrates do not move them."""
    from attx_core.compute.costs import key_parts, measured_rates
    from attx_core.store import ResultsStore, provenance

    store = ResultsStore("test", root=tmp_path)
    key = {"model": "efficientnet_lite0", "method": "ig", "params": {"steps": 50}, "insdel": {"step": 224}}
    passes, forwards = key_parts(key)
    assert passes == 50 and forwards == 450
    entry = store.entry("insdel", key)
    one = provenance(profile="test", threads=1)
    for i, (attribution, wall) in enumerate([(5.0, 5.0 + 0.03 * 450)] * 3 + [(50.0, 300.0)]):
        entry.put({f"{i}": {"insertion": 0.5, "seconds": attribution}}, one, seconds=wall)
    entry.put({"two": {"insertion": 0.5, "seconds": 500.0}}, provenance(profile="test", threads=2), seconds=900.0)
    entry.put({"untimed": {"insertion": 0.5}}, one)
    entry.put({"scored": {"insertion": 0.5, "seconds": 5.0, "substrates": {"blur": [0.4, 0.1]}}}, one, seconds=900.0)
    rates = measured_rates(store.entries())
    assert rates.pass_records == 5 and rates.pass_seconds == pytest.approx(0.1)
    assert rates.forward_records == 4 and rates.forward_seconds == pytest.approx(0.03)
    assert "10.0 passes/s (5 records), a forward 0.30 of a pass (4 records)" in rates.text()
    assert measured_rates([]).pass_seconds is None and "no one-thread record" in measured_rates([]).text()


def test_the_landing_page_shows_the_store_status_of_store_profiles(tiny_profile, monkeypatch) -> None:
    from attx_core.book import page

    compute.Cell("table01_insdel", "resnet50", limit=1).frames("test")
    assert "computes each chapter as its page builds" in page.store_table("test").data
    monkeypatch.setitem(TEST_PROFILE, "store", True)
    html = page.store_table("test").to_html()
    assert '<a href="table01_insdel.html">table01_insdel</a>' in html and "EfficientNet-Lite1 (for ResNet-50)" in html
    rows = html.split("<tr")[2:]
    assert ">1<" in rows[1] and "first look" in rows[1]  # resnet50: 1 image stored, nothing paired yet
    assert "<caption" in html and "cost model: 13.7 passes/s" in html  # the hours' model, beside the store's measurement


def test_status_prints_the_store_and_computes_nothing(tiny_profile, capsys) -> None:
    assert main(["compute", "--profile", "test", "--status", "--only", "table01_insdel:resnet50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["chapter", "model", "fewest", "most", "needed", "open", "missing", "cpu_hours", "verdict_cpu_hours"]
    assert lines[1].split()[:4] == ["table01_insdel", "inception_v3", "0", "0"] and tiny_profile.calls == []


def test_a_sections_status_line_counts_only_its_own_claims(monkeypatch) -> None:
    """Tables 3, 9 and 10 share a chapter: each section's status line counts its own claim's open comparisons and
    CPU-hours (the committed store), not the chapter's sum three times; a one-section chapter keeps the whole."""
    from attx_core.book import page
    from attx_core.compute.planner import status

    whole = status("standard", ["ablation_n"]).iloc[0]
    parts = [status("standard", ["ablation_n"], claims=[c]).iloc[0] for c in ("table03", "table09", "table10")]
    assert all(p.missing <= whole.missing and p.cpu_hours <= whole.cpu_hours + 1e-9 for p in parts)
    assert sum(p.missing for p in parts) >= whole.missing  # the claims share Table 1's N = 20 images
    counts = [int(p.open.split(" of ")[1]) for p in parts]  # "open of all" comparisons: one per claim once it has images
    assert all(c <= 1 for c in counts) and int(whole.open.split(" of ")[1]) == sum(counts)
    seen: list = []
    monkeypatch.setattr(page, "status", lambda profile, names, claims=None: seen.append(claims) or status(profile, names, claims))
    page._status.cache_clear()  # a store profile's status is cached per page
    page.status_line("standard", "ablation_n", "table09_n_small")
    page.status_line("standard", "table01_insdel", "")
    assert seen == [("table09",), None]
    monkeypatch.setattr(page, "images_absent", lambda images: True)  # no image files: said once, under the first section
    assert ["ATTX_DATA_DIR" in page.status_line("standard", "ablation_n", s).data for s in ("table03_n", "table09_n_small")] == [True, False]
