"""Tables 5 and 12: AttEXplore over the perturbation rate epsilon (in 1/255)."""
from .ablation_n import PAPER_BASE
from .ablation_num_steps import MINOR
from .registry import Chapter, Claim, register_chapter
from .sections import ablation_settings, ablation_table

SECTIONS = {
    "table05_epsilon": {"parameter": "epsilon", "values": [8, 16, 24, 32, 40, 48]},
    "table12_epsilon_small": {"parameter": "epsilon", "values": [1, 2, 3, 4, 5, 6, 7]},
}

register_chapter(Chapter(
    name="ablation_epsilon",
    title="Tables 5 and 12: the perturbation rate epsilon",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=5,
    settings=ablation_settings(PAPER_BASE, SECTIONS, ("inception_v3", "resnet50", "vgg16"), None),
    profiles={
        "standard": {"models": ["inception_v3"]},
        "quick": ablation_settings({"epsilon": 16 / 255, "num_steps": 5, "N": 5}, {
            "table05_epsilon": {"parameter": "epsilon", "values": [8, 16, 32, 48]},
            "table12_epsilon_small": {"parameter": "epsilon", "values": [1, 4, 7]},
        }, ("inception_v3",), 2),
    },
    sections=(
        ablation_table("table05_epsilon", "epsilon", "Table 5: epsilon = 8 ... 48 (in 1/255)"),
        ablation_table("table12_epsilon_small", "epsilon", "Table 12: epsilon < 8/255"),
    ),
    claims=(
        Claim(name="table05", label="Table 5", section="table05_epsilon", by="setting", kind="trend", direction=1, priority=1,
              text="Insertion grows with the perturbation rate epsilon (Table 5)."),
        Claim(name="table12", label="Table 12", section="table12_epsilon_small", by="setting", kind="equivalence", margin=MINOR,
              priority=3, text="Epsilon below 8/255 changes insertion only a little (Table 12; our reading): from 1/255 to 7/255 by "
                               f"less than {MINOR} (our margin)."),
    ),
))
