"""Labelled images as [0,1] NCHW float32 tensors: packaged photos, a labelled folder, ImageNet val.

Every loader returns ``ImageSet(x, labels, names)``; it unpacks as ``x, labels = ...`` too.
Unreadable files, empty folders, missing label files and labels outside 0..999 raise
:class:`ImageDataError` naming the problem; grayscale, palette and RGBA images become RGB, 16-bit and
float images keep their range, EXIF orientation is applied. A label is a class index or a synset id
(``n01440764``), mapped to its ImageNet index by the synset list timm ships.
"""
from __future__ import annotations

import contextlib
import csv
import importlib.util
import numbers
import os
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch import Tensor

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}  # compared in lower case
NUM_CLASSES = 1000
SYNSET = re.compile(r"n\d{8}")


class ImageDataError(ValueError):
    """A problem with an image file, a folder or its labels."""


@dataclass
class ImageSet:
    """Images (B,3,H,W) in [0,1], their ImageNet labels (B,) and a name per image."""

    x: Tensor
    labels: Tensor
    names: list[str]
    source: str = ""

    def __iter__(self) -> Iterator[Tensor]:  # allow `x, labels = sample_images()`
        return iter((self.x, self.labels))

    def __len__(self) -> int:
        return len(self.names)

    def subset(self, n: int | None) -> "ImageSet":
        """The first n images (all when n is None)."""
        n = len(self) if n is None else min(n, len(self))
        return ImageSet(self.x[:n], self.labels[:n], self.names[:n], self.source)


def read_image(path: str | os.PathLike, size: int | None = 224) -> Tensor:
    """Read one image file as (3, size, size) float32 in [0,1]: shorter side resized, centre crop."""
    _check_size(size)
    size = None if size is None else int(size)
    path = Path(path)
    img, scale = _decode(path)
    if size is not None and img.size != (size, size):
        w, h = img.size
        factor = size / min(w, h)
        img = img.resize((max(size, round(w * factor)), max(size, round(h * factor))), Image.BILINEAR)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
    arr = np.asarray(img, dtype=np.float32) / scale
    if arr.ndim == 2:  # a 16-bit or float grayscale plane
        arr = np.repeat(np.clip(arr, 0.0, 1.0)[..., None], 3, axis=2)
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()


def check_image_file(path: str | os.PathLike) -> None:
    """Raise :class:`ImageDataError` unless ``path`` is an image file PIL can open (reads the header only)."""
    with _opened(Path(path)):
        pass


@contextlib.contextmanager
def _opened(path: Path) -> Iterator[Image.Image]:
    """The image file open in PIL; a missing, corrupt or oversized file raises :class:`ImageDataError` naming it."""
    if path.is_dir():
        raise ImageDataError(f"{path} is a directory, not an image file (use data.load_folder for a folder)")
    if not path.is_file():
        raise ImageDataError(f"image file not found: {path}")
    try:
        with Image.open(path) as img:
            yield img
    except Image.DecompressionBombError as err:
        raise ImageDataError(f"image {path} is too large to decode safely ({err}); downscale it first") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ImageDataError(f"cannot read image {path}: corrupt or not an image ({err})") from err


def _decode(path: Path) -> tuple[Image.Image, float]:
    """The upright image (EXIF orientation applied) and the value of white in it: 8-bit images as RGB (255);
    16-bit and float grayscale as one float plane ("F"), white 65535 and 1 (floats must lie in [0, 1])."""
    with _opened(path) as img:
        img.load()
        img = ImageOps.exif_transpose(img)
    if img.mode.startswith("I;16"):
        return Image.fromarray(np.asarray(img, dtype=np.float32)), 65535.0
    if img.mode == "I":
        raise ImageDataError(f"image {path} has 32-bit integer pixels, whose white level is unknown; "
                             "save it as an 8- or 16-bit image, or as floats in [0, 1]")
    if img.mode == "F":
        values = np.asarray(img, dtype=np.float32)
        if values.size and not (np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1):
            raise ImageDataError(f"image {path}: float pixel values in [{np.nanmin(values):g}, {np.nanmax(values):g}]; "
                                 "float images must hold intensities in [0, 1] (scale it, or save it as an 8- or 16-bit image)")
        return img, 1.0
    return img.convert("RGB"), 255.0


def _check_size(size: int | None) -> None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1):
        raise ImageDataError(f"size must be a positive integer (pixels per side) or None (keep each image's size), got {size!r}")


