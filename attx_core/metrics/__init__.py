"""Evaluation: insertion/deletion AUC, INFD, map-agreement measures, sanity checks, bootstrap CIs."""
from ..stats.bootstrap import mean_ci
from .infidelity import infidelity, infidelity_perturbation
from .insertion_deletion import InsDelResult, auc, coarser_auc, insertion_deletion, num_points
from .robustness import kendall_tau, spearman, topk_intersection
from .sanity import cascading_randomization, randomizable_layers

__all__ = [
    "InsDelResult",
    "auc",
    "cascading_randomization",
    "coarser_auc",
    "infidelity",
    "infidelity_perturbation",
    "insertion_deletion",
    "kendall_tau",
    "mean_ci",
    "num_points",
    "randomizable_layers",
    "spearman",
    "topk_intersection",
]
