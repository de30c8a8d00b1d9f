"""Evaluation of the study: natural / PGD accuracy and attributional robustness, and ``run_study``.

``run_study(dataset, objectives, profile)`` trains (or loads cached) nets and returns one row per
(dataset, objective): NA, AA, mean top-k intersection, Kendall tau and Spearman rho of the top-k
attack (worst restart by Kendall), the number of attacked images and the seconds spent.
``attack_methods`` goes beyond the paper: the same attack against any registered attribution
method's maps (AttEXplore, AGI, SmoothGrad, IG, ...) of one net.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
import torch
from torch import Tensor, nn

from ..validate import require
from .datasets import info, load_dataset, subset
from .nets import RGBView, to_rgb
from .pgd import pgd
from .topk_attack import AttackConfig, scaled_k, topk_attack
from .training import BASE_OBJECTIVES, OBJECTIVES, config, train

COLUMNS = ["dataset", "objective", "NA", "AA", "topk", "kendall", "spearman", "n_images", "seconds"]


@dataclass(frozen=True)
class Profile:
    """Sizes of one study run (training data, epochs, net width, evaluation and attack budgets)."""

    n_train: int | None
    epochs: int
    width: float
    n_test: int  # images for NA / AA
    n_attack: int  # correctly classified test images attacked
    pgd_eval_steps: int
    train: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides
    attack: dict[str, Any] = field(default_factory=dict)  # AttackConfig overrides (k is scaled per dataset)


PROFILES = {
    # < 4 min on 2 CPU cores for MNIST + FMNIST x the 6 base objectives (narrow net, 2 inner PGD steps)
    "quick": Profile(n_train=2048, epochs=1, width=0.25, n_test=500, n_attack=16, pgd_eval_steps=10,
                     train={"pgd_steps": 2, "pgd_step": 5 / 255, "lr": 3e-3},
                     attack={"iterations": 10, "restarts": 1, "ig_steps": 20, "attack_ig_steps": 8}),
    # the paper's settings: full training split, paper-size net, 7-step inner PGD, 100-iteration attack x 3
    "paper": Profile(n_train=None, epochs=20, width=1.0, n_test=10_000, n_attack=1000, pgd_eval_steps=40),
}


def accuracy(net: nn.Module, x: Tensor, y: Tensor) -> float:
    """Top-1 accuracy of ``net`` on (x, y)."""
    with torch.no_grad():
        return float((net(x).argmax(dim=1) == y).float().mean())


def adversarial_accuracy(net: nn.Module, x: Tensor, y: Tensor, eps: float, steps: int, seed: int = 0) -> float:
    """Accuracy under Linf PGD on the cross-entropy (random start, step 2.5*eps/steps)."""
    ce = lambda inp: torch.nn.functional.cross_entropy(net(inp), y, reduction="none")  # noqa: E731
    x_adv = pgd(ce, x, eps, steps, 2.5 * eps / steps, torch.Generator().manual_seed(seed))
    return accuracy(net, x_adv, y)


def correct_subset(net: nn.Module, x: Tensor, y: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """The first n images (in order) that ``net`` classifies correctly."""
    with torch.no_grad():
        ok = net(x).argmax(dim=1) == y
    return x[ok][:n], y[ok][:n]


def attack_config(dataset: str, profile: Profile, eps: float) -> AttackConfig:
    """The profile's attack settings for ``dataset``: k scaled to its image size, the study's eps."""
    meta = info(dataset)
    return AttackConfig(**{"k": scaled_k(meta.size * meta.size), "eps": eps, **profile.attack})


def evaluate(net: nn.Module, dataset: str, x: Tensor, y: Tensor, profile: Profile, eps: float, seed: int = 0) -> dict[str, float]:
    """NA and AA on (x, y), then the top-k attack on the first ``n_attack`` correctly classified images."""
    row: dict[str, float] = {"NA": accuracy(net, x, y), "AA": adversarial_accuracy(net, x, y, eps, profile.pgd_eval_steps, seed)}
    xa, ya = correct_subset(net, x, y, profile.n_attack)
    if xa.shape[0] == 0:
        return {**row, "topk": float("nan"), "kendall": float("nan"), "spearman": float("nan"), "n_images": 0}
    scores = topk_attack(net, xa, ya, attack_config(dataset, profile, eps), seed=seed)
    return {**row, **{m: float(scores[m].nanmean()) for m in ("topk", "kendall", "spearman")}, "n_images": int(xa.shape[0])}


def run_study(
    dataset: str | list[str],
    objectives: list[str] | tuple[str, ...] = BASE_OBJECTIVES,
    profile: str = "quick",
    seed: int = 0,
    progress: bool = True,
    eps: float = 8 / 255,
    data_root: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Train (or load) one net per objective on each dataset and evaluate it; one row per pair.

    Missing datasets raise :class:`~attx_core.robust.datasets.DatasetMissing` (the book catches it
    and shows the reason). ``eps`` is the training, PGD-evaluation and top-k attack radius.
    """
    require(profile in PROFILES, f"profile must be one of {tuple(PROFILES)}, got {profile!r}")
    bad = [o for o in objectives if o not in OBJECTIVES]
    require(not bad, f"unknown objective(s) {bad}; known: {OBJECTIVES}")
    prof = PROFILES[profile]
    datasets = [dataset] if isinstance(dataset, str) else list(dataset)
    if progress:
        print(f"profile {profile!r}: {asdict(prof)}; eps={eps:.4g}; seed={seed}")
    rows = []
    for name in datasets:
        x, y = subset(*load_dataset(name, "test", data_root), prof.n_test, seed)
        for objective in objectives:
            start = time.perf_counter()
            cfg = config(objective, epochs=prof.epochs, n_train=prof.n_train, width=prof.width, seed=seed, eps=eps, **prof.train)
            net = train(name, cfg, data_root, progress=progress)
            row = {"dataset": name, "objective": objective, **evaluate(net, name, x, y, prof, eps, seed)}
            row["seconds"] = time.perf_counter() - start
            rows.append(row)
            if progress:
                print("  " + ", ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    return pd.DataFrame(rows, columns=COLUMNS)


def attack_methods(
    net: nn.Module,
    x: Tensor,
    y: Tensor,
    methods: dict[str, dict[str, Any]],
    attack: AttackConfig = AttackConfig(),
    seed: int = 0,
) -> pd.DataFrame:
    """Beyond the paper: the top-k attack against each method's maps of ``net`` (one row per method).

    ``methods`` maps a registered method name to its parameters; maps come from
    ``attx_core.attribute`` on :class:`RGBView` (gray images repeated to 3 channels; channel-summed
    maps equal the gray net's). The ascent direction is the surrogate IG saliency on each method's own
    original top-k pixels (a transfer attack for non-differentiable methods); only images ``net``
    classifies correctly are attacked.
    """
    from .. import attribute

    view = RGBView(net)
    xa, ya = correct_subset(net.eval(), x, y, x.shape[0])
    rows = []
    for method, params in methods.items():
        start = time.perf_counter()
        explain = lambda inp, lab, m=method, p=params: attribute(view, to_rgb(inp), lab, method=m, **p)  # noqa: E731
        scores = topk_attack(net.eval(), xa, ya, attack, explain=explain, seed=seed)
        rows.append({"method": method, **{m: float(scores[m].nanmean()) for m in ("topk", "kendall", "spearman")},
                     "n_images": int(xa.shape[0]), "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


__all__ = ["COLUMNS", "PROFILES", "Profile", "accuracy", "adversarial_accuracy", "attack_methods", "evaluate", "run_study"]