def _stack(paths: Sequence[Path], labels: Sequence[int], size: int | None, source: str) -> ImageSet:
    _check_size(size)
    if not paths:
        raise ImageDataError(f"no images found in {source}")
    bad = [int(v) for v in labels if not 0 <= int(v) < NUM_CLASSES]
    if bad:
        raise ImageDataError(f"labels must be ImageNet class indices 0..{NUM_CLASSES - 1}; got {bad[:5]} in {source}")
    images = [read_image(p, size) for p in paths]
    shapes = {tuple(im.shape[1:]) for im in images}
    if len(shapes) > 1:
        seen: dict[tuple[int, ...], str] = {}
        for p, im in zip(paths, images):
            seen.setdefault(tuple(im.shape[1:]), p.name)
        examples = ", ".join(f"{name} {h}x{w}" for (h, w), name in list(seen.items())[:3])
        raise ImageDataError(f"images in {source} have different sizes ({examples}) and size=None keeps them; "
                             "pass size=N (e.g. the model's input_size) to resize and centre-crop them to NxN")
    x = torch.stack(images)
    return ImageSet(x, torch.tensor([int(v) for v in labels], dtype=torch.long), [p.name for p in paths], source)


def sample_images(size: int = 224) -> ImageSet:
    """The 20 labelled ImageNet photos shipped in the foolbox wheel (read as files, no import)."""
    spec = importlib.util.find_spec("foolbox")
    if spec is None or not spec.submodule_search_locations:
        raise ImageDataError("the packaged photos come from foolbox: `pip install --no-deps foolbox==3.3.4`")
    folder = Path(list(spec.submodule_search_locations)[0]) / "data"
    pattern = re.compile(r"imagenet_(\d+)_(\d+)\.\w+$")
    found = sorted((int(m.group(1)), int(m.group(2)), p) for p in folder.iterdir() if (m := pattern.match(p.name)))
    return _stack([p for _, _, p in found], [label for _, label, _ in found], size, "foolbox sample images")


def load_folder(folder: str | os.PathLike, size: int | None = 224, labels_file: str = "labels.csv") -> ImageSet:
    """A folder of images with ``labels.csv`` (columns ``file,label``), e.g. the shared val subset."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageDataError(f"image folder not found: {folder}")
    labels_path = folder / labels_file
    if not labels_path.is_file():
        raise ImageDataError(f"labels file missing: {labels_path} (expected CSV with columns file,label)")
    try:
        with open(labels_path, newline="", encoding="utf-8-sig") as fh:  # utf-8-sig: a BOM is not part of 'file'
            rows = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error) as err:
        raise ImageDataError(f"{labels_path} is not a readable CSV file ({err})") from None
    if rows and not {"file", "label"} <= set(rows[0]):
        raise ImageDataError(f"{labels_path} must have columns 'file,label', got {list(rows[0])}")
    files: list[str] = []
    labels: list[int] = []
    first: dict[str, tuple[int, int]] = {}  # file -> (line, label)
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        name, text = (row.get("file") or "").strip(), row.get("label")
        text = text.strip() if isinstance(text, str) else ""
        if not name and not text:
            continue  # blank line
        if not name:
            raise ImageDataError(f"{labels_path} line {line}: no file name (label {text!r})")
        if not text:
            raise ImageDataError(f"{labels_path} line {line}: file {name!r} has no label")
        label = parse_label(text, f"{labels_path} line {line}", f" for file {name!r}")
        if name in first:
            prev_line, prev = first[name]
            if prev != label:
                raise ImageDataError(f"{labels_path}: file {name!r} is listed twice with different labels "
                                     f"({prev} on line {prev_line}, {label} on line {line})")
            raise ImageDataError(f"{labels_path}: file {name!r} is listed twice (lines {prev_line} and {line}); "
                                 "each image must appear once")
        first[name] = (line, label)
        files.append(name)
        labels.append(label)
    return _stack([folder / f for f in files], labels, size, str(folder))


def load_imagenet_val(root: str | os.PathLike, size: int = 224, ground_truth: str | os.PathLike | None = None) -> ImageSet:
    """An ImageNet validation directory.

    Either class folders named by synset (``n01440764/...``: each folder's label is its synset's ImageNet
    index, whichever folders are present; hidden folders such as ``.ipynb_checkpoints`` are ignored), or
    flat image files plus ``ground_truth``: one 0-based class index or synset id per line, in sorted file order.
    """
    root = Path(root)
    if not root.is_dir():
        raise ImageDataError(f"ImageNet directory not found: {root}")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if class_dirs:
        strays = [d.name for d in class_dirs if not SYNSET.fullmatch(d.name) or d.name not in synset_indices()]
        if strays:
            raise ImageDataError(f"{root}: class folders must be named by ImageNet synset (e.g. n01440764); "
                                 f"{len(strays)} are not: {', '.join(strays[:5])}{', ...' if len(strays) > 5 else ''} "
                                 "(move them out, or use data.load_folder with a labels.csv)")
        paths, labels = [], []
        for d in class_dirs:
            found = _image_files(d)
            paths += found
            labels += [synset_indices()[d.name]] * len(found)
        return _stack(paths, labels, size, str(root))
    files = _image_files(root)
    if ground_truth is None:
        raise ImageDataError(f"{root} has flat image files: pass ground_truth= (one class index or synset per line)")
    gt = Path(ground_truth)
    if not gt.is_file():
        raise ImageDataError(f"ground-truth file missing: {gt}")
    lines = [(n, t.strip()) for n, t in enumerate(gt.read_text(encoding="utf-8-sig").splitlines(), start=1) if t.strip()]
    labels = [parse_label(text, f"{gt} line {n}") for n, text in lines]
    if len(labels) != len(files):
        raise ImageDataError(f"{gt} has {len(labels)} labels for {len(files)} images in {root}")
    return _stack(files, labels, size, str(root))


def _image_files(folder: Path) -> list[Path]:
    """The image files of a folder, sorted (suffixes in any case); other visible files are named in a warning."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    others = [p.name for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if others:
        warnings.warn(f"{folder}: skipped {len(others)} file(s) that are not images ({', '.join(others[:3])}"
                      f"{', ...' if len(others) > 3 else ''}); image suffixes: {', '.join(sorted(IMAGE_SUFFIXES))}", stacklevel=3)
    return images


