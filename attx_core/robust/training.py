"""Training objectives of the study and cached, per-epoch resumable training.

Objectives (x' is a Linf PGD point: eps, ``pgd_steps`` sign steps of ``pgd_step``, random start;
m = ``ig_m`` IG points, the inner attack uses every ``ig_every``-th, i.e. m / ig_every points):

* ``natural``: CE(x).  ``pgd`` (Madry): CE(x'), x' maximising CE.
* ``ig_norm`` (RAR IG-NORM): CE(x) + lam*||IG(x->x')||_1 (m points), x' maximising the IG norm (m/every points).
* ``ig_sum_norm`` (RAR IG-SUM-NORM): CE(x') + lam*||IG(x->x')||_1, x' maximising CE(x') + lam*||IG||_1.
* ``ar`` / ``adv_ar`` (Sarkar et al.): CE(x) or CE(x') + lam * regularizer(x, x') (m = 20 points), x'
  maximising CE(x') + lam*||IG(x->x')||_1 (5 points); the suffix ``_dist`` / ``_sign`` keeps one
  regularizer term (none: both).

:func:`config` fills every setting from the per-dataset table (:mod:`attx_core.robust.settings`):
eps / PGD steps, lambda and m per objective family, the authors' optimiser (Adam, or momentum SGD
with a piecewise-constant schedule and L2 weight decay), batch size and the loss's batch reduction.
``eps_warmup`` (not in the authors' code) ramps the PGD radius linearly from 0 over that fraction of the
training steps, so short runs at MNIST's eps 0.3 leave chance accuracy.
The history of a checkpoint records, per epoch, the mean loss and the mean size of every loss term
(``ce``, ``ig_norm``, ``dist``, ``sign``) and their values on the epoch's first batch (epoch 1: at
initialisation).
Checkpoints: ``data/checkpoints/<dataset>/<objective>-<hash>.pt`` ($ATTX_CHECKPOINTS overrides the
root) with a provenance JSON beside; saved after every epoch, a restart continues from the last one.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..store import REPO_ROOT, atomic_write_json, config_key, provenance
from ..validate import require
from .datasets import load_dataset, subset
from .nets import INITS, make_net
from .pgd import pgd
from .regularizers import ig_norm, inner_loss, regularizer_terms
from .settings import OPTIMISERS, REDUCTIONS, dataset_settings, family, objective_settings

PRIOR_OBJECTIVES = ("natural", "pgd", "ig_norm", "ig_sum_norm")  # before Sarkar et al.: what their regularisers are compared with
BASE_OBJECTIVES = PRIOR_OBJECTIVES + ("ar", "adv_ar")
OBJECTIVES = BASE_OBJECTIVES + ("ar_dist", "ar_sign", "adv_ar_dist", "adv_ar_sign")
TERMS = ("ce", "ig_norm", "dist", "sign")  # loss terms recorded in the training history (raw, before lambda)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (its hash names the checkpoint).

    Defaults are MNIST's (see :func:`config` for any dataset); ``lr_schedule`` = ``(from_step, lr)``
    pairs over the global step (empty: ``lr`` throughout); ``weight_decay`` multiplies sum(w**2)/2 over
    conv / fc weights; ``reduction`` combines per-example losses over the batch ("sum" as the TF code).
    """

    objective: str = "natural"
    lam: float = 0.0
    eps: float = 0.3
    pgd_steps: int = 40
    pgd_step: float = 0.01
    ig_m: int = 1  # interpolation points of the outer IGs ...
    ig_every: int = 1  # ... of which every ig_every-th is used by the inner attack
    epochs: int = 1
    batch_size: int = 50
    lr: float = 1e-4
    optimiser: str = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_schedule: tuple[tuple[int, float], ...] = ()
    reduction: str = "sum"
    n_train: int | None = None  # None: the whole training split
    width: float = 1.0  # net width multiplier (1.0 = paper-size net)
    init: str = "authors"
    seed: int = 0
    eps_warmup: float = 0.0  # fraction of the training steps over which the radius grows linearly to eps (0: none, as the authors)

    def __post_init__(self) -> None:
        require(self.objective in OBJECTIVES, f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        require(self.ig_m >= 1 and self.ig_every >= 1 and self.ig_m % self.ig_every == 0,
                f"ig_m ({self.ig_m}) must be a positive multiple of ig_every ({self.ig_every})")
        require(self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be >= 1")
        require(self.optimiser in OPTIMISERS, f"optimiser must be one of {OPTIMISERS}, got {self.optimiser!r}")
        require(self.reduction in REDUCTIONS, f"reduction must be one of {REDUCTIONS}, got {self.reduction!r}")
        require(self.init in INITS, f"init must be one of {INITS}, got {self.init!r}")
        require(self.eps > 0 and self.pgd_steps >= 0 and self.pgd_step > 0, "eps and pgd_step must be > 0, pgd_steps >= 0")
        require(0.0 <= self.eps_warmup <= 1.0, f"eps_warmup must be a fraction of the training steps in [0, 1], got {self.eps_warmup}")

    @property
    def base(self) -> str:
        """The objective without its regularizer suffix."""
        return self.objective.rsplit("_", 1)[0] if self.objective.endswith(("_dist", "_sign")) else self.objective

    @property
    def reg(self) -> str:
        """Which Sarkar et al. regularizer terms the objective uses."""
        return self.objective.rsplit("_", 1)[1] if self.objective.endswith(("_dist", "_sign")) else "both"

    def at_step(self, step: int, total: int) -> TrainConfig:
        """The config of global step ``step`` of ``total``: during the warm-up the radius and the PGD step are
        (step + 1) / (warm-up steps) of the full ones (Madry-style MNIST training ramps eps so the net can start learning)."""
        ramp = self.eps_warmup * total
        if step + 1 >= ramp:
            return self
        return replace(self, eps=self.eps * (step + 1) / ramp, pgd_step=self.pgd_step * (step + 1) / ramp)

    def lr_at(self, step: int) -> float:
        """The learning rate at global step ``step`` (piecewise constant)."""
        lr = self.lr
        for start, value in self.lr_schedule:
            if step >= start:
                lr = value
        return lr


def batch_terms(model: nn.Module, x: Tensor, y: Tensor, cfg: TrainConfig, generator: torch.Generator) -> tuple[Tensor, dict[str, Tensor]]:
    """The per-example training loss of ``cfg.objective`` on one batch (B,) and its raw terms (each (B,)):
    ``ce`` (the CE that is optimised, at x or x'), ``ig_norm`` (RAR), ``dist`` / ``sign`` (Sarkar et al.)."""
    outer, inner = cfg.ig_m, cfg.ig_m // cfg.ig_every
    ce = lambda inp: F.cross_entropy(model(inp), y, reduction="none")  # noqa: E731
    base = cfg.base
    if base == "natural":
        loss = ce(x)
        return loss, {"ce": loss}
    attack = {
        "pgd": ce,
        "ig_norm": lambda xa: ig_norm(model, x, xa, y, inner),
    }.get(base) or inner_loss(model, x, y, cfg.lam, inner)
    x_adv = pgd(attack, x, cfg.eps, cfg.pgd_steps, cfg.pgd_step, generator)
    if base == "pgd":
        loss = ce(x_adv)
        return loss, {"ce": loss}
    clean = ce(x) if base in ("ig_norm", "ar") else ce(x_adv)
    if base in ("ig_norm", "ig_sum_norm"):
        norm = ig_norm(model, x, x_adv, y, outer)
        return clean + cfg.lam * norm, {"ce": clean, "ig_norm": norm}
    terms = regularizer_terms(model, x, x_adv, y, cfg.reg, outer)
    return clean + cfg.lam * sum(terms.values()), {"ce": clean, **terms}


def weight_decay_loss(model: nn.Module) -> Tensor:
    """sum(w**2)/2 over conv and fc weights (TF ``l2_loss`` of the ``DW`` variables; biases excluded)."""
    return sum((p * p).sum() / 2 for p in model.parameters() if p.dim() > 1)


def batch_loss(model: nn.Module, x: Tensor, y: Tensor, cfg: TrainConfig, generator: torch.Generator,
               terms: dict[str, float] | None = None) -> Tensor:
    """The training loss of ``cfg.objective`` on one batch (a scalar: ``cfg.reduction`` of the per-example
    losses, plus weight decay). ``terms``, when given, receives the mean of each raw term (floats)."""
    per_example, parts = batch_terms(model, x, y, cfg, generator)
    if terms is not None:
        terms.update({name: float(v.detach().mean()) for name, v in parts.items()})
    loss = per_example.sum() if cfg.reduction == "sum" else per_example.mean()
    return loss + cfg.weight_decay * weight_decay_loss(model) if cfg.weight_decay else loss


def checkpoint_root() -> Path:
    """Where checkpoints live: $ATTX_CHECKPOINTS or ``<repo>/data/checkpoints``."""
    return Path(os.environ.get("ATTX_CHECKPOINTS", REPO_ROOT / "data" / "checkpoints"))


KEY_OMITS_DEFAULT = ("eps_warmup",)  # fields added after checkpoints were written: out of the hash at their default (names kept)


def checkpoint_path(dataset: str, cfg: TrainConfig, root: Path | None = None) -> Path:
    """``<root>/<dataset>/<objective>-<hash of (dataset, cfg)>.pt``."""
    key = {"dataset": dataset, **{k: v for k, v in asdict(cfg).items() if not (k in KEY_OMITS_DEFAULT and v == getattr(TrainConfig, k))}}
    return (root or checkpoint_root()) / dataset / f"{cfg.objective}-{config_key(key)}.pt"


def _save(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _optimiser(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimiser == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr_at(0))
    return torch.optim.SGD(model.parameters(), lr=cfg.lr_at(0), momentum=cfg.momentum)  # TF MomentumOptimizer: v = m*v + g


def _mean_terms(rows: list[dict[str, float]]) -> dict[str, float]:
    names = [t for t in TERMS if any(t in r for r in rows)]
    return {t: sum(r[t] for r in rows if t in r) / sum(1 for r in rows if t in r) for t in names}


def train(
    dataset: str,
    cfg: TrainConfig,
    data_root: str | os.PathLike | None = None,
    checkpoints: Path | None = None,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """The net trained on ``dataset`` with ``cfg`` (frozen, eval mode), from cache when complete.

    Each finished epoch is saved (model + optimiser + global step + history); an interrupted run resumes
    from the last saved epoch. Data order and PGD starts come from generators seeded by (seed, epoch), so a
    resumed run equals an uninterrupted one. History entries: ``epoch``, ``loss``, ``seconds``, ``steps``,
    ``terms`` (epoch means of :data:`TERMS`) and ``first_terms`` (the epoch's first batch, before its step).
    ``device``: where the net trains (data order and PGD starts are drawn on the CPU, so a GPU run draws the
    same ones); checkpoints are stored for the CPU.
    """
    path = checkpoint_path(dataset, cfg, checkpoints)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = make_net(dataset, cfg.width, cfg.init).to(device)
    optim = _optimiser(model, cfg)
    state = torch.load(path, weights_only=False, map_location=device) if path.is_file() else {"epoch": 0, "step": 0, "history": []}
    if state["epoch"]:
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
    if state["epoch"] < cfg.epochs:
        x, y = subset(*load_dataset(dataset, "train", data_root), cfg.n_train, cfg.seed)
        step = state.get("step", 0)
        total = cfg.epochs * math.ceil(x.shape[0] / cfg.batch_size)
        for epoch in range(state["epoch"], cfg.epochs):
            gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            order = torch.randperm(x.shape[0], generator=gen)
            start, losses, rows = time.perf_counter(), [], []
            model.train().requires_grad_(True)
            batches = range(0, x.shape[0], cfg.batch_size)
            for b in tqdm(batches, desc=f"{dataset}/{cfg.objective} epoch {epoch + 1}", disable=not progress, leave=False):
                idx = order[b : b + cfg.batch_size]
                for group in optim.param_groups:
                    group["lr"] = cfg.lr_at(step)
                terms: dict[str, float] = {}
                loss = batch_loss(model, x[idx].to(device), y[idx].to(device), cfg.at_step(step, total), gen, terms)
                optim.zero_grad()
                loss.backward()
                optim.step()
                losses.append(loss.item())
                rows.append(terms)
                step += 1
            entry = {"epoch": epoch + 1, "loss": sum(losses) / len(losses), "seconds": time.perf_counter() - start,
                     "steps": step, "terms": _mean_terms(rows), "first_terms": rows[0]}
            state = {"epoch": epoch + 1, "step": step, "model": _to_cpu(model.state_dict()), "optim": _to_cpu(optim.state_dict()),
                     "history": state["history"] + [entry]}
            _save(path, state)
            record = provenance(dataset=dataset, config=asdict(cfg), checkpoint=path.name, epochs_done=epoch + 1, history=state["history"])
            atomic_write_json(path.with_suffix(".json"), record)
    return model.eval().requires_grad_(False)


def _to_cpu(state: object) -> object:
    """A (nested) state dict with every tensor on the CPU: checkpoints load anywhere."""
    if isinstance(state, Tensor):
        return state.cpu()
    if isinstance(state, dict):
        return {k: _to_cpu(v) for k, v in state.items()}
    if isinstance(state, list):
        return [_to_cpu(v) for v in state]
    return state


def history(dataset: str, cfg: TrainConfig, checkpoints: Path | None = None) -> list[dict]:
    """The training history stored with the checkpoint of (dataset, cfg) ([] when not trained yet)."""
    path = checkpoint_path(dataset, cfg, checkpoints)
    return torch.load(path, weights_only=False, map_location="cpu")["history"] if path.is_file() else []


def config(objective: str, dataset: str = "mnist", **overrides) -> TrainConfig:
    """The :class:`TrainConfig` of ``objective`` on ``dataset`` from the per-dataset table
    (:mod:`attx_core.robust.settings`), then field ``overrides`` (ValueError on unknown fields).

    Overriding ``pgd_steps`` without ``pgd_step`` keeps the attack's total travel: pgd_step becomes
    table step * table steps / pgd_steps (e.g. MNIST 40 x 0.01 -> 2 x 0.2).
    """
    unknown = sorted(set(overrides) - set(TrainConfig.__dataclass_fields__))
    require(not unknown, f"unknown training option(s): {', '.join(unknown)}")
    require(objective in OBJECTIVES, f"objective must be one of {OBJECTIVES}, got {objective!r}")
    s = dataset_settings(dataset)
    opt = s.optimisers[family(objective)]
    fields = {
        "objective": objective, "eps": s.eps, "pgd_steps": s.pgd_steps, "pgd_step": s.pgd_step,
        **objective_settings(dataset, objective),
        "batch_size": opt.batch_size, "lr": opt.lr, "optimiser": opt.kind, "momentum": opt.momentum,
        "weight_decay": opt.weight_decay, "lr_schedule": tuple(opt.schedule), "reduction": opt.reduction,
    }
    if "pgd_steps" in overrides and "pgd_step" not in overrides and overrides["pgd_steps"] > 0:
        fields["pgd_step"] = s.pgd_step * s.pgd_steps / overrides["pgd_steps"]
    if "lr" in overrides and "lr_schedule" not in overrides:
        fields["lr_schedule"] = ()  # an explicit lr replaces the schedule
    return replace(TrainConfig(), **{**fields, **overrides})
