"""Method registry and the one public verb, :func:`attribute` (Captum-style, timm-style registry)."""
from __future__ import annotations

import contextlib
import inspect
import math
import os
import sys
import typing
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn

from ..engine import model_device
from ..models import evaluated
from ..validate import (check_finite_model, check_image_size, check_images, check_logits, check_model, check_param_types,
                        check_target)

AttributionFn = Callable[..., Tensor]
PROGRESS_DELAY = 2.0  # seconds before a progress bar appears: quick calls print nothing


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
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[method]
    full = {**info.defaults, **(params or {})}
    if callable(info.passes):
        return float(info.passes(full))
    if not info.passes:
        return None
    names = {**full, "ceil": math.ceil, "floor": math.floor, "min": min, "max": max, "len": len}
    return float(eval(info.passes, {"__builtins__": {}}, names))  # noqa: S307 - registry formula


def check_params(method: str, params: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the problem for an unknown method, an unknown parameter, or a value of the
    wrong type (by the method's annotations: an integer parameter rejects floats and bools, a number rejects
    strings, ...). Needs no model: the CLI calls it before loading one."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[method]
    unknown = sorted(set(params) - set(info.defaults))
    if unknown:
        raise ValueError(
            f"method {method!r} does not take parameter(s) {', '.join(unknown)}; "
            f"it takes: {', '.join(sorted(info.defaults)) or 'no parameters'}"
        )
    check_param_types(f"method {method!r}", _hints(info.fn), params)


def _hints(fn: AttributionFn) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # an annotation that does not resolve: skip the type check
        return {}


def _model_dtype(model: nn.Module) -> torch.dtype:
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


_LAST_BAR: list[int | None] = []  # (passes counted, total) of the last bar: for tests


def _outer_bar() -> bool:
    """Whether a caller already shows a tqdm bar (``attx compute``, a results-store fill): then the
    automatic per-call bar stays off, so the two do not fight over the terminal line."""
    from tqdm import tqdm as std_tqdm

    return any(not getattr(bar, "disable", True) for bar in list(getattr(std_tqdm, "_instances", [])))


@contextlib.contextmanager
def _progress(model: nn.Module, method: str, params: dict[str, Any], batch: int, enabled: bool | None) -> Iterator[None]:
    """A tqdm bar on stderr counting the model's forward+backward samples against the method's registered
    cost (``method_passes`` x images), implemented once here for every method. It appears only after
    :data:`PROGRESS_DELAY` seconds, so quick calls print nothing. Off when stderr is not a terminal or a
    caller's bar is already shown (unless ``enabled=True``), with ``enabled=False`` or ``TQDM_DISABLE=1``.
    It only observes (a forward hook that reads shapes): the maps do not change."""
    if enabled is None:
        enabled = sys.stderr is not None and hasattr(sys.stderr, "isatty") and sys.stderr.isatty() and not _outer_bar()
    if not enabled or os.environ.get("TQDM_DISABLE") == "1":
        yield
        return
    from tqdm.auto import tqdm

    try:
        per_image = method_passes(method, params)
    except Exception:  # the method will report its own parameter error
        per_image = None
    total = int(math.ceil(per_image * batch)) if per_image else None
    bar = tqdm(total=total, desc=f"{method} ({batch} image{'s' if batch != 1 else ''})", unit="pass", delay=PROGRESS_DELAY,
               file=sys.stderr, leave=False, dynamic_ncols=True)

    def hook(module: nn.Module, args: tuple, output: Any) -> None:
        if isinstance(output, Tensor) and output.requires_grad and args and isinstance(args[0], Tensor):
            n = int(args[0].shape[0])
            bar.update(n if total is None else max(0, min(n, total - bar.n)))

    handle = model.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
        bar.close()
        _LAST_BAR[:] = [bar.n, total]


@contextlib.contextmanager
def _logits_checked(model: nn.Module, target: Tensor) -> Iterator[None]:
    """Check the model's first output of the block with :func:`check_logits` (a forward hook: no extra pass)."""
    name = f"model {getattr(model, 'name', type(model).__name__)!r}"
    seen: list[bool] = []

    def hook(module: nn.Module, args: tuple, output: Any) -> None:
        if not seen:
            seen.append(True)
            check_logits(output, target, name)

    handle = model.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def attribute(model: nn.Module, x: Tensor, target: Tensor | int | list[int], method: str = "attexplore", *,
              progress: bool | None = None, **params: Any) -> Tensor:
    """Attribution map of ``target`` for images ``x`` (B,3,H,W in [0,1]) by ``method``.

    Returns a float32 tensor of x's shape on x's device. A model that is not an ``nn.Module``, unknown
    methods or parameters, parameter values of the wrong type, bad images (empty batch, wrong shape or
    range, smaller than the model can see) or targets (floats, bools, strings, out of range) raise
    ``ValueError`` naming the problem, as do models with NaN weights, models that do not return logits
    (probabilities, one logit, a tuple or dict) and maps that come out NaN or inf. A model in training mode
    is explained in eval mode and left in its own mode. Images of another float dtype (float64) are
    converted to the model's. ``progress``: a progress bar on stderr for calls longer than 2 s (default:
    when stderr is a terminal; ``False`` never, ``True`` always).

    Example::

        >>> import attx_core
        >>> model = attx_core.models.load("efficientnet_lite0")
        >>> x, y = attx_core.data.sample_images()
        >>> maps = attx_core.attribute(model, x[:2], y[:2], method="ig", steps=50)
    """
    check_model(model)
    check_params(method, params)
    if progress is not None and not isinstance(progress, bool):
        raise ValueError(f"progress must be True, False or None, got {progress!r}")
    info = METHODS[method]
    check_images(x)
    check_image_size(x, model)
    target = check_target(target, x.shape[0], getattr(model, "num_classes", None))
    check_finite_model(model)
    device = model_device(model)
    dtype = _model_dtype(model)
    xin = x.to(device=device, dtype=dtype) if x.dtype != dtype else x.to(device)
    target = target.to(device)
    with evaluated(model), _logits_checked(model, target), _progress(model, method, params, x.shape[0], progress):
        try:
            attr = info.fn(model, xin, target, **params)
        except TypeError as err:  # a parameter of an unexpected kind deep inside (e.g. in attack_params)
            given = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "defaults"
            raise ValueError(f"method {method!r} failed on its parameters ({given}): {err}") from err
    if attr.shape != x.shape:
        raise RuntimeError(f"method {method!r} returned shape {tuple(attr.shape)} for input {tuple(x.shape)}")
    bad = (~torch.isfinite(attr.flatten(1))).any(dim=1)
    if bool(bad.any()):
        given = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "its defaults"
        raise ValueError(f"method {method!r} produced NaN or inf values in the map(s) of image(s) {bad.nonzero()[:, 0].tolist()[:10]} "
                         f"with {given}: the model's outputs or gradients overflow at these settings")
    size = getattr(model, "input_size", None)
    if size and min(x.shape[-2:]) < size and bool((attr.flatten(1).abs().amax(1) == 0).any()):
        warnings.warn(
            f"{method}: some maps are all zero; the images ({x.shape[-2]}x{x.shape[-1]}) are smaller than the "
            f"model's input size {size}x{size}: resize them to it", RuntimeWarning, stacklevel=2)
    return attr.detach().to(device=x.device, dtype=torch.float32)
