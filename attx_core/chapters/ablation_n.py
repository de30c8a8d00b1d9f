"""Tables 3, 9 and 10: AttEXplore over the number of spectrum samples N."""
from .registry import Chapter, Claim, register_chapter
from .sections import ablation_settings, ablation_table

PAPER_BASE = {"epsilon": 16 / 255, "num_steps": 10, "N": 20}
SECTIONS = {
    "table03_n": {"parameter": "N", "values": [10, 20, 30, 40, 50, 60]},
    "table09_n_small": {"parameter": "N", "values": list(range(1, 10))},
    "table10_n_eps48": {"parameter": "N", "values": [*range(1, 11), 20, 30, 40, 50, 60], "base": {"epsilon": 48 / 255}},
}

register_chapter(Chapter(
    name="ablation_n",
    title="Tables 3, 9 and 10: the number of spectrum samples N",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=3,
    settings=ablation_settings(PAPER_BASE, SECTIONS, ("inception_v3", "resnet50", "vgg16"), None),
    profiles={
        "standard": {"models": ["inception_v3"]},
        "quick": ablation_settings({"epsilon": 16 / 255, "num_steps": 4, "N": 20}, {
            "table03_n": {"parameter": "N", "values": [10, 20, 40]},
            "table09_n_small": {"parameter": "N", "values": [1, 3, 9]},
            "table10_n_eps48": {"parameter": "N", "values": [1, 10, 20], "base": {"epsilon": 48 / 255}},
        }, ("inception_v3",), 2),
    },
    sections=(
        ablation_table("table03_n", "N", "Table 3: N = 10 ... 60 (epsilon 16/255, num_steps 10)"),
        ablation_table("table09_n_small", "N", "Table 9: N < 10"),
        ablation_table("table10_n_eps48", "N", "Table 10: N at perturbation rate 48/255"),
    ),
    claims=(
        Claim(name="table03", label="Table 3", section="table03_n", by="setting", kind="trend", direction=1, priority=1,
              text="Insertion grows with the number of spectrum samples N (Table 3)."),
        Claim(name="table09", label="Table 9", section="table09_n_small", by="setting", kind="trend", direction=1, priority=3,
              text="Below N = 10, insertion still grows with N (Table 9; our reading of the numbers)."),
        Claim(name="table10", label="Table 10", section="table10_n_eps48", by="setting", kind="trend", direction=1, priority=3,
              text="At epsilon 48/255 insertion grows with N, more weakly (Table 10)."),
    ),
))
