"""Per-dataset settings of the attributional-robustness study, as the authors' code and configs give them.

One table, :data:`SETTINGS`, holds everything that differs between datasets; training
(:func:`attx_core.robust.training.config`), evaluation and the top-k attack
(:func:`attx_core.robust.evaluate.attack_config`) read it, nothing else hard-codes these numbers.

Sources (file paths inside the repositories):

* RAR, Chen et al. 2019 (``jfc43/robust-attribution-regularization``): ``<DS>/{NATURAL,Madry,IG-NORM,
  IG-SUM-NORM}-config.json`` (eps ``epsilon``, PGD ``k``/``num_steps`` and ``a``/``step_size``, ``m``,
  ``approx_factor``, ``lambda``, ``k_top``, ``eval_k_top``, ``attribution_attack_step_size``,
  ``attribution_attack_steps``), ``<DS>/train_{nat,adv,attribution}.py`` (optimisers),
  ``<DS>/eval_attribution_attack.py`` (the top-k attack uses the training ``epsilon``),
  ``<DS>/eval_pgd_attack.py`` (AA = the training attack), ``<DS>/model.py``.
* Sarkar, Sarkar & Balasubramanian 2021 (``anirbansarkar-cs/Enhanced_regularizers_attributional_robustness``):
  Flower only. ``Flower/train_our.py`` loads ``Flower/IG-SUM-NORM-config.json`` (lambda 0.1, m 20,
  approx_factor 4, batch 1, momentum 0.9, weight decay 2e-4, lr 1e-4 / 3e-4 / 1e-4);
  ``Flower/model.py`` (outer IGs over all m points, the inner attack over every 4th).
  For MNIST, Fashion-MNIST and GTSRB no Sarkar config exists: their optimiser is RAR's attribution
  optimiser for that dataset (marked ``assumed`` in :attr:`Optimiser.source`).

Pixel values are in [0, 1] here; the GTSRB / Flower configs work on 0..255 (eps 8, step 2, attack
step 1), i.e. 8/255, 2/255 and 1/255.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..validate import require

OPTIMISERS = ("adam", "momentum")
REDUCTIONS = ("sum", "mean")
FAMILIES = ("natural", "pgd", "rar", "sarkar")  # which optimiser entry an objective uses
NETS = ("mnist_cnn", "resnet_gtsrb", "resnet_flower")


@dataclass(frozen=True)
class Optimiser:
    """How the authors optimise one family of objectives on one dataset.

    ``schedule``: piecewise-constant learning rate, ``(from_global_step, lr)`` pairs (TF
    ``piecewise_constant``); empty = ``lr`` throughout. ``weight_decay`` multiplies
    ``sum(w**2) / 2`` over conv / fc weights (TF ``l2_loss`` on the ``DW`` variables), added to the loss.
    ``reduction``: how per-example losses are combined over the batch (the TF code minimises the sum of
    cross-entropies and IG norms, except GTSRB / Flower natural and Madry training, which use the mean).
    """

    kind: str
    lr: float
    batch_size: int
    steps: int  # the authors' max_num_training_steps
    schedule: tuple[tuple[int, float], ...] = ()
    momentum: float = 0.0
    weight_decay: float = 0.0
    reduction: str = "sum"
    source: str = ""

    def __post_init__(self) -> None:
        require(self.kind in OPTIMISERS, f"optimiser kind must be one of {OPTIMISERS}, got {self.kind!r}")
        require(self.reduction in REDUCTIONS, f"reduction must be one of {REDUCTIONS}, got {self.reduction!r}")
        require(self.lr > 0 and self.batch_size >= 1 and self.steps >= 1, "lr, batch_size and steps must be positive")


@dataclass(frozen=True)
class DatasetSettings:
    """Everything dataset-specific: training attack, regularizer weights and IG points, top-k attack, optimisers."""

    name: str
    net: str
    eps: float  # training radius (Linf); also AA's and the top-k attack's radius (the authors' configs)
    pgd_steps: int
    pgd_step: float
    rar_lambda: dict[str, float]  # {"ig_norm": ..., "ig_sum_norm": ...}
    rar_every: int  # RAR's approx_factor: the inner attack uses every rar_every-th of the rar_m points
    attack_k: int  # k of the top-k attack's loss (k_top)
    eval_k: int  # k of the reported top-k intersection (eval_k_top)
    attack_step: float
    attack_iterations: int
    optimisers: dict[str, Optimiser] = field(default_factory=dict)
    rar_m: int = 50
    sarkar_lambda: float = 0.1
    sarkar_m: int = 20  # points of the outer IGs (Base, TCA, NCA, Change)
    sarkar_every: int = 4  # the inner attack uses every 4th point (m / approx_factor = 5)
    attack_times: int = 3  # the authors' attribution_attack_times (identical runs: the attack is deterministic)
    ig_steps: int = 100  # num_IG_steps of the evaluated saliency maps
    softplus_beta: float = 1.0  # tf.nn.softplus (MNIST / FMNIST); the ResNets use 0.1*x + 0.9*softplus(x)

    def __post_init__(self) -> None:
        require(self.net in NETS, f"net must be one of {NETS}, got {self.net!r}")
        require(set(self.rar_lambda) == {"ig_norm", "ig_sum_norm"}, "rar_lambda needs 'ig_norm' and 'ig_sum_norm'")
        require(set(self.optimisers) == set(FAMILIES), f"optimisers needs one entry per family {FAMILIES}")
        require(self.rar_m % self.rar_every == 0 and self.sarkar_m % self.sarkar_every == 0, "m must be a multiple of its every")

    @property
    def attack_eps(self) -> float:
        """Radius of the top-k attack: the config's ``epsilon``, the training radius."""
        return self.eps


