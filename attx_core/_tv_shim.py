"""Make torchvision importable on the CPU-only torch wheel.

PyPI's torchvision 0.28.0 is a CUDA build: on the CPU torch 2.13.0 wheel its import fails with
``operator torchvision::nms does not exist``. Defining the two missing op schemas before the first
import is enough for models, transforms and datasets (only the ``torchvision.ops`` kernels stay
unavailable). Nothing is touched when the ops already exist (a matching CUDA or CPU-index install).
"""
from __future__ import annotations

import sys

import torch

_LIBRARY: torch.library.Library | None = None  # kept alive: dropping it unregisters the schemas


def ensure_torchvision_ops() -> bool:
    """Register ``torchvision::nms``/``qnms`` schemas if missing; return True when the shim was applied."""
    global _LIBRARY
    if "torchvision" in sys.modules or _LIBRARY is not None:
        return False
    if hasattr(torch.ops.torchvision, "nms"):
        return False
    _LIBRARY = torch.library.Library("torchvision", "DEF")
    _LIBRARY.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBRARY.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    return True
