"""The attx command line."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from attx_core import METHODS
from attx_core.cli import main


@pytest.fixture
def photo(tmp_path):
    arr = (torch.rand(40, 40, 3) * 255).byte().numpy()
    path = tmp_path / "img.png"
    Image.fromarray(arr).save(path)
    return path


def test_models_and_methods(capsys):
    assert main(["models"]) == 0
    assert "efficientnet_lite0" in capsys.readouterr().out
    assert main(["methods"]) == 0
    assert "saliency" in capsys.readouterr().out


def test_explain_real_model_writes_png(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    from attx_core.data import sample_images  # noqa: F401  (foolbox files present)

    folder = Path(list(importlib.util.find_spec("foolbox").submodule_search_locations)[0]) / "data"
    out = tmp_path / "h.png"
    assert main(["explain", str(folder / "imagenet_00_243.jpg"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bull mastiff" in text.splitlines()[0]
    assert Image.open(out).size[0] > 200


@pytest.mark.parametrize("method", sorted(METHODS))
def test_explain_every_method(method, photo, tmp_path):
    out = tmp_path / f"{method}.png"
    assert main(["explain", str(photo), "--model", "tiny_cnn", "--random-weights", "--method", method, "--out", str(out)]) == 0
    assert out.is_file()


def test_explain_bad_input_is_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    assert main(["explain", str(bad), "--model", "tiny_cnn", "--random-weights"]) == 2
    assert "corrupt" in capsys.readouterr().err
    assert main(["explain", str(bad), "--method", "nope", "--model", "tiny_cnn", "--random-weights"]) == 2