def _rar_mnist_like(source: str) -> dict[str, Optimiser]:
    adam = lambda steps, what: Optimiser("adam", 1e-4, 50, steps, source=f"{source}/{what}")  # noqa: E731
    return {
        "natural": adam(25_000, "train_nat.py + NATURAL-config.json"),
        "pgd": adam(100_000, "train_adv.py + Madry-config.json"),
        "rar": adam(100_000, "train_attribution.py + IG-NORM/IG-SUM-NORM-config.json"),
        "sarkar": adam(100_000, "assumed: RAR's train_attribution.py (no Sarkar et al. config for this dataset)"),
    }


def _momentum(schedule: tuple[tuple[int, float], ...], batch: int, steps: int, reduction: str, source: str) -> Optimiser:
    return Optimiser("momentum", schedule[0][1], batch, steps, schedule, momentum=0.9, weight_decay=2e-4, reduction=reduction, source=source)


_GTSRB_LR = ((0, 1e-3), (500, 1e-2), (60_000, 1e-3))
_FLOWER_NAT_LR = ((0, 1e-3), (500, 1e-2), (60_000, 1e-3))
_FLOWER_RAR_LR = ((0, 1e-4), (500, 1e-3), (60_000, 1e-4))
_FLOWER_SARKAR_LR = ((0, 1e-4), (500, 3e-4), (60_000, 1e-4))

