"""Tables 4 and 11: AttEXplore over the number of attack iterations num_steps."""
from .ablation_n import PAPER_BASE
from .registry import Chapter, Claim, register_chapter
from .sections import ablation_settings, ablation_table

SECTIONS = {
    "table04_num_steps": {"parameter": "num_steps", "values": [5, 10, 15, 20, 25, 30]},
    "table11_num_steps_small": {"parameter": "num_steps", "values": [1, 2, 3, 4]},
}
# "Minor influence" as an equivalence margin: the paper calls a spread of at most 0.006 insertion minor (its
# Tables 4 and 12); +-0.01 allows for that and is a fifth of AttEXplore's smallest Table-1 lead (+0.049 over AGI).
MINOR = 0.01

register_chapter(Chapter(
    name="ablation_num_steps",
    title="Tables 4 and 11: the number of attack iterations num_steps",
    part="AttEXplore (ICLR 2024): the paper's tables",
    order=4,
    settings=ablation_settings(PAPER_BASE, SECTIONS, ("inception_v3", "resnet50", "vgg16"), None),
    profiles={
        "standard": {"models": ["inception_v3"]},
        "quick": ablation_settings({"epsilon": 16 / 255, "num_steps": 10, "N": 4}, {
            "table04_num_steps": {"parameter": "num_steps", "values": [5, 10, 20]},
            "table11_num_steps_small": {"parameter": "num_steps", "values": [1, 2, 4]},
        }, ("inception_v3",), 2),
    },
    sections=(
        ablation_table("table04_num_steps", "num_steps", "Table 4: num_steps = 5 ... 30"),
        ablation_table("table11_num_steps_small", "num_steps", "Table 11: num_steps < 5"),
    ),
    claims=(
        Claim(name="table04", label="Table 4", section="table04_num_steps", by="setting", kind="equivalence", margin=MINOR, priority=1,
              text="num_steps has only a minor influence on insertion (Table 4): from 5 to 30 iterations it moves by less than "
                   f"{MINOR} (our margin)."),
        Claim(name="table11", label="Table 11", section="table11_num_steps_small", by="setting", kind="trend", direction=1, priority=3,
              text="Insertion grows over the first attack iterations, 1 to 4 (Table 11; our reading)."),
    ),
))
