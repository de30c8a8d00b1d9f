"""Training objectives of the study and cached, per-epoch resumable training.

Objectives (x' is a Linf PGD point: eps, ``pgd_steps`` sign steps of ``pgd_step``, random start):

* ``natural``: CE(x).  ``pgd`` (Madry): CE(x'), x' maximising CE.
* ``ig_norm`` (RAR): CE(x) + lam*||IG(x->x')||_1, x' maximising the IG norm.
* ``ig_sum_norm`` (RAR): CE(x') + lam*||IG(x->x')||_1, x' maximising that sum.
* ``ar`` / ``adv_ar`` (Sarkar et al.): CE(x) or CE(x') + lam * regularizer(x, x'), x' maximising
  CE(x') + lam*||IG(x->x')||_1; the suffix ``_dist`` / ``_sign`` keeps one regularizer term (none: both).

The study uses eps = 8/255 for every dataset (NOTES §5; a parameter). The RAR paper used larger
MNIST / Fashion-MNIST radii (0.3 / 0.1); pass ``eps=`` to reproduce those.
Checkpoints: ``data/checkpoints/<dataset>/<objective>-<hash>.pt`` ($ATTX_CHECKPOINTS overrides the
root) with a provenance JSON beside; saved after every epoch, a restart continues from the last one.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from ..cache import REPO_ROOT, atomic_write_json, config_key, provenance
from ..validate import require
from .datasets import load_dataset, subset
from .nets import SmallCNN, make_net
from .pgd import pgd
from .regularizers import attribution_regularizer, ig_norm, inner_loss

BASE_OBJECTIVES = ("natural", "pgd", "ig_norm", "ig_sum_norm", "ar", "adv_ar")
OBJECTIVES = BASE_OBJECTIVES + ("ar_dist", "ar_sign", "adv_ar_dist", "adv_ar_sign")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (its hash names the checkpoint)."""

    objective: str = "natural"
    lam: float = 0.1
    eps: float = 8 / 255
    pgd_steps: int = 7
    pgd_step: float = 2 / 255
    ig_m: int = 20  # interpolation points of the training IGs ...
    ig_every: int = 4  # ... of which every 4th is used
    epochs: int = 1
    batch_size: int = 64
    lr: float = 1e-3
    n_train: int | None = None  # None: the whole training split
    width: float = 1.0  # net width multiplier (1.0 = paper-size net)
    seed: int = 0

    def __post_init__(self) -> None:
        require(self.objective in OBJECTIVES, f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        require(self.ig_m % self.ig_every == 0, f"ig_m ({self.ig_m}) must be a multiple of ig_every ({self.ig_every})")
        require(self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1")

    @property
    def base(self) -> str:
        """The objective without its regularizer suffix."""
        return self.objective.rsplit("_", 1)[0] if self.objective.endswith(("_dist", "_sign")) else self.objective

    @property
    def reg(self) -> str:
        """Which Sarkar et al. regularizer terms the objective uses."""
        return self.objective.rsplit("_", 1)[1] if self.objective.endswith(("_dist", "_sign")) else "both"


def batch_loss(model: SmallCNN, x: Tensor, y: Tensor, cfg: TrainConfig, generator: torch.Generator) -> Tensor:
    """The training loss of ``cfg.objective`` on one batch (a scalar)."""
    steps = cfg.ig_m // cfg.ig_every
    ce = lambda inp: F.cross_entropy(model(inp), y, reduction="none")  # noqa: E731
    base = cfg.base
    if base == "natural":
        return ce(x).mean()
    attack = {
        "pgd": ce,
        "ig_norm": lambda xa: ig_norm(model, x, xa, y, steps),
    }.get(base) or inner_loss(model, x, y, cfg.lam, steps)
    x_adv = pgd(attack, x, cfg.eps, cfg.pgd_steps, cfg.pgd_step, generator)
    if base == "pgd":
        return ce(x_adv).mean()
    if base == "ig_norm":
        return (ce(x) + cfg.lam * ig_norm(model, x, x_adv, y, steps)).mean()
    if base == "ig_sum_norm":
        return inner_loss(model, x, y, cfg.lam, steps)(x_adv).mean()
    clean = ce(x) if base == "ar" else ce(x_adv)
    return (clean + cfg.lam * attribution_regularizer(model, x, x_adv, y, cfg.reg, steps)).mean()


def checkpoint_root() -> Path:
    """Where checkpoints live: $ATTX_CHECKPOINTS or ``<repo>/data/checkpoints``."""
    return Path(os.environ.get("ATTX_CHECKPOINTS", REPO_ROOT / "data" / "checkpoints"))


def checkpoint_path(dataset: str, cfg: TrainConfig, root: Path | None = None) -> Path:
    """``<root>/<dataset>/<objective>-<hash of (dataset, cfg)>.pt``."""
    key = {"dataset": dataset, **asdict(cfg)}
    return (root or checkpoint_root()) / dataset / f"{cfg.objective}-{config_key(key)}.pt"


def _save(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def train(
    dataset: str,
    cfg: TrainConfig,
    data_root: str | os.PathLike | None = None,
    checkpoints: Path | None = None,
    progress: bool = True,
) -> SmallCNN:
    """The net trained on ``dataset`` with ``cfg`` (frozen, eval mode), from cache when complete.

    Each finished epoch is saved (model + optimiser + history); an interrupted run resumes from the
    last saved epoch. Data order and PGD starts come from generators seeded by (seed, epoch), so a
    resumed run equals an uninterrupted one.
    """
    path = checkpoint_path(dataset, cfg, checkpoints)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = make_net(dataset, cfg.width)
    optim = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    state = torch.load(path, weights_only=False) if path.is_file() else {"epoch": 0, "history": []}
    if state["epoch"]:
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
    if state["epoch"] < cfg.epochs:
        x, y = subset(*load_dataset(dataset, "train", data_root), cfg.n_train, cfg.seed)
        for epoch in range(state["epoch"], cfg.epochs):
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            order = torch.randperm(x.shape[0], generator=gen)
            start, losses = time.perf_counter(), []
            model.train().requires_grad_(True)
            batches = range(0, x.shape[0], cfg.batch_size)
            for b in tqdm(batches, desc=f"{dataset}/{cfg.objective} epoch {epoch + 1}", disable=not progress, leave=False):
                idx = order[b : b + cfg.batch_size]
                loss = batch_loss(model, x[idx], y[idx], cfg, gen)
                optim.zero_grad()
                loss.backward()
                optim.step()
                losses.append(loss.item())
            state = {
                "epoch": epoch + 1,
                "model": model.state_dict(),
                "optim": optim.state_dict(),
                "history": state["history"] + [{"epoch": epoch + 1, "loss": sum(losses) / len(losses), "seconds": time.perf_counter() - start}],
            }
            _save(path, state)
            record = provenance(dataset=dataset, config=asdict(cfg), checkpoint=path.name, epochs_done=epoch + 1, history=state["history"])
            atomic_write_json(path.with_suffix(".json"), record)
    return model.eval().requires_grad_(False)


def config(objective: str, **overrides) -> TrainConfig:
    """A :class:`TrainConfig` for ``objective`` with field overrides (ValueError on unknown fields)."""
    unknown = sorted(set(overrides) - set(TrainConfig.__dataclass_fields__))
    require(not unknown, f"unknown training option(s): {', '.join(unknown)}")
    return replace(TrainConfig(objective=objective), **overrides)
