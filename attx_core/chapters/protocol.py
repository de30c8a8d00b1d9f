"""The paper's protocol, shared by several chapters: its models, its insertion/deletion settings and its method
settings (reference NOTES section 3), plus the reduced method settings of the ``quick`` profile.

Paper settings (seed 004, Section 5.1) use epsilon 48/255 for AttEXplore; the published code's default is 16/255
(reference NOTES section 1). The ablations (Tables 3, 4 and 6) run at 16, as the paper states.
"""
from __future__ import annotations

from typing import Any

PAPER_MODELS = ("inception_v3", "resnet50", "vgg16")
# Insertion/deletion: the reference's 224 pixels per step, zero substrate, channel-union order.
PAPER_INSDEL = {"step": 224, "substrate": "zeros", "order": "reference"}
QUICK_INSDEL = {"step": 224 * 16, "substrate": "zeros", "order": "reference"}

# The methods of Table 1 with the paper's settings; {} = the method's (published) defaults.
PAPER_METHODS: dict[str, dict[str, Any]] = {
    "gradcam": {},
    "big": {},
    "saliency": {},
    "deeplift": {},
    "guided_ig": {},
    "expected_gradients": {"background": "evaluation_set"},
    "fast_ig": {},
    "ig": {},
    "smoothgrad": {},
    "agi": {},
    "attexplore": {"epsilon": 48 / 255},
}
# Cheaper settings for the quick profile (parameter names as the methods declare them).
QUICK_METHODS: dict[str, dict[str, Any]] = {
    "gradcam": {},
    "big": {"num_steps": 5, "steps": 20},
    "saliency": {},
    "deeplift": {},
    "guided_ig": {"steps": 20},
    "expected_gradients": {"background": "evaluation_set"},
    "fast_ig": {},
    "ig": {"steps": 20},
    "smoothgrad": {"n_samples": 10},
    "agi": {"num_classes": 4, "num_steps": 8},
    "attexplore": {"epsilon": 48 / 255, "N": 5, "num_steps": 5},
}
FPS_METHODS = ("big", "agi", "ig", "smoothgrad", "guided_ig", "attexplore")  # Table 2's six
SANITY_METHODS = ("saliency", "ig", "smoothgrad", "gradcam", "attexplore")


def pick(methods: dict[str, dict[str, Any]], names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The settings of ``names`` out of a method-settings table, in that order."""
    return {m: methods[m] for m in names}
