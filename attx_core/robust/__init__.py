"""Attributional robustness (Sarkar, Sarkar & Balasubramanian, AAAI 2021): datasets, small CNNs,
attribution regularizers, training objectives, the Ghorbani top-k attack and the study runner."""
from .datasets import DATASETS, DatasetMissing, load_dataset
from .evaluate import PROFILES, attack_methods, run_study
from .nets import RGBView, SmallCNN, make_net
from .regularizers import attribution_regularizer, distribution_term, path_ig, sign_shift_term
from .topk_attack import AttackConfig, ig_maps, topk_attack
from .training import OBJECTIVES, TrainConfig, train

__all__ = [
    "DATASETS", "OBJECTIVES", "PROFILES", "AttackConfig", "DatasetMissing", "RGBView", "SmallCNN", "TrainConfig",
    "attack_methods", "attribution_regularizer", "distribution_term", "ig_maps", "load_dataset", "make_net",
    "path_ig", "run_study", "sign_shift_term", "topk_attack", "train",
]
