"""Refactors keep the store: on a copy of the store as committed at a named commit, and without the image files,
today's code reads every stored entry under the same key, counts the same images per chapter and writes the
same numbers into the CSV tables as the code of that commit did."""
from __future__ import annotations

import io
import shutil
import subprocess
import tarfile

import pandas as pd
import pytest

from attx_core.store import REPO_ROOT

# The last commit before the chapter registry; its store and tables are what the old code computed and wrote.
COMMIT = "6259a9a"
# `attx compute --status` at that commit, computed by that commit's code with the images present (fewest, most);
# AttEXplore++ and published-vs-corrected then read 100 and 64 images, now every image of the subset (the planner
# decides how many each claim needs), so their most count the 140 and 148 images they share with Table 1. The explorer's
# MIG/GRA settings at 5 samples (its samples slider then ran them at 20) and its path strip are new: none at that commit.
STATUS = {
    ("table01_insdel", "inception_v3"): (0, 148), ("table01_insdel", "resnet50"): (0, 8), ("table01_insdel", "vgg16"): (0, 0),
    ("table02_fps", "inception_v3"): (8, 8), ("ablation_n", "inception_v3"): (0, 0), ("ablation_num_steps", "inception_v3"): (0, 0),
    ("ablation_epsilon", "inception_v3"): (0, 0), ("table06_attacks", "inception_v3"): (0, 0), ("table07_vit", "vit_b_16"): (0, 148),
    ("table08_infd", "inception_v3"): (0, 0), ("table08_infd", "resnet50"): (0, 0), ("table08_infd", "vgg16"): (0, 0),
    ("figure04_heatmaps", "inception_v3"): (0, 6), ("explorer", "inception_v3"): (0, 4),
    ("attexplorepp", "inception_v3"): (0, 140), ("published_vs_corrected", "inception_v3"): (0, 148),
    ("sanity_check", "inception_v3"): (16, 16), ("robustness", None): (0, 500), ("substrates", "inception_v3"): (0, 0),
}
# Expected Gradients' entries were re-keyed on purpose (the fewest counts of Table 1 and Figure 4 are 0 until they are
# recomputed; Table 7 reads Table 1): its references were drawn from the first n images of each fill run, and n grew from run to run, so stored
# records of one key drew from pools of 8 to 400 images; now every record draws from the whole set, named in the key.
REKEYED = "expected_gradients"
# Since then MNIST moved to the mnist_cpu robustness scale (its cpu-scale nets did not learn): its nets are new records,
# none at that commit (FMNIST's are read as they were); the substrates chapter is new.


@pytest.fixture(scope="module")
def old_store(tmp_path_factory):
    """The standard store of :data:`COMMIT`, extracted with ``git archive`` (skipped where git or the commit is absent)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    done = subprocess.run(["git", "archive", COMMIT, "data/results/standard"], cwd=REPO_ROOT, capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"commit {COMMIT} is not in this clone ({done.stderr.decode().strip()[:80]})")
    root = tmp_path_factory.mktemp("store")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        tar.extractall(root, filter="data")
    return root / "data" / "results"


@pytest.fixture
def without_images(old_store, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTX_RESULTS", str(old_store))
    monkeypatch.setenv("ATTX_DATA_DIR", str(tmp_path / "no-images-here"))
    from attx_core.chapters import claims
    from attx_core.experiments import resolve

    resolve._full_image_set.cache_clear()
    claims._stored_long.cache_clear()
    return old_store / "standard"


def test_every_stored_entry_is_read_under_its_key_and_counts_stay(without_images) -> None:
    from attx_core.compute import cells, missing, store_status

    read = {entry.path.name for cell in cells("standard") for entry, _ in missing("standard", cell)}
    stored = {p.name for p in without_images.rglob("*.json") if "tables" not in p.parts}
    gone = {name for name in stored - read if REKEYED not in name}
    assert not gone and stored - read, f"stored entries no chapter reads any more (their keys changed): {sorted(gone)[:5]}"
    status = store_status("standard")
    got = {(r.chapter, None if pd.isna(r.model) else r.model): (r.fewest, r.most) for r in status.itertuples()}
    assert got == STATUS


def test_the_tables_keep_their_values(without_images, tmp_path) -> None:
    from attx_core.compute import write_tables

    written = {p.stem: p for p in write_tables("standard", root=tmp_path)}
    for old in sorted((without_images / "tables").glob("*.csv")):
        before, after = pd.read_csv(old), pd.read_csv(written[old.stem])
        if old.stem == "table07_vit":  # Lite0 numbers filed under the ViT chapter: now none (a stand-in cannot test it)
            assert after.empty and not before.empty
            continue
        if old.stem == "robustness":  # MNIST's cpu-scale nets are no longer the chapter's (see STATUS)
            before = before[~before.model.str.contains("mnist)", regex=False) | before.model.str.contains("fmnist", regex=False)]
        if old.stem == "explorer":  # MIG's and GRA's "samples=5" rows were their 20-sample maps (the knob was dropped then)
            before = before[~(before.method.isin(["attexplore[mig]", "attexplore[gra]"]) & before.setting.str.contains("samples=5 "))]
        if "method" in before:
            before = before[~before.method.astype(str).str.contains(REKEYED)]
        keys = ["chapter", "model", "method", "setting", "metric"]
        merged = before.merge(after, on=keys, how="left", suffixes=("", "_new"), indicator=True)
        assert (merged._merge == "both").all(), f"{old.stem}: rows gone: {merged[merged._merge != 'both'][keys].head()}"
        assert (merged.n_new >= merged.n).all(), old.stem
        merged = merged[merged.n == merged.n_new]  # rows that now read more stored images (see STATUS) change, the rest stay
        pd.testing.assert_series_equal(merged["mean"], merged["mean_new"], check_names=False, rtol=1e-5, atol=1e-9)
        merged = merged[merged.n >= 16]  # below the first look the tables now give no interval
        for column in ("ci_lo", "ci_hi"):
            pd.testing.assert_series_equal(merged[column], merged[f"{column}_new"], check_names=False, rtol=1e-5, atol=1e-9)
