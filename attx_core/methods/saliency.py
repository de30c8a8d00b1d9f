"""Saliency map (Simonyan et al. 2014): the input gradient of the target's score.

Table 1's "SaliencyMap" row is the published ``saliencymap`` function (``saliency/core/saliencymap.py``:
Captum ``Saliency(model).attribute(data, target)``, whose default is ``abs=True``) on the softmax model.
The published ``sm`` function (``saliency/core/sm.py``) is the same gradient without the abs.
"""
from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from ..engine import OUTPUTS, class_score, input_gradients
from ..validate import require_choice
from .registry import register_method


def _check(p: dict[str, Any]) -> None:
    require_choice("output", p["output"], OUTPUTS)


@register_method(
    "saliency",
    "input gradient of the target score (abs by default, as Captum)",
    passes="1",
    published="saliency/core/saliencymap.py (Table 1's SaliencyMap): Captum Saliency on the softmax model with its "
    "default abs=True: |d p_y / d x|, target = label.",
    options={
        "abs=False": "the signed gradient: the published 'sm' function (saliency/core/sm.py, Captum abs=False)",
        "output='logit'": "gradient of the target logit instead of its softmax probability",
    },
    conformance="tests/test_conformance_baselines.py",
    check=_check,
)
def saliency(model: nn.Module, x: Tensor, target: Tensor, *, abs: bool = True, output: str = "prob") -> Tensor:
    """``|grad|`` (or the signed ``grad`` with ``abs=False``) of the target's probability or logit."""
    grad, _ = input_gradients(model, x, target, class_score(output))
    return grad.abs() if abs else grad
