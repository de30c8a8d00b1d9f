"""Attributional robustness (Sarkar, Sarkar & Balasubramanian, AAAI 2021): small nets trained six ways."""
from ..experiments.runners import robustness_study
from ..robust.evaluate import per_image_frame
from .registry import Chapter, Claim, register_chapter
from .sections import whole

OBJECTIVES = ["natural", "pgd", "ig_norm", "ig_sum_norm", "ar", "adv_ar"]
PRIOR_OBJECTIVES = ("natural", "pgd", "ig_norm", "ig_sum_norm")

register_chapter(Chapter(
    name="robustness",
    title="Attributional robustness (Sarkar, Sarkar & Balasubramanian, AAAI 2021)",
    part="Beyond the tables",
    order=4,
    # eps None: each dataset's own radius (attx_core.robust.settings)
    settings={"datasets": ["mnist", "fmnist", "gtsrb", "flower17"], "objectives": OBJECTIVES, "robust_profile": "paper", "eps": None},
    profiles={"standard": {"datasets": ["mnist", "fmnist"], "robust_profile": "cpu"},
              "quick": {"datasets": ["mnist", "fmnist"], "robust_profile": "quick"}},
    sections=(whole(robustness_study, axis=(), long=per_image_frame),),
    ignores=("images", "n_images", "batch_size", "insdel", "stand_ins"),  # MNIST/FMNIST nets trained here, not the ImageNet protocol
    claims=(Claim(name="robustness", label="Robustness", by="method", reference="adv_ar", rivals=PRIOR_OBJECTIVES, metric="topk",
                  priority=2, text="Sarkar et al.'s regularized training (adv_ar) keeps IG maps more robust to the top-k attack than "
                                   "natural, PGD and RAR training: 3-9% (the abstract; the paper's tables are in no stored copy)."),),
))
