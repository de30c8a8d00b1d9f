"""Benchmark: end-to-end JSON on tiny_cnn, pass counts of the published-structure baselines, variants."""
from __future__ import annotations

import json

import pytest
import torch

from attx_core import attribute, bench, execution
from attx_core.chapters.protocol import PAPER_METHODS
from attx_core.experiments.runners import passes_per_image


def test_bench_writes_json_with_expected_keys(tmp_path):
    out = tmp_path / "bench.json"
    argv = ["--model", "tiny_cnn", "--random-weights", "--images", "2", "--batch", "2", "--reps", "1",
            "--methods", "attexplore,ig,saliency", "--param", "attexplore.num_steps=2",
            "--param", "attexplore.N=3", "--param", "ig.steps=3", "--variants", "channels_last", "--table1", "1", "--out", str(out)]
    assert bench.main(argv) == 0
    stored = json.loads(out.read_text())
    run = stored["runs"]["tiny_cnn/small"]
    assert {"provenance", "loadavg", "pass_time", "methods", "published_attexplore", "insertion_deletion", "variants", "paper_table2"} <= set(run)
    assert len(run["loadavg"]["before"]) == 3 and run["provenance"]["profile"] == "bench"
    ig = run["methods"]["ig"]
    assert {"seconds", "fps", "efficiency", "ideal_seconds", "peak_mem_mb", "passes_formula_per_image"} <= set(ig)
    assert ig["passes_counted_per_image"] == ig["passes_formula_per_image"] == 3  # Captum's riemann_trapezoid: steps points
    assert run["methods"]["attexplore"]["passes_counted_per_image"] == 6  # num_steps * N
    pub = run["published_attexplore"]
    assert pub["passes_per_image"] == pub["passes_counted_per_image"] == 2 * 3 + 3  # + the discarded N
    assert pub["spearman_vs_ours"]["min"] > 0.999  # same random draws -> the same map
    assert run["insertion_deletion"]["published"]["max_abs_auc_diff"] < 1e-5
    assert run["variants"]["channels_last"]["spearman_min"] > 0.99
    policy = run["policy"]
    assert max(policy["insertion_deletion"]["max_abs_auc_diff"].values()) < 1e-4 and policy["attexplore"]["map_correlation_min"] >= 0.9999
    assert set(policy["forward_s_per_sample"]) == {"eager", "channels_last", "compiled", "openvino"}
    store = run["store_insdel"]
    assert set(store["speedup_vs_plain_eager"]) == {"today_compiled", "default", "default_bf16", "plain_openvino"}
    assert max(v for k, v in store["max_abs_auc_diff_vs_plain_eager"].items() if k != "default_bf16") < 1e-4  # bf16: an option, measured
    assert store["forwards"] == 2 * 2 * (1024 // 224 + 2)
    assert run["machine"]["sgemm_gflops"] > 0 and run["machine"]["model_gflop_per_sample"] > 0
    assert run["captum_infidelity"]["speedup"] > 0 and run["captum_infidelity"]["mean_captum"] >= 0
    t1 = run["table1"]
    for name in ("today", "new"):  # today's policy (bench/today.py) and the new one
        assert set(t1[name]["methods"]) == set(PAPER_METHODS) and t1[name]["seconds_per_image"] > 0
        assert t1[name]["methods"]["attexplore"]["passes_counted_per_image"] == 200  # the paper's settings: 10 steps x N 20
    assert t1["speedup"] > 0 and t1["baseline"] == "bench/today.py"


def test_published_loop_makes_220_passes_per_image_at_defaults(tiny_model):
    x, y = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0)), torch.tensor([5])  # 8 px: cheap passes
    with bench.count_passes(tiny_model) as log:
        bench.published_attexplore_loop(tiny_model, x, y)
    assert log.samples(True) == bench.published_passes_per_image() == 220
    assert {c[0] for c in log.calls} == {1}  # one image -> batch 1 per pass, sequential samples
    with bench.count_passes(tiny_model) as ours:
        attribute(tiny_model, x, y, method="attexplore")
    assert ours.samples(True) == passes_per_image("attexplore", {}) == 200


def test_published_loop_equals_attexplore_for_same_draws(tiny_model, tiny_images):
    x, y = tiny_images
    ours = attribute(tiny_model, x, y, method="attexplore", num_steps=3, N=2)
    theirs = bench.published_attexplore_loop(tiny_model, x, y, num_steps=3, N=2)
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-6)


def test_channels_last_keeps_maps_and_restores_model(tiny_model, tiny_images):
    x, y = tiny_images
    assert bench.check_equivalence(tiny_model, x, y, "ig", "channels_last", steps=4) > 0.99
    assert "forward" not in tiny_model.__dict__ and execution.policy() == "auto"
    with pytest.raises(ValueError, match="variant"):
        with bench.variant(tiny_model, "float8"):
            pass


def test_passes_per_image_uses_overrides():
    assert passes_per_image("ig", {}) == 50  # Captum's riemann_trapezoid: n_steps points
    assert passes_per_image("ig", {"steps": 9}) == 9
    assert passes_per_image("ig", {"steps": 9, "rule": "trapezoid"}) == 10
