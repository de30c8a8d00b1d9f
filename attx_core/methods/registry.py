"""Method registry and the one public verb, :func:`attribute` (Captum-style, timm-style registry)."""
from __future__ import annotations

import contextlib
import inspect
import math
import os
import sys
import time
import typing
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn

from ..engine import model_device
from ..models import evaluated
from ..validate import (
    available_memory,
    check_finite_model,
    check_image_size,
    check_images,
    check_logits,
    check_model,
    check_param_types,
    check_target,
    check_values,
)

AttributionFn = Callable[..., Tensor]
PROGRESS_DELAY = 2.0  # seconds before a progress bar appears: quick calls print nothing
PROGRESS_LOG_SECONDS = 60.0  # stderr not a terminal (notebook, log file): one progress line this often
MAX_PASSES = 10**8  # per image: EfficientNet-Lite0 at ~0.03 s a pass on a CPU core would take a month
MEMORY_SHARE = 0.5  # share of the free memory one call may plan to hold
COPIES = 3  # image-sized tensors per held sample: the samples, their gradients, the gradients concatenated


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
    check: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False)  # range checks on the full parameters, no model
    memory: str = "1"  # image-sized samples held at once per image: a formula in the parameters' names


METHODS: dict[str, MethodInfo] = {}


def register_method(name: str, description: str, passes: str | Callable[[dict[str, Any]], float] = "", *, version: int = 1, published: str = "",
                    options: dict[str, str] | None = None, conformance: str = "", check: Callable[[dict[str, Any]], None] | None = None,
                    memory: str = "1") -> Callable[[AttributionFn], AttributionFn]:
    """Decorator: register ``fn(model, x, target, *, **params)``; its keyword-only defaults are the method's.

    ``version``, ``published``, ``options`` and ``conformance`` feed the method card (``attx methods --card``)
    and the results store's keys. ``check(params)`` raises ``ValueError`` on values out of range (it sees every
    parameter, defaults filled in, and needs no model); ``memory`` is what :func:`attribute` plans batches by.
    """

    def decorate(fn: AttributionFn) -> AttributionFn:
        if name in METHODS:
            raise ValueError(f"method {name!r} is already registered")
        params = inspect.signature(fn).parameters.values()
        defaults = {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
        METHODS[name] = MethodInfo(name, fn, defaults, description, passes, version, published, dict(options or {}), conformance,
                                   check, memory)
        return fn

    return decorate


def method_passes(method: str, params: dict[str, Any] | None = None) -> float | None:
    """Forward+backward passes per image of ``method`` on its defaults updated by ``params`` (None: no formula)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[method]
    full = {**info.defaults, **(params or {})}
    if callable(info.passes):
        return _number(info.passes(full))
    return _evaluate(info.passes, full) if info.passes else None


def _evaluate(formula: str, full: dict[str, Any]) -> float:
    """A registry formula (passes, memory) on the full parameters; inf where it overflows a float."""
    names = {**full, "ceil": math.ceil, "floor": math.floor, "min": min, "max": max, "len": len}
    return _number(eval(formula, {"__builtins__": {}}, names))  # noqa: S307 - registry formula


def _number(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _given(params: dict[str, Any]) -> str:
    """The parameters as given, each value's repr cut to 40 characters."""
    shown = [f"{k}={v!r}" if len(repr(v)) <= 40 else f"{k}={repr(v)[:37]}..." for k, v in params.items()]
    return ", ".join(shown) or "the defaults"


def _names(formula: str | Callable[..., Any], method: str, params: dict[str, Any]) -> str:
    """The method's parameters a formula reads (the given ones for a function): what to lower."""
    used = compile(formula, "<formula>", "eval").co_names if isinstance(formula, str) else tuple(params)
    return ", ".join(n for n in dict.fromkeys(used) if n in METHODS[method].defaults) or "the parameters"


def check_params(method: str, params: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the problem for an unknown method, an unknown parameter, a value of the
    wrong type (by the method's annotations: an integer parameter rejects floats and bools, a number rejects
    strings, ...), a NaN or inf value, a seed beyond 64 bits, a value out of the method's range (its ``check``)
    or more than :data:`MAX_PASSES` passes per image. Needs no model: the CLI calls it before loading one."""
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
    check_values(f"method {method!r}", params)
    full = {**info.defaults, **params}
    if info.check is not None:
        try:
            info.check(full)
        except ValueError as err:
            raise ValueError(f"method {method!r}: {err}") from None
    passes = method_passes(method, params)  # a method priced by a function (attexplore) validates its settings here
    if passes is not None and passes > MAX_PASSES:
        days = passes * 0.03 / 86400
        raise ValueError(f"method {method!r} would run {passes:.3g} forward+backward passes per image "
                         f"({info.passes if isinstance(info.passes, str) else 'its explorer'} with {_given(params)}): "
                         f"more than the {MAX_PASSES:.0e} attx accepts "
                         f"(EfficientNet-Lite0 on one CPU core: ~{days:.3g} days per image); lower {_names(info.passes, method, params)}")


def images_per_call(method: str, params: dict[str, Any], x: Tensor) -> int:
    """How many of x's images one call of ``method`` may take so that what it holds at once (its ``memory``
    formula x image size x :data:`COPIES`) stays within :data:`MEMORY_SHARE` of the free memory; images are
    independent, so larger batches run in groups. Raises ``ValueError`` with the estimate when one image does not fit."""
    info = METHODS[method]
    held = _evaluate(info.memory, {**info.defaults, **params})
    per_image = held * x[0].numel() * x.element_size() * COPIES
    free = available_memory(x.device)
    budget = MEMORY_SHARE * free
    if per_image > budget:
        raise ValueError(f"method {method!r} would hold ~{per_image / 2**30:.3g} GiB for one {tuple(x.shape[1:])} image "
                         f"({info.memory} = {held:.3g} image-sized samples at once); {free / 2**30:.3g} GiB of memory is free: "
                         f"lower {_names(info.memory, method, params)} or the image size")
    return max(1, int(budget // per_image)) if per_image > 0 else x.shape[0]


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


class _LogLines:
    """Progress for a stderr that is not a terminal (a notebook, a log file): one line every
    :data:`PROGRESS_LOG_SECONDS`, with the passes done and the time left at the rate so far."""

    def __init__(self, total: int | None, desc: str) -> None:
        self.total, self.desc, self.n = total, desc, 0
        self.start = self.last = time.monotonic()

    def update(self, n: int) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= PROGRESS_LOG_SECONDS:
            self.last = now
            elapsed = now - self.start
            done = f"{self.n}/{self.total} passes ({100 * self.n / self.total:.1f}%)" if self.total else f"{self.n} passes"
            left = f", ~{_duration(elapsed * (self.total - self.n) / self.n)} left" if self.total and self.n else ""
            print(f"attx: {self.desc}: {done}, {_duration(elapsed)} elapsed{left}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Nothing to clear: the lines stay."""


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


@contextlib.contextmanager
def _progress(model: nn.Module, method: str, params: dict[str, Any], batch: int, enabled: bool | None) -> Iterator[None]:
    """Progress on stderr counting the model's forward+backward samples against the method's registered
    cost (``method_passes`` x images), implemented once here for every method: a tqdm bar on a terminal,
    appearing after :data:`PROGRESS_DELAY` seconds so quick calls print nothing; elsewhere (notebooks, logs)
    one line every :data:`PROGRESS_LOG_SECONDS`. Off when a caller's bar is already shown (unless
    ``enabled=True``), with ``enabled=False`` or ``TQDM_DISABLE=1``; ``enabled=True`` forces the bar.
    It only observes (a forward hook that reads shapes): the maps do not change."""
    terminal = sys.stderr is not None and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    if enabled is False or os.environ.get("TQDM_DISABLE") == "1" or (enabled is None and _outer_bar()):
        yield
        return
    try:
        per_image = method_passes(method, params)
    except Exception:  # the method will report its own parameter error
        per_image = None
    total = int(math.ceil(per_image * batch)) if per_image else None
    desc = f"{method} ({batch} image{'s' if batch != 1 else ''})"
    if enabled or terminal:
        from tqdm.auto import tqdm

        bar: Any = tqdm(total=total, desc=desc, unit="pass", delay=PROGRESS_DELAY, file=sys.stderr, leave=False, dynamic_ncols=True)
    else:
        bar = _LogLines(total, desc)

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
    on a terminal; elsewhere a line a minute; ``False`` never, ``True`` always the bar). Larger batches than
    the free memory holds run in groups of images; parameters that would need more than that for one image,
    or more than :data:`MAX_PASSES` passes per image, are refused up front with the estimate.

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
    group = images_per_call(method, params, xin)
    with evaluated(model), _logits_checked(model, target), _progress(model, method, params, x.shape[0], progress):
        try:
            parts = [info.fn(model, xin[i : i + group], target[i : i + group], **params) for i in range(0, x.shape[0], group)]
        except TypeError as err:  # a parameter of an unexpected kind deep inside (e.g. in attack_params)
            raise ValueError(f"method {method!r} failed on its parameters ({_given(params)}): {err}") from err
    attr = parts[0] if len(parts) == 1 else torch.cat(parts)
    if attr.shape != x.shape:
        raise RuntimeError(f"method {method!r} returned shape {tuple(attr.shape)} for input {tuple(x.shape)}")
    bad = (~torch.isfinite(attr.flatten(1))).any(dim=1)
    if bool(bad.any()):
        raise ValueError(f"method {method!r} produced NaN or inf values in the map(s) of image(s) {bad.nonzero()[:, 0].tolist()[:10]} "
                         f"with {_given(params)}: the model's outputs or gradients overflow at these settings")
    size = getattr(model, "input_size", None)
    if size and min(x.shape[-2:]) < size and bool((attr.flatten(1).abs().amax(1) == 0).any()):
        warnings.warn(
            f"{method}: some maps are all zero; the images ({x.shape[-2]}x{x.shape[-1]}) are smaller than the "
            f"model's input size {size}x{size}: resize them to it", RuntimeWarning, stacklevel=2)
    return attr.detach().to(device=x.device, dtype=torch.float32)
