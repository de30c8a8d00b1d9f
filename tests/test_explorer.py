"""The explorer chapter: every control of the grid changes what is computed, the static page carries the mean over
images, the paper's trends, the path strip and a colour scale on every map, and it renders without the image files."""
from __future__ import annotations

import ast
import base64
import json
import re
import shutil
import subprocess

import nbformat
import numpy as np
import pandas as pd
import pytest

from attx_core.chapters import run_options, settings
from attx_core.experiments.explorer import exploration_path, grid_explorer, paper_trends, static_explorer, trend_summary
from attx_core.experiments.runners import SAMPLE_KNOBS, explorer_grid, grid_configs
from attx_core.methods.attexplore import explorer_settings


def _data(page: str) -> dict:
    return json.loads(re.search(r"const D = (\{.*?\});\n", page, flags=re.S).group(1))


def _grid(images: list[str]) -> pd.DataFrame:
    """A small synthetic explorer grid: SSA at two epsilons and two N, PGD without a sample count."""
    rng = np.random.default_rng(0)
    rows = []
    for k, (attack, eps, samples) in enumerate([("ssa", 8, 20), ("ssa", 16, 20), ("ssa", 16, 5), ("pgd", 16, None)]):
        for i, image in enumerate(images):
            rows.append(dict(model="inception_v3", ours_model="efficientnet_lite0", attack=attack, epsilon=eps, samples=samples, num_steps=10,
                             image=image, label=i, map=rng.random((56, 56)).round(3).tolist(), insertion=0.1 * k + 0.01 * i,
                             deletion=0.02 * i, insertion_curve=[0.0, 0.5, 1.0], deletion_curve=[1.0, 0.5, 0.0]))
    return pd.DataFrame(rows)


def test_every_grid_control_changes_what_is_computed(tmp_path, monkeypatch) -> None:
    """Each setting of the grid reads its own store entry, and the explorer it runs has the slider's values: the samples
    axis is SSA's N, MIG's scales and GRA's neighbours; explorers without a sample count get no samples axis."""
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    cfg = settings("standard", "explorer")
    planned: list = []
    explorer_grid(**cfg, plan=planned)
    configs = grid_configs(cfg["grid"])
    assert len(planned) == len(configs) and len({entry.path.name for entry, _ in planned}) == len(configs)
    for (entry, _), c in zip(planned, configs):
        params = entry.key["params"]
        extra = params["attack_params"]
        extra = ast.literal_eval(extra) if isinstance(extra, str) else extra or {}
        knobs = {k: params[k] for k in ("epsilon", "num_steps", "N") if params.get(k) is not None}
        _, full = explorer_settings(params["attack"], params["preset"], {**knobs, **extra})
        assert (full["epsilon"] * 255, full["num_steps"]) == pytest.approx((c["epsilon"], c["num_steps"]))
        knob = SAMPLE_KNOBS.get(c["attack"])
        assert (c["samples"] is None) == (knob is None), c
        if knob:
            assert full[knob] == c["samples"], (c, full[knob])


def test_the_stored_grid_holds_every_setting_and_samples_moves_the_maps() -> None:
    """The committed store: every setting on every image, and for SSA, MIG and GRA the maps at 5 and 20 samples differ."""
    cfg = settings("standard", "explorer")
    grid = explorer_grid(**cfg, **run_options("standard", False))
    assert len(grid) == len(grid_configs(cfg["grid"])) * cfg["n_images"], grid.attrs["notes"]
    assert not any("not declared" in note for note in grid.attrs["notes"])
    for attack in SAMPLE_KNOBS:
        for _, same in grid[grid.attack == attack].groupby(["epsilon", "num_steps", "image"]):
            low, high = (np.asarray(same[same.samples == s].iloc[0]["map"]) for s in (5, 20))
            assert np.abs(low - high).max() > 0.05, (attack, same.iloc[0][["epsilon", "num_steps", "image"]].tolist())


def test_the_stored_path_ends_in_the_grids_map() -> None:
    """The path strip's last running map is the grid's map of the same setting (one computation, two views)."""
    cfg = settings("standard", "explorer")
    opts = run_options("standard", False)
    grid, path = explorer_grid(**cfg, **opts), exploration_path(**cfg, **opts)
    assert len(path) == cfg["n_images"]
    p = cfg["path"]
    for r in path.itertuples():
        cell = grid[(grid.attack == p["attack"]) & (grid.epsilon == p["epsilon"]) & (grid.samples == p["N"])
                    & (grid.num_steps == p["num_steps"]) & (grid.image == r.image)].iloc[0]
        last = np.frombuffer(base64.b64decode(r.map[-1]), dtype=np.uint8).reshape(56, 56) / 255
        assert np.abs(last - np.asarray(cell["map"])).max() < 0.01
        assert len(r.map) == len(r.delta) == len(r.prob) - 1 == p["num_steps"] and len(r.copies) == p["copies"]


