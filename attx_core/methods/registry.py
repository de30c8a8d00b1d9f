"""Method registry and the one public verb, :func:`attribute` (Captum-style, timm-style registry)."""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ..engine import model_device
from ..validate import check_images, check_target

AttributionFn = Callable[..., Tensor]


@dataclass(frozen=True)
class MethodInfo:
    """A registered method: its function, its keyword defaults, a one-line description, its cost."""

    name: str
    fn: AttributionFn = field(repr=False)
    defaults: dict[str, Any]
    description: str
    passes: str = ""  # forward+backward passes per image, as a formula in the defaults' names


METHODS: dict[str, MethodInfo] = {}


def register_method(name: str, description: str, passes: str = "") -> Callable[[AttributionFn], AttributionFn]:
    """Decorator: register ``fn(model, x, target, *, **params)``; its keyword-only defaults are the method's."""

    def decorate(fn: AttributionFn) -> AttributionFn:
        if name in METHODS:
            raise ValueError(f"method {name!r} is already registered")
        params = inspect.signature(fn).parameters.values()
        defaults = {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
        METHODS[name] = MethodInfo(name, fn, defaults, description, passes)
        return fn

    return decorate


def attribute(model: nn.Module, x: Tensor, target: Tensor | int | list[int], method: str = "attexplore", **params: Any) -> Tensor:
    """Attribution map of ``target`` for images ``x`` (B,3,H,W in [0,1]) by ``method``.

    Returns a float32 tensor of x's shape on x's device. Unknown methods or parameters, and bad
    images or targets, raise ``ValueError`` naming the problem.

    Example::

        >>> import attx_core
        >>> model = attx_core.models.load("efficientnet_lite0")
        >>> x, y = attx_core.data.sample_images()
        >>> maps = attx_core.attribute(model, x[:2], y[:2], method="ig", steps=50)
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[method]
    unknown = sorted(set(params) - set(info.defaults))
    if unknown:
        raise ValueError(
            f"method {method!r} does not take parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(info.defaults)) or 'no parameters'}"
        )
    check_images(x)
    target = check_target(target, x.shape[0], getattr(model, "num_classes", None))
    device = model_device(model)
    attr = info.fn(model, x.to(device), target.to(device), **params)
    if attr.shape != x.shape:
        raise RuntimeError(f"method {method!r} returned shape {tuple(attr.shape)} for input {tuple(x.shape)}")
    return attr.detach().to(device=x.device, dtype=torch.float32)
