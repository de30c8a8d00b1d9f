"""Attributional robustness (Sarkar, Sarkar & Balasubramanian, AAAI 2021): datasets, the authors' nets,
attribution regularizers, training objectives, the Ghorbani top-k attack as the authors ran it, the
per-dataset settings table and the study runner."""
from .datasets import DATASETS, DatasetMissing, load_dataset
from .evaluate import SCALES, VERSION, attack_config, attack_methods, run_study, train_config
from .nets import RGBView, SmallCNN, SmallResNet, make_net
from .regularizers import attribution_regularizer, distribution_term, ig_change, path_ig, regularizer_terms, sign_shift_term
from .settings import SETTINGS, DatasetSettings, Optimiser, dataset_settings
from .topk_attack import AttackConfig, ig_maps, topk_attack
from .training import OBJECTIVES, TrainConfig, config, train

__all__ = [
    "DATASETS", "OBJECTIVES", "SCALES", "SETTINGS", "VERSION", "AttackConfig", "DatasetMissing", "DatasetSettings",
    "Optimiser", "RGBView", "SmallCNN", "SmallResNet", "TrainConfig", "attack_config", "attack_methods",
    "attribution_regularizer", "config", "dataset_settings", "distribution_term", "ig_change", "ig_maps",
    "load_dataset", "make_net", "path_ig", "regularizer_terms", "run_study", "sign_shift_term", "topk_attack",
    "train", "train_config",
]
