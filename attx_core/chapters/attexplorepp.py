"""AttEXplore++: ten transferable attacks as explorers, their sensitivity to epsilon, DP and beta, and the seed."""
from __future__ import annotations

from typing import Any

import pandas as pd

from ..experiments.runners import ablation, attack_explorers, seed_stability
from .protocol import PAPER_METHODS
from .registry import Chapter, Claim, Section, register_chapter

ATTACKS = ("fgsm", "pgd", "mifgsm", "difgsm", "tifgsm", "sinifgsm", "naa", "ssa", "mig", "gra")
TRANSFER = tuple(a for a in ATTACKS if a != "ssa")  # the explorers AttEXplore++ adds to AttEXplore's (SSA)
# epsilon in 1/255; beta is GRA's sampling radius; DP = di_prob, the input-diversity probability of the SSA explorer.
SENSITIVITY = {"epsilon": {"values": [8, 16, 32, 48]}, "di_prob": {"values": [0.1, 0.5, 0.9]}, "beta": {"values": [2.0, 3.5, 5.0], "attack": "gra"}}


def _run(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cfg.items() if k not in ("attacks", "sensitivity", "seeds")}


def _explorers(cfg: dict[str, Any], opts: dict[str, Any]) -> pd.DataFrame:
    return attack_explorers(**_run(cfg), attacks=cfg["attacks"], **opts)


def _sensitivity(parameter: str) -> Section:
    def run(cfg: dict[str, Any], opts: dict[str, Any]) -> pd.DataFrame:
        spec = cfg["sensitivity"][parameter]
        base = {**cfg["base"], "attack": spec.get("attack", "ssa")}
        return ablation(**{**_run(cfg), "base": base, "method": "attexplore"}, parameter=parameter, values=spec["values"], **opts)

    return Section(parameter, run, axis=("sensitivity", parameter, "values"), parameter=parameter)


def _seeds(cfg: dict[str, Any], opts: dict[str, Any]) -> pd.DataFrame:
    return seed_stability(**_run(cfg), method="attexplore", params=cfg["base"], seeds=cfg["seeds"], **opts)


EXPLORERS_MEAN = "AttEXplore++ (mean of the nine transfer explorers)"
OTHERS_MEAN = "other methods (mean of Table 1's ten rivals)"

register_chapter(Chapter(
    name="attexplorepp",
    title="AttEXplore++: ten transferable attacks as explorers",
    part="Beyond the tables",
    order=1,
    settings={"models": ["inception_v3", "resnet50", "vgg16", "maxvit_t", "vit_b_16"], "base": {"epsilon": 16 / 255},
              "attacks": list(ATTACKS), "sensitivity": SENSITIVITY, "seeds": [0, 1, 2, 3407]},
    profiles={
        "standard": {"models": ["inception_v3"]},
        "quick": {"models": ["inception_v3"], "n_images": 2, "base": {},
                  "sensitivity": {"epsilon": {"values": [8, 32]}, "di_prob": {"values": [0.1, 0.9]}, "beta": {"values": [2.0, 5.0], "attack": "gra"}},
                  "seeds": [0, 1, 2]},
    },
    sections=(Section("explorers", _explorers, axis=("attacks",)), *(_sensitivity(p) for p in SENSITIVITY),
              Section("seeds", _seeds, axis=("seeds",))),
    claims=(
        Claim(name="attexplorepp", label="AttEXplore++", section="explorers", by="setting", reference=EXPLORERS_MEAN, rivals=("ssa",),
              pools={EXPLORERS_MEAN: TRANSFER}, kind="relative", effect=0.0757, priority=2,
              text="The transferable-attack explorers improve AttEXplore's insertion by 7.57% on average (AttEXplore++ abstract)."),
        Claim(name="attexplorepp_others", label="AttEXplore++ vs others", section="explorers", by="setting", reference=EXPLORERS_MEAN,
              rivals=(OTHERS_MEAN,), pools={EXPLORERS_MEAN: TRANSFER, OTHERS_MEAN: tuple(m for m in PAPER_METHODS if m != "attexplore")},
              rivals_from="table01_insdel", kind="relative", effect=0.3262, priority=2,
              text="AttEXplore++ improves insertion by 32.62% over the other state-of-the-art methods (AttEXplore++ abstract; "
                   "ours: the nine explorers' mean against Table 1's ten rivals on the same images)."),
    ),
))
