"""Image loaders and their error messages."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from attx_core import data


def _write(folder, name, mode="RGB", size=(40, 30)):
    arr = np.random.default_rng(0).integers(0, 255, (size[1], size[0], len(mode) if mode != "L" else 1), dtype=np.uint8)
    Image.fromarray(arr.squeeze(), mode=None).convert(mode).save(folder / name)


def _labels(folder, rows):
    (folder / "labels.csv").write_text("file,label\n" + "".join(f"{f},{label}\n" for f, label in rows))


def test_sample_images():
    x, labels = data.sample_images()
    assert x.shape == (20, 3, 224, 224) and x.dtype == torch.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert labels.dtype == torch.long and labels[0].item() == 243


def test_folder_converts_gray_and_rgba(tmp_path):
    _write(tmp_path, "a.png", "L")
    _write(tmp_path, "b.png", "RGBA")
    _labels(tmp_path, [("a.png", 1), ("b.png", 999)])
    s = data.load_folder(tmp_path, size=32)
    assert s.x.shape == (2, 3, 32, 32) and s.labels.tolist() == [1, 999] and s.names == ["a.png", "b.png"]


def test_corrupt_file_is_named(tmp_path):
    _write(tmp_path, "ok.png")
    (tmp_path / "bad.png").write_bytes(b"not an image at all")
    _labels(tmp_path, [("ok.png", 1), ("bad.png", 2)])
    with pytest.raises(data.ImageDataError, match="bad.png.*corrupt"):
        data.load_folder(tmp_path)


def test_missing_labels_file(tmp_path):
    _write(tmp_path, "a.png")
    with pytest.raises(data.ImageDataError, match="labels file missing"):
        data.load_folder(tmp_path)


def test_empty_folder(tmp_path):
    _labels(tmp_path, [])
    with pytest.raises(data.ImageDataError, match="no images found"):
        data.load_folder(tmp_path)


def test_label_out_of_range(tmp_path):
    _write(tmp_path, "a.png")
    _labels(tmp_path, [("a.png", 1000)])
    with pytest.raises(data.ImageDataError, match=r"0\.\.999.*1000"):
        data.load_folder(tmp_path)


def test_imagenet_val_layouts(tmp_path):
    for synset in ("n01440764", "n01443537"):
        (tmp_path / "cls" / synset).mkdir(parents=True)
        _write(tmp_path / "cls" / synset, "x.JPEG")
    s = data.load_imagenet_val(tmp_path / "cls", size=16)
    assert s.labels.tolist() == [0, 1]
    flat = tmp_path / "flat"
    flat.mkdir()
    _write(flat, "ILSVRC2012_val_00000001.JPEG")
    _write(flat, "ILSVRC2012_val_00000002.JPEG")
    with pytest.raises(data.ImageDataError, match="ground_truth"):
        data.load_imagenet_val(flat)
    (tmp_path / "gt.txt").write_text("65\n970\n")
    s = data.load_imagenet_val(flat, size=16, ground_truth=tmp_path / "gt.txt")
    assert s.labels.tolist() == [65, 970]


def test_shared_data_dir_is_configurable(monkeypatch, tmp_path):
    monkeypatch.setenv("ATTX_DATA_DIR", str(tmp_path))
    assert data.shared_data_dir() == tmp_path


def test_shared_val_subset_when_present():
    folder = data.shared_data_dir()
    if not (folder / "labels.csv").is_file():
        pytest.skip(f"shared images not present at {folder}")
    s = data.load_image_set("val-subset", n=3)
    assert s.x.shape == (3, 3, 224, 224)