def test_the_static_explorer_carries_means_the_papers_trend_and_colour_scales() -> None:
    """The grid's page carries per setting the mean over its images, the paper's cells and trends, and colour scales."""
    images = ["a.jpg", "b.jpg"]
    grid = _grid(images)
    page = grid_explorer(grid, None, images, SAMPLE_KNOBS, paper=paper_trends("inception_v3"))
    data = _data(page)
    assert data["means"]["ssa|16|20|10"] == {"ins": 0.105, "del": 0.01, "n": 2, "ins_each": [0.1, 0.11], "del_each": [0.0, 0.02]}
    assert data["means"]["pgd|16|-|10"]["n"] == 2 and data["images"] == []
    assert data["paper"]["cells"]["ssa|16|20|10"] == [0.4644, 0.0313, "Table 5"]  # the setting all of Tables 3-5 share
    assert data["paper"]["axes"]["epsilon"]["x"] == [8, 16, 24, 32, 40, 48]
    assert set(data["knobs"]) == {"ssa"} and data["knobs"]["ssa"]["name"] == "N"  # PGD: no samples slider
    assert page.count('class="attx-colorbar"') >= 2 and "B &minus; A" in page
    summary = trend_summary(grid, paper_trends("inception_v3"))
    assert "0.4637 &rarr; 0.4644" in summary and "0.005 &rarr; 0.105" in summary  # ours and the paper's along epsilon 8 -> 16


def test_the_figure4_maps_need_no_photos() -> None:
    """The Figure 4 section draws every stored map from the store alone, with its colour scale and the paper's method names."""
    maps = pd.DataFrame([dict(method=m, image=i, map=np.full((56, 56), 0.5).tolist())
                         for m in ("saliency", "attexplore") for i in ("0.png", "1.png")])
    page = static_explorer(maps, None, ["0.png", "1.png", "2.png"])
    data = _data(page)
    assert data["names"] == ["0.png", "1.png"] and data["labels"]["saliency"] == "SaliencyMap" and data["labels"]["attexplore"] == "AttEXplore"
    assert 'class="attx-colorbar"' in page and set(data["cells"]) == {"0|saliency", "0|attexplore", "1|saliency", "1|attexplore"}


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to parse the pages' JavaScript")
def test_both_pages_scripts_parse_as_javascript(tmp_path) -> None:
    """The grid's and the Figure 4 scripts (built from a shared opening) are valid JavaScript as the page carries them."""
    images = ["a.jpg", "b.jpg"]
    maps = pd.DataFrame([dict(method="saliency", image=i, map=np.full((56, 56), 0.5).tolist()) for i in images])
    pages = {"grid": grid_explorer(_grid(images), None, images, SAMPLE_KNOBS, paper=paper_trends("inception_v3")),
             "maps": static_explorer(maps, None, images)}
    for name, page in pages.items():
        scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
        assert len(scripts) == 1 and "const D = {" in scripts[0]
        path = tmp_path / f"{name}.js"
        path.write_text(scripts[0])
        checked = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{name}: {checked.stderr}"


@pytest.mark.slow
def test_the_page_renders_without_the_val_subset(tmp_path, monkeypatch) -> None:
    """A fresh clone (no ImageNet subset): the page draws the grid, the path strip and the Figure 4 maps from the store."""
    from attx_core import book
    from attx_core.book.build import ensure_kernel
    from attx_core.store import REPO_ROOT

    pytest.importorskip("papermill")
    store = tmp_path / "results"
    shutil.copytree(REPO_ROOT / "data" / "results" / "standard", store / "standard")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("ATTX_RESULTS", str(store))
    monkeypatch.setenv("ATTX_DATA_DIR", str(tmp_path / "empty"))
    ensure_kernel()
    book.execute_notebook("explorer", {"profile": "standard", "force": False}, out_dir=tmp_path)
    nb = nbformat.read(tmp_path / "explorer.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    page = "".join(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert not any(o.get("output_type") == "error" for o in outputs)
    assert 'class="attx-grid"' in page and 'class="attx-maps"' in page and page.count('class="attx-colorbar"') >= 3
    assert "the maps are drawn from the store alone" in page and "Photos not shown" not in page
    grid, maps = _data(page.split('class="attx-maps"')[0]), _data(page.split('class="attx-maps"')[1])
    assert grid["path"]["frames"] and len(grid["means"]) == 64 and len(maps["cells"]) == 6 * len(maps["methods"])
