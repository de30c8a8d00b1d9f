"""Natural accuracy of the natural objective at the robustness ``standard`` scale (paper-size net, the whole
training split, the profile's epochs): the check behind that scale's epoch count (NA >= 0.98 on MNIST, >= 0.88
on Fashion-MNIST, issue 14).

Usage: OMP_NUM_THREADS=1 python bench/robust_natural_na.py mnist fmnist   (~10 min per dataset on one CPU thread)
Measured 2026-11-24 (one thread, commit 884283a): 4 epochs give MNIST 0.9844, FMNIST 0.8889; 2 epochs gave
0.9768 and 0.878, too few.
"""
from __future__ import annotations

import sys
import time

import torch

from attx_core.robust import evaluate as ev
from attx_core.robust.datasets import load_dataset
from attx_core.robust.training import train


def main(datasets: list[str]) -> None:
    """Train (or load) each dataset's natural net at the standard scale and print its test accuracy."""
    torch.set_num_threads(1)
    for name in datasets:
        cfg = ev.train_config(name, "natural", ev.SCALES["standard"], 0, None, load_dataset(name, "train")[1].shape[0])
        start = time.time()
        net = train(name, cfg, progress=False)
        x, y = load_dataset(name, "test")
        print(f"{name}: {cfg.epochs} epochs, NA {ev.accuracy(net, x, y):.4f} ({time.time() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["mnist", "fmnist"])
