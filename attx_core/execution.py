"""Execution policy: how the model's passes run, decided in one place.

* Forward-only work (insertion/deletion, INFD, class selection) goes through :func:`forward_only` /
  :func:`predict`: chunks of a fixed size through a channels-last copy of the network compiled once per model
  by ``torch.compile`` (inductor): EfficientNet-Lite0's forward 1.4x (2 threads) to 1.6x (1 thread) faster than
  eager NCHW. The last chunk is padded to the fixed size, so the compiled graph never sees a new shape and a
  sample's output does not depend on its chunk. The copy follows the model's weights (re-synced when they change).
* Gradient work (every method) runs the model as it is, eager NCHW. Channels-last gradients were measured
  (``attx bench``): 0.95x-0.98x on the CPU (no gain), and their float differences are amplified by the sign
  steps of the exploration paths (AttEXplore's maps correlate only 0.97 with NCHW ones at the published
  settings), so they are a named option, not the default.

Policies (``$ATTX_EXECUTION`` or :func:`policy_scope`):

=================  ===============================================================================
``auto`` (default) compile once a single call has >= :data:`COMPILE_MIN_SAMPLES` forward samples (a compile
                   costs ~10-60 s on CPU, ~1,000 eager Lite0 forwards), then reuse the compiled copy for every
                   later forward-only call on that model; gradient work eager NCHW
``compiled``       compile on the first forward-only call; gradient work eager NCHW
``channels_last``  never compile; gradient and forward work channels-last (the option measured above)
``eager``          plain eager NCHW everywhere: the debugging and benchmark baseline
=================  ===============================================================================

Where compilation is unavailable or fails, forward passes run eager and one line says so. Results do not
move beyond float noise (tested: AUCs within 1e-4 of eager fp32).
"""
from __future__ import annotations

import contextlib
import copy
import os
import sys
import weakref
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

POLICIES = ("auto", "compiled", "channels_last", "eager")
COMPILE_MIN_SAMPLES = 1024
_override: list[str] = []
# Called with (model, chunk shape) for every chunk the compiled network runs (it bypasses the model's
# hooks): the benchmark's pass counter listens here.
compiled_forward_observers: list[Callable[[nn.Module, tuple[int, ...]], None]] = []
# model -> (its channels-last copy, the copy compiled, the weights' versions it holds); None: compilation failed
_compiled: "weakref.WeakKeyDictionary[nn.Module, _Compiled | None]" = weakref.WeakKeyDictionary()


def policy() -> str:
    """The active policy: the innermost :func:`policy_scope`, else ``$ATTX_EXECUTION``, else ``auto``."""
    if _override:
        return _override[-1]
    name = os.environ.get("ATTX_EXECUTION", "auto") or "auto"
    if name not in POLICIES:
        raise ValueError(f"ATTX_EXECUTION must be one of {POLICIES}, got {name!r}")
    return name


@contextlib.contextmanager
def policy_scope(name: str) -> Iterator[None]:
    """Run the block under policy ``name`` (e.g. ``"eager"`` to debug or to time the baseline)."""
    if name not in POLICIES:
        raise ValueError(f"execution policy must be one of {POLICIES}, got {name!r}")
    _override.append(name)
    try:
        yield
    finally:
        _override.pop()


def forward_backend(device: str | torch.device = "cpu") -> str:
    """What runs store-sized forward-only calls on ``device`` under the active policy (recorded in provenance)."""
    name = policy()
    if name in ("eager", "channels_last"):
        return f"torch eager ({'channels-last' if name == 'channels_last' else 'NCHW'})"
    return "torch.compile inductor (channels-last" + (f", calls from {COMPILE_MIN_SAMPLES} samples)" if name == "auto" else ")")


