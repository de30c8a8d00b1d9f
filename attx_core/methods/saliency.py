"""Saliency map (Simonyan et al. 2014): the input gradient of the target's score."""
from __future__ import annotations

from torch import Tensor, nn

from ..engine import class_score, input_gradients
from .registry import register_method


@register_method("saliency", "input gradient of the target score (abs by default, as Captum)", passes="1")
def saliency(model: nn.Module, x: Tensor, target: Tensor, *, abs: bool = True, output: str = "prob") -> Tensor:
    grad, _ = input_gradients(model, x, target, class_score(output))
    return grad.abs() if abs else grad