@lru_cache(maxsize=1)
def synset_indices() -> dict[str, int]:
    """ImageNet-1k synset id -> class index (``n01440764`` -> 0 ... ``n15075141`` -> 999), from the synset
    list timm ships (read as a file: no download, no import)."""
    spec = importlib.util.find_spec("timm")
    folder = Path(list(spec.submodule_search_locations)[0]) if spec and spec.submodule_search_locations else Path("/nonexistent")
    path = folder / "data" / "_info" / "imagenet_synsets.txt"
    if not path.is_file():
        raise ImageDataError("the ImageNet synset list comes from timm (timm/data/_info/imagenet_synsets.txt): `pip install timm`")
    synsets = path.read_text().split()
    if len(synsets) != NUM_CLASSES:
        raise ImageDataError(f"{path} lists {len(synsets)} synsets, expected {NUM_CLASSES}")
    return {name: index for index, name in enumerate(synsets)}


def parse_label(text: str, where: str, what: str = "") -> int:
    """A class label as written in a labels file: an integer index, or an ImageNet synset id (its index)."""
    if SYNSET.fullmatch(text):
        if text not in synset_indices():
            raise ImageDataError(f"{where}: {text!r} is not an ImageNet-1k synset{what}")
        return synset_indices()[text]
    try:
        return int(text)
    except ValueError:
        raise ImageDataError(f"{where}: label {text!r}{what} is not a class index (an integer) or a synset id (n01440764)") from None


def shared_data_dir() -> Path:
    """Where the shared ImageNet val subset lives: $ATTX_DATA_DIR or ../shared/data/imagenet-val-subset."""
    env = os.environ.get("ATTX_DATA_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "imagenet-val-subset"


def image_set_folder(name: str) -> Path | None:
    """Where the image set ``name`` is read from (None: the packaged photos), checked without reading any
    image: ``sample`` needs foolbox, ``val-subset`` the shared folder, anything else is a folder with labels.csv."""
    if name == "sample":
        if importlib.util.find_spec("foolbox") is None:
            raise ImageDataError("the packaged photos come from foolbox: `pip install --no-deps foolbox==3.3.4`")
        return None
    folder = shared_data_dir() if name == "val-subset" else Path(name)
    if not (folder / "labels.csv").is_file():
        what = f"the shared val subset ({folder}; set $ATTX_DATA_DIR)" if name == "val-subset" else f"image set {name!r}"
        raise ImageDataError(f"{what} is not a folder with labels.csv: use 'sample', 'val-subset' or a folder with labels.csv")
    return folder


def load_image_set(name: str, size: int = 224, n: int | None = None) -> ImageSet:
    """Named image sets used by the book and benchmarks: ``sample`` (packaged), ``val-subset`` (shared) or a folder."""
    folder = image_set_folder(name)
    images = sample_images(size) if folder is None else load_folder(folder, size)
    return images.subset(n)
