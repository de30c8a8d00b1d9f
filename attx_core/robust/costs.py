"""Measured costs of the robustness study, and the hours a robustness scale takes from them.

Seconds per training step of each objective (the scale's net, batch size, PGD and IG points; one timed
step after a small warm-up step, on random inputs of the dataset's shape: a step's cost does not depend on
the pixel values) and seconds per attacked image of the top-k attack (two iteration counts timed, so the
fixed part and the per-iteration part separate). On the CPU the seconds are the process's CPU time (what a
CPU-hour counts, not inflated when other jobs share the cores); on a GPU, wall time. :func:`projected_hours` turns them into the hours of a
scale's run: training steps x seconds per step, the top-k attack on its images, and AA's PGD on the test
images (priced as PGD training steps, which run the same attack). ``attx bench --robustness`` stores the
measurement in ``data/bench/robust-<device>.json``; the robustness page reads it.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any

import torch

from ..store import REPO_ROOT
from ..validate import require
from .datasets import info
from .evaluate import SCALES, Scale, attack_config, train_config
from .nets import make_net
from .settings import dataset_settings
from .topk_attack import topk_attack
from .training import BASE_OBJECTIVES, _optimiser, batch_loss

# training / test split sizes of the datasets (the authors' splits; Flower-17: 72 / 8 images per class)
SPLIT_SIZES = {"mnist": (60_000, 10_000), "fmnist": (60_000, 10_000), "gtsrb": (39_209, 12_630), "flower17": (1_224, 136)}


def _inputs(dataset: str, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    meta = info(dataset)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, meta.channels, meta.size, meta.size, generator=gen)
    return x.to(device), torch.randint(0, meta.num_classes, (n,), generator=gen).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _clock(device: torch.device) -> float:
    """CPU time of this process on the CPU, wall time on a GPU (its work runs outside the process's CPU time)."""
    return time.perf_counter() if device.type == "cuda" else time.process_time()


def step_seconds(dataset: str, objective: str, scale: Scale, device: torch.device) -> float:
    """Seconds of one training step of ``objective`` on ``dataset`` at ``scale``'s settings."""
    n_train = SPLIT_SIZES[dataset][0]
    cfg = train_config(dataset, objective, scale, n_train_total=n_train)
    net = make_net(dataset, cfg.width, cfg.init).to(device).train()
    optim = _optimiser(net, cfg)
    gen = torch.Generator().manual_seed(0)
    x, y = _inputs(dataset, cfg.batch_size, device)
    for size in (min(2, cfg.batch_size), cfg.batch_size):  # warm-up on two images, then the timed step
        _sync(device)
        start = _clock(device)
        loss = batch_loss(net, x[:size], y[:size], cfg, gen)
        optim.zero_grad()
        loss.backward()
        optim.step()
        _sync(device)
        seconds = _clock(device) - start
    return seconds


def attack_seconds(dataset: str, scale: Scale, device: torch.device, n_images: int = 2) -> dict[str, float]:
    """Seconds per attacked image of the top-k attack at ``scale``'s settings: ``fixed`` (the clean maps,
    the scoring) and ``per_iteration``, from runs of 1 and 3 iterations on ``n_images`` images; ``total``
    = fixed + iterations x per_iteration."""
    cfg = attack_config(dataset, scale)
    net = make_net(dataset, scale.width).to(device).eval().requires_grad_(False)
    x, _ = _inputs(dataset, n_images, device)
    with torch.no_grad():
        y = net(x).argmax(dim=1)  # the attack takes correctly classified images: label them as the net does
    times = {}
    for iterations in (1, 3):
        _sync(device)
        start = _clock(device)
        topk_attack(net, x, y, type(cfg)(**{**cfg.__dict__, "iterations": iterations}))
        _sync(device)
        times[iterations] = (_clock(device) - start) / n_images
    per_iteration = max(0.0, (times[3] - times[1]) / 2)
    fixed = max(0.0, times[1] - per_iteration)
    return {"fixed": fixed, "per_iteration": per_iteration, "iterations": cfg.iterations, "total": fixed + cfg.iterations * per_iteration}


def measure(datasets: list[str], objectives: list[str], scale: str = "paper", device: str | torch.device = "cpu") -> dict[str, Any]:
    """Measured seconds per training step (per dataset and objective) and per attacked image (per dataset)."""
    require(scale in SCALES, f"robustness scale must be one of {tuple(SCALES)}, got {scale!r}")
    dev = torch.device(device)
    spec = SCALES[scale]
    out: dict[str, Any] = {"profile": scale, "step_seconds": {}, "attack": {}, "batch_size": {}}  # stored files name the scale "profile"
    for dataset in datasets:
        out["step_seconds"][dataset] = {o: step_seconds(dataset, o, spec, dev) for o in objectives}
        out["batch_size"][dataset] = {o: train_config(dataset, o, spec, n_train_total=SPLIT_SIZES[dataset][0]).batch_size for o in objectives}
        out["attack"][dataset] = attack_seconds(dataset, spec, dev)
    return out


def projected_hours(costs: dict[str, Any], dataset: str, objective: str, scale: str) -> dict[str, float]:
    """Hours of one (dataset, objective) run of robustness ``scale`` from measured ``costs`` (see
    :func:`measure`; measured at another scale's net width they are an estimate): ``train``, ``aa``,
    ``attack`` and ``total``. The attack is priced at ``scale``'s own iteration count."""
    spec = SCALES[scale]
    n_train, n_test = SPLIT_SIZES[dataset]
    cfg = train_config(dataset, objective, spec, n_train_total=n_train)
    n = min(n_train, spec.n_train or n_train)
    steps = cfg.epochs * math.ceil(n / cfg.batch_size)
    step = costs["step_seconds"][dataset][objective] * cfg.batch_size / costs["batch_size"][dataset][objective]
    pgd_per_sample = costs["step_seconds"][dataset].get("pgd", math.nan) / costs["batch_size"][dataset].get("pgd", 1)
    aa_steps = spec.pgd_eval_steps or dataset_settings(dataset).pgd_steps
    measured = SCALES[costs.get("profile", scale)]  # the scale the costs were measured at: its pgd step ran its PGD steps
    train_steps = train_config(dataset, "pgd", measured, n_train_total=n_train).pgd_steps
    aa = (spec.n_test or n_test) * pgd_per_sample * (aa_steps + 1) / (train_steps + 1)
    att = costs["attack"][dataset]
    iterations = attack_config(dataset, spec).iterations
    n_attack = spec.n_attack or n_test
    attack = n_attack * (att["fixed"] + iterations * att["per_iteration"])
    hours = {"steps": steps, "train": steps * step / 3600, "aa": aa / 3600, "attack": attack / 3600}
    hours["total"] = hours["train"] + hours["aa"] + hours["attack"]
    return hours


def measured_hours(scale: str, dataset: str, objectives: tuple[str, ...] = BASE_OBJECTIVES) -> float | None:
    """Projected CPU-hours of ``objectives`` on ``dataset`` at robustness scale ``scale`` from its committed one-thread
    measurement (``data/bench/robust-cpu-1t.json``, run ``scale``); None when not measured."""
    path = REPO_ROOT / "data" / "bench" / "robust-cpu-1t.json"
    runs = json.loads(path.read_text()).get("runs", {}) if path.is_file() else {}
    if scale not in runs or dataset not in runs[scale]["step_seconds"]:
        return None
    return sum(projected_hours(runs[scale], dataset, o, scale)["total"] for o in objectives)


__all__ = ["SPLIT_SIZES", "attack_seconds", "measure", "measured_hours", "projected_hours", "step_seconds"]
