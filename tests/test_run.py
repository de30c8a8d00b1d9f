"""`attx run CHAPTER`: a chapter rerun your way into a page of its own (random weights: a banner and no verdict; a
trained wrapped model from Python: a verdict), settings checked before anything loads, user models keyed by their weights."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from _tiny_task import make_data, trained_model
from PIL import Image

from attx_core import models
from attx_core.cli import main
from attx_core.experiments import resolve


def _page_text(page: Path) -> str:
    return re.sub(r"\s+", " ", page.read_text())


@pytest.fixture(scope="module")
def toy_images(tmp_path_factory) -> Path:
    """24 images of the tiny task (class k: channel k brightened) as PNG files with labels.csv."""
    folder = tmp_path_factory.mktemp("toy")
    x, y = make_data(24, 1)
    lines = ["file,label"]
    for i, (img, label) in enumerate(zip(x, y.tolist())):
        Image.fromarray((img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(folder / f"toy{i:02d}.png")
        lines.append(f"toy{i:02d}.png,{label}")
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return folder


def toy_model() -> models.ImageModel:
    """A copy of the tiny task's trained net as a wrapped model (it was trained on [0, 1] images: no normalisation)."""
    return models.wrap(copy.deepcopy(trained_model()), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), input_size=16, name="toy",
                       class_names=["r", "g", "b"])


@pytest.mark.parametrize("args, message", [
    (["--set", "bogus=1"], "--set bogus: not a setting of chapter 'table01_insdel'"),
    (["--set", "seed=three"], "--set seed='three': seed is an integer"),
    (["--set", "methods=[1]"], "methods is a JSON object"),
    (["--model", "timm:no_such_net"], "unknown timm model"),
    (["--n-images", "0"], "--n-images must be a positive integer"),
    (["--images", "/no/such/folder"], "images:"),
    (["--profile", "nope"], "unknown profile 'nope'"),
])
def test_bad_arguments_are_one_line_and_exit_2(args, message, tmp_path, capsys) -> None:
    assert main(["run", "table01_insdel", "--out", str(tmp_path / "page"), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "page").exists()  # refused before anything ran


def test_user_models_are_keyed_by_their_weights(toy_images, tmp_path, monkeypatch) -> None:
    """Two networks under one name never share records; a stand-in's key is unchanged (tests/test_store_unchanged.py)."""
    from attx_core.chapters import settings
    from attx_core.experiments import insdel_table

    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    cfg = settings("test", "table01_insdel", images=str(toy_images), n_images=2, methods={"saliency": {}})
    first, other = toy_model(), toy_model()
    with torch.no_grad():
        other.net.head.bias.add_(1.0)
    for model in (first, other):
        ours = insdel_table(**{**cfg, "models": [model]})
        assert list(ours.attrs["models"]) == [resolve.model_label(model)] and ours.image.nunique() == 2
    keys = [json.loads(p.read_text())["key"] for p in (tmp_path / "test" / "insdel").glob("*.json")]
    assert len(keys) == 2 and {k["weights"] for k in keys} == {"user"}
    assert {k["weights_sha"] for k in keys} == {resolve.weights_digest(first), resolve.weights_digest(other)}
    assert not resolve.keyed_by_digest(models.load("efficientnet_lite0"))
    assert resolve.keyed_by_digest(models.load("tiny_cnn", weights=None))


@pytest.mark.slow
def test_random_weights_page_has_a_banner_and_no_verdict(tmp_path, capsys) -> None:
    """The issue's command: a timm test model, random weights, 2 images, the quick profile (coarse curves, 3 methods)."""
    out = tmp_path / "page"
    code = main(["run", "table01_insdel", "--model", "timm:test_resnet", "--random-weights", "--n-images", "2", "--profile", "quick",
                 "--set", 'methods={"saliency": {}, "ig": {"steps": 4}, "attexplore": {"N": 2, "num_steps": 2}}',
                 "--set", 'insdel={"step": 12544, "substrate": "zeros", "order": "reference"}', "--out", str(out), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    page = out / "html" / "table01_insdel.html"
    assert (out / "table01_insdel.ipynb").is_file() and capsys.readouterr().out.strip() == str(page)
    text = _page_text(page)
    assert "attx-random-weights" in text and "no verdict" in text and "attx-verdict" not in text
    assert "timm:test_resnet" in text and "Traceback" not in text
    keys = [json.loads(p.read_text())["key"] for p in (out / "store" / "quick" / "insdel").glob("*.json")]
    assert len(keys) == 3 and all(k["model"] == "timm:test_resnet" and k["weights"] == "random-init" and k["weights_sha"] for k in keys)


@pytest.mark.slow
def test_trained_wrapped_model_page_has_a_verdict(toy_images, tmp_path) -> None:
    """From Python: a trained wrapped model on the toy task's images gets a page with the claim decided on its numbers."""
    from attx_core.book.run import run_chapter

    model = toy_model()
    page = run_chapter("table01_insdel", tmp_path / "page", profile="test", models=[model], images=toy_images, n_images=24, progress=False)
    text = _page_text(page)
    label = resolve.model_label(model)
    assert "attx-random-weights" not in text and "attx-verdict" in text and label in text
    assert "on this model (not in the paper)" in text and "Traceback" not in text
    verdict = re.search(r"Table 1: <span[^>]*>([^<]+)</span>", text).group(1)
    assert verdict not in ("too few images", "not computed yet"), verdict
    assert (tmp_path / "page" / "store" / "models" / f"{label}.pt").is_file()  # what the notebook's kernel loaded


def test_live_explorer_recomputes_a_saved_wrapped_model(toy_images, tmp_path, monkeypatch) -> None:
    """The explorer's live widget on a wrapped model as a notebook kernel gets it (by label, from the store): moving the
    N slider recomputes the map (driven from Python, no browser)."""
    from attx_core.experiments.explorer import live_explorer

    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    label = resolve.model_label(toy_model())
    resolve.save_wrapped(label)
    monkeypatch.delitem(resolve.USER_MODELS, label)
    model = resolve.resolve_model.__wrapped__(label).model  # a fresh process's view: loaded from the store
    x, y = make_data(2, 3)
    box = live_explorer(model, x, y, ["a", "b"], ["attexplore", "saliency"], insdel_step=64)
    controls, outputs = box.children
    picture = outputs.children[0]
    first = bytes(picture.value)
    next(w for w in controls.children if getattr(w, "description", "") == "N").value = 2
    assert bytes(picture.value) != first and controls.children[-1].description == "done"