SETTINGS: dict[str, DatasetSettings] = {
    "mnist": DatasetSettings(
        "mnist", "mnist_cnn", eps=0.3, pgd_steps=40, pgd_step=0.01,
        rar_lambda={"ig_norm": 1.0, "ig_sum_norm": 0.1}, rar_every=5,
        attack_k=200, eval_k=100, attack_step=0.01, attack_iterations=100,
        optimisers=_rar_mnist_like("RAR MNIST"),
    ),
    "fmnist": DatasetSettings(
        "fmnist", "mnist_cnn", eps=0.1, pgd_steps=20, pgd_step=0.01,
        rar_lambda={"ig_norm": 1.0, "ig_sum_norm": 0.1}, rar_every=5,
        attack_k=100, eval_k=100, attack_step=0.01, attack_iterations=100,
        optimisers=_rar_mnist_like("RAR Fashion-MNIST"),
    ),
    "gtsrb": DatasetSettings(
        "gtsrb", "resnet_gtsrb", eps=8 / 255, pgd_steps=7, pgd_step=2 / 255,
        rar_lambda={"ig_norm": 1.0, "ig_sum_norm": 1.0}, rar_every=10,
        attack_k=100, eval_k=100, attack_step=1 / 255, attack_iterations=50,
        optimisers={
            "natural": _momentum(_GTSRB_LR, 64, 70_001, "mean", "RAR GTSRB/train_nat.py + NATURAL-config.json"),
            "pgd": _momentum(_GTSRB_LR, 64, 70_001, "mean", "RAR GTSRB/train_adv.py + Madry-config.json"),
            "rar": _momentum(_GTSRB_LR, 64, 70_001, "sum", "RAR GTSRB/train_attribution.py + IG-NORM/IG-SUM-NORM-config.json"),
            "sarkar": _momentum(_GTSRB_LR, 64, 70_001, "sum", "assumed: RAR GTSRB/train_attribution.py (no Sarkar et al. config for GTSRB)"),
        },
    ),
    "flower17": DatasetSettings(
        "flower17", "resnet_flower", eps=8 / 255, pgd_steps=7, pgd_step=2 / 255,
        rar_lambda={"ig_norm": 0.1, "ig_sum_norm": 0.1}, rar_every=10,
        attack_k=1000, eval_k=1000, attack_step=1 / 255, attack_iterations=100,
        optimisers={
            "natural": _momentum(_FLOWER_NAT_LR, 16, 70_001, "mean", "RAR Flower/train_nat.py + NATURAL_config.json"),
            "pgd": _momentum(_FLOWER_NAT_LR, 16, 70_001, "mean", "RAR Flower/train_adv.py + Madry-config.json"),
            "rar": _momentum(_FLOWER_RAR_LR, 16, 70_001, "sum", "RAR Flower/train_attribution.py + IG-NORM/IG-SUM-NORM-config.json"),
            "sarkar": _momentum(_FLOWER_SARKAR_LR, 1, 100_000, "sum", "Sarkar et al. Flower/train_our.py + IG-SUM-NORM-config.json"),
        },
    ),
}


def dataset_settings(name: str) -> DatasetSettings:
    """The settings of dataset ``name`` (ValueError naming the known ones otherwise)."""
    if name == "flowers102":
        raise ValueError("the study's Flower dataset is Oxford Flower-17 ('flower17', 128x128), not Flowers-102")
    require(name in SETTINGS, f"no robustness settings for dataset {name!r}; known: {', '.join(SETTINGS)}")
    return SETTINGS[name]


def family(objective: str) -> str:
    """Which optimiser / regularizer family an objective belongs to: natural, pgd, rar or sarkar."""
    base = objective.rsplit("_", 1)[0] if objective.endswith(("_dist", "_sign")) else objective
    if base in ("natural", "pgd"):
        return base
    if base in ("ig_norm", "ig_sum_norm"):
        return "rar"
    require(base in ("ar", "adv_ar"), f"unknown objective {objective!r}")
    return "sarkar"


def objective_settings(name: str, objective: str) -> dict[str, float | int]:
    """The regularizer weight and IG points of ``objective`` on dataset ``name``: ``lam``, ``ig_m``, ``ig_every``.

    RAR: lambda per dataset, m = 50 (outer IG), every ``rar_every``-th point in the inner attack;
    Sarkar et al.: lambda 0.1, m = 20 (outer IGs), every 4th in the inner attack; natural / PGD: unused (0, 1, 1).
    """
    s = dataset_settings(name)
    fam = family(objective)
    if fam == "rar":
        return {"lam": s.rar_lambda[objective], "ig_m": s.rar_m, "ig_every": s.rar_every}
    if fam == "sarkar":
        return {"lam": s.sarkar_lambda, "ig_m": s.sarkar_m, "ig_every": s.sarkar_every}
    return {"lam": 0.0, "ig_m": 1, "ig_every": 1}


__all__ = ["DatasetSettings", "FAMILIES", "Optimiser", "SETTINGS", "dataset_settings", "family", "objective_settings"]
