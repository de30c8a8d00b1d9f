"""Method registry and the one public verb, :func:`attribute` (Captum-style, timm-style registry)."""
from __future__ import annotations

import inspect
import math
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
    passes: str | Callable[[dict[str, Any]], float] = ""  # fwd+bwd passes per image: a formula in the parameters' names, or a function of them
    version: int = 1  # bumped when the method's numbers change: part of every results-store key
    published: str = ""  # what the published code does (the reference the default reproduces)
    options: dict[str, str] = field(default_factory=dict)  # named option -> what it changes vs published
    conformance: str = ""  # the conformance test module that checks the default and each option


METHODS: dict[str, MethodInfo] = {}


def register_method(name: str, description: str, passes: str | Callable[[dict[str, Any]], float] = "", *, version: int = 1, published: str = "",
                    options: dict[str, str] | None = None, conformance: str = "") -> Callable[[AttributionFn], AttributionFn]:
    """Decorator: register ``fn(model, x, target, *, **params)``; its keyword-only defaults are the method's.

    ``version``, ``published``, ``options`` and ``conformance`` feed the method card (``attx methods --card``)
    and the results store's keys.
    """

    def decorate(fn: AttributionFn) -> AttributionFn:
        if name in METHODS:
            raise ValueError(f"method {name!r} is already registered")
        params = inspect.signature(fn).parameters.values()
        defaults = {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
        METHODS[name] = MethodInfo(name, fn, defaults, description, passes, version, published, dict(options or {}), conformance)
        return fn

    return decorate


def method_passes(method: str, params: dict[str, Any] | None = None) -> float | None:
    """Forward+backward passes per image of ``method`` on its defaults updated by ``params`` (None: no formula)."""
    info = METHODS[method]
    full = {**info.defaults, **(params or {})}
    if callable(info.passes):
        return float(info.passes(full))
    if not info.passes:
        return None
    names = {**full, "ceil": math.ceil, "floor": math.floor, "min": min, "max": max, "len": len}
    return float(eval(info.passes, {"__builtins__": {}}, names))  # noqa: S307 - registry formula


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