class _Layout(torch.autograd.Function):
    """``z`` in ``layout``; its gradient comes back in the standard NCHW layout, so a caller's
    ``grad.view(...)`` works whatever layout the network ran in."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, z: Tensor, layout: torch.memory_format) -> Tensor:  # type: ignore[override]
        return z.contiguous(memory_format=layout)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad.contiguous(), None


def arrange(net: nn.Module, z: Tensor) -> Tensor:
    """``z`` (and ``net``'s weights, converted in place when the layout changes) in the layout the policy
    gives gradient work: channels-last under ``channels_last``, else the standard NCHW."""
    layout = torch.channels_last if policy() == "channels_last" and z.dim() == 4 else torch.contiguous_format
    if net.__dict__.get("_attx_layout") is not layout:
        net.to(memory_format=layout)
        net.__dict__["_attx_layout"] = layout
    return z.contiguous(memory_format=layout) if layout is torch.contiguous_format else _Layout.apply(z, layout)


def _weights(net: nn.Module) -> tuple[tuple[int, int], ...]:
    """Identity and in-place version of every parameter and buffer: changes when the weights do."""
    return tuple((id(t), t._version) for t in (*net.parameters(), *net.buffers()))


class _Compiled:
    """A channels-last copy of a model's network, compiled; re-synced from the model when its weights change."""

    def __init__(self, net: nn.Module) -> None:
        self.source = net
        self.copy = copy.deepcopy(net).to(memory_format=torch.channels_last)
        self.weights = _weights(net)
        self.fn = torch.compile(self.copy, dynamic=False)

    def __call__(self, z: Tensor) -> Tensor:
        if _weights(self.source) != self.weights:  # the model was changed in place (training, randomisation)
            self.copy.load_state_dict(self.source.state_dict())
            self.weights = _weights(self.source)
        return self.fn(z.contiguous(memory_format=torch.channels_last))


def _compile(model: nn.Module) -> _Compiled | None:
    """``model``'s compiled copy (cached per model); None where compilation failed before."""
    if model not in _compiled:
        _compiled[model] = _Compiled(getattr(model, "net", model))
    return _compiled[model]


def _fallback(model: nn.Module, error: Exception) -> None:
    _compiled[model] = None
    first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
    print(f"attx: torch.compile failed ({type(error).__name__}: {first}); forward passes run eager", file=sys.stderr)


def _normalised(model: nn.Module, x: Tensor) -> Tensor:
    mean, std = getattr(model, "mean", None), getattr(model, "std", None)
    return x if mean is None or not hasattr(model, "net") else (x - mean) / std


def forward_only(model: nn.Module, samples: int, batch_size: int) -> Callable[[Tensor], Tensor]:
    """A no-gradient forward for chunks of at most ``batch_size`` samples, through the policy's network
    (compiled channels-last where the policy says so); ``samples`` = the call's total, which ``auto`` weighs."""
    name = policy()
    compile_now = name == "compiled" or (name == "auto" and (samples >= COMPILE_MIN_SAMPLES or model in _compiled))
    fn = _compile(model) if compile_now else None

    def forward(chunk: Tensor) -> Tensor:
        nonlocal fn
        with torch.no_grad():
            if fn is None:
                return model(chunk)
            size = chunk.shape[0]
            if size < batch_size:  # one shape for the compiled graph
                chunk = torch.cat([chunk, chunk.new_zeros(batch_size - size, *chunk.shape[1:])])
            z = _normalised(model, chunk)
            for observe in compiled_forward_observers:
                observe(model, tuple(chunk.shape))
            try:
                return fn(z)[:size]
            except Exception as error:  # noqa: BLE001 - any compiler failure: fall back, visibly, once
                _fallback(model, error)
                fn = None
                return model(chunk[:size])

    return forward


def predict(model: nn.Module, x: Tensor, batch_size: int) -> Tensor:
    """Logits of every sample of x (N, C, H, W), ``batch_size`` samples per no-gradient pass (:func:`forward_only`)."""
    forward = forward_only(model, x.shape[0], batch_size)
    return torch.cat([forward(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)])
