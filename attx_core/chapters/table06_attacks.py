"""Table 6: AttEXplore's integrator over the paths of other attacks (setting 'ssa' = AttEXplore as published)."""
from ..experiments.runners import attack_explorers
from .protocol import PAPER_MODELS
from .registry import Chapter, Claim, register_chapter
from .sections import whole

# Each explorer runs at its own published settings (the old Table-6 code's via preset="table6"); a shared base may only
# hold knobs every explorer has (epsilon, num_steps, ...), never N, so no explorer's defaults are overridden.
TABLE6_ATTACKS = ("none", "ssa", "pgd", "difgsm", "tifgsm", "mifgsm", "sinifgsm", "naa")

register_chapter(Chapter(
    name="table06_attacks",
    title="Table 6: AttEXplore's integrator over other attacks' paths",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=6,
    settings={"models": list(PAPER_MODELS), "base": {"preset": "table6"}, "attacks": list(TABLE6_ATTACKS)},
    profiles={"standard": {"models": ["inception_v3"]}, "quick": {"models": ["inception_v3"], "n_images": 2}},
    sections=(whole(attack_explorers, "table06_attacks", axis=("attacks",)),),
    claims=(Claim(name="table06", label="Table 6", by="setting", reference="ssa", priority=1,
                  text="AttEXplore's own exploration beats every other attack explorer and NoAttack on insertion (Table 6)."),),
))
