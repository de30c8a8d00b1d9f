"""Execution policy: how the model's passes run, decided in one place.

* Forward-only work (insertion/deletion, INFD, class selection) goes through :func:`forward_only` /
  :func:`predict`, in chunks of a fixed size (the last one padded, so a compiled graph never sees a new shape
  and a sample's output does not depend on its chunk). On the CPU, where the ``openvino`` package imports, the
  network is converted by OpenVINO once per (model, chunk shape) and run in float32 on the thread count the
  process was given (EfficientNet-Lite0's forward ~3.5x eager NCHW on one thread, ~1.7x the compiled copy);
  elsewhere a channels-last copy compiled by ``torch.compile`` runs it (1.4x-1.6x eager). Both follow the
  model's weights (re-converted / re-synced when they change).
* Gradient work (every method) runs the model as it is, eager NCHW. Channels-last gradients were measured
  (``attx bench``): 0.95x-0.98x on the CPU (no gain), and their float differences are amplified by the sign
  steps of the exploration paths (AttEXplore's maps correlate only 0.97 with NCHW ones at the published
  settings), so they are a named option, not the default.

Policies (``$ATTX_EXECUTION`` or :func:`policy_scope`):

=================  ===============================================================================
``auto`` (default) forward-only calls of >= :data:`COMPILE_MIN_SAMPLES` samples (a conversion costs ~5 s, a
                   compile ~10-60 s on CPU) run OpenVINO on the CPU where it imports, else the compiled copy;
                   later calls reuse what exists for their model (and, for OpenVINO, chunk shape)
``openvino``       OpenVINO on every forward-only call on the CPU (else as ``compiled``)
``compiled``       torch.compile on every forward-only call, never OpenVINO
``channels_last``  no conversion, no compile; gradient and forward work channels-last (the option measured above)
``eager``          plain eager NCHW everywhere: the debugging and benchmark baseline
=================  ===============================================================================

``$ATTX_OPENVINO_PRECISION`` = ``f32`` (default) or ``bf16`` (measured: README, execution policy). Where a
conversion or compilation fails, one line on stderr says so and the next path runs (compiled, then eager).
Results do not move beyond float noise (tested: AUCs within 1e-4 of eager fp32).
"""
from __future__ import annotations

import contextlib
import copy
import functools
import os
import sys
import weakref
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn

POLICIES = ("auto", "openvino", "compiled", "channels_last", "eager")
PRECISIONS = ("f32", "bf16")
COMPILE_MIN_SAMPLES = 1024
_override: list[str] = []
# Called with (model, chunk shape) for every chunk a converted or compiled network ran (they bypass the model's
# hooks): the benchmark's pass counter listens here.
forward_observers: list[Callable[[nn.Module, tuple[int, ...]], None]] = []


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


@functools.lru_cache(maxsize=1)
def openvino() -> Any | None:
    """The ``openvino`` module, or None where it does not import (forward-only work then stays on torch)."""
    try:
        import openvino as ov
    except Exception:  # noqa: BLE001 - not installed (the GPU machines) or broken: the torch paths run
        return None
    return ov


def openvino_precision() -> str:
    """OpenVINO's inference precision: ``$ATTX_OPENVINO_PRECISION``, ``f32`` by default (``bf16`` an option)."""
    name = os.environ.get("ATTX_OPENVINO_PRECISION", "f32") or "f32"
    if name not in PRECISIONS:
        raise ValueError(f"ATTX_OPENVINO_PRECISION must be one of {PRECISIONS}, got {name!r}")
    return name


def _device(model: nn.Module) -> torch.device:
    return next((t.device for t in (*model.parameters(), *model.buffers())), torch.device("cpu"))


def _openvino_applies(name: str, device: torch.device) -> bool:
    """Whether policy ``name`` sends forward-only work on ``device`` to OpenVINO (CPU, package importable)."""
    return name in ("auto", "openvino") and device.type == "cpu" and openvino() is not None


def forward_backend(device: str | torch.device = "cpu") -> str:
    """What runs store-sized forward-only calls on ``device`` under the active policy (recorded in provenance)."""
    name = policy()
    if name in ("eager", "channels_last"):
        return f"torch eager ({'channels-last' if name == 'channels_last' else 'NCHW'})"
    calls = f", calls from {COMPILE_MIN_SAMPLES} samples" if name == "auto" else ""
    if _openvino_applies(name, torch.device(device)):
        threads = torch.get_num_threads()
        version = openvino().__version__.split("-")[0]
        return f"openvino {version} ({openvino_precision()}, {threads} inference thread{'s' * (threads != 1)}{calls})"
    return f"torch.compile inductor (channels-last{calls})"


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


class _OpenVINO:
    """A model converted by OpenVINO, one compiled graph per (chunk shape, threads, precision); converted
    anew when the model's weights change. Float32 unless asked otherwise: OpenVINO's CPU default is bf16
    wherever the CPU has it."""

    def __init__(self, model: nn.Module) -> None:
        self.model, self.weights, self.requests = model, _weights(model), {}

    def sync(self) -> None:
        """Drop the conversions if the model was changed in place since (training, randomisation)."""
        if _weights(self.model) != self.weights:
            self.requests.clear()
            self.weights = _weights(self.model)

    def __call__(self, chunk: Tensor) -> Tensor:
        key = (tuple(chunk.shape), torch.get_num_threads(), openvino_precision())
        if key not in self.requests:
            self.requests[key] = self._compile(chunk, *key[1:])
        out = self.requests[key].infer({0: chunk.detach().contiguous().numpy()}, share_inputs=True)
        return torch.from_numpy(out[0])  # outputs are copied out of OpenVINO's buffers

    def _compile(self, chunk: Tensor, threads: int, precision: str) -> Any:
        ov = openvino()
        self.model(chunk)  # convert only after the model ran once (the tracer compares two invocations)
        graph = ov.convert_model(self.model, example_input=chunk)
        config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "INFERENCE_PRECISION_HINT": precision}
        return ov.compile_model(graph, "CPU", config).create_infer_request()


class _Compiled:
    """A channels-last copy of a model's network, compiled; re-synced from the model when its weights change."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.source = getattr(model, "net", model)
        self.copy = copy.deepcopy(self.source).to(memory_format=torch.channels_last)
        self.weights = _weights(self.source)
        self.fn = torch.compile(self.copy, dynamic=False)

    def sync(self) -> None:
        """Copy the weights again if the model was changed in place since (training, randomisation)."""
        if _weights(self.source) != self.weights:
            self.copy.load_state_dict(self.source.state_dict())
            self.weights = _weights(self.source)

    def __call__(self, chunk: Tensor) -> Tensor:
        mean, std = getattr(self.model, "mean", None), getattr(self.model, "std", None)
        z = chunk if mean is None or self.source is self.model else (chunk - mean) / std
        return self.fn(z.contiguous(memory_format=torch.channels_last))


_Runner = _OpenVINO | _Compiled


class _Backend:
    """One way of running forward-only chunks, built once per model; None for a model it failed on."""

    def __init__(self, name: str, build: Callable[[nn.Module], _Runner]) -> None:
        self.name, self.build = name, build
        self.built: "weakref.WeakKeyDictionary[nn.Module, _Runner | None]" = weakref.WeakKeyDictionary()

    def __contains__(self, model: nn.Module) -> bool:
        return model in self.built

    def get(self, model: nn.Module) -> _Runner | None:
        """The model's runner (built on first use), None where this backend failed on it."""
        if model not in self.built:
            self.built[model] = self.build(model)
        return self.built[model]

    def fail(self, model: nn.Module, error: Exception, then: str) -> None:
        """Give up on ``model`` for good, saying so in one line on stderr."""
        self.built[model] = None
        lines = str(error).strip().splitlines() or [type(error).__name__]
        why = next((line.strip("- ") for line in lines if "No conversion rule" in line), lines[0])[:160]
        print(f"attx: {self.name} failed ({type(error).__name__}: {why}); forward passes run {then}", file=sys.stderr)


OPENVINO = _Backend("OpenVINO conversion", _OpenVINO)
COMPILED = _Backend("torch.compile", _Compiled)


def _backends(model: nn.Module, name: str, samples: int) -> list[_Backend]:
    """The backends policy ``name`` tries for a call of ``samples`` forward samples, first choice first."""
    large = samples >= COMPILE_MIN_SAMPLES
    chain = []
    if _openvino_applies(name, _device(model)) and (name == "openvino" or large or model in OPENVINO):
        chain.append(OPENVINO)
    if name in ("compiled", "openvino") or (name == "auto" and (large or model in COMPILED)):
        chain.append(COMPILED)
    return chain


def forward_only(model: nn.Module, samples: int, batch_size: int) -> Callable[[Tensor], Tensor]:
    """A no-gradient forward for chunks of at most ``batch_size`` samples, through the policy's backend
    (OpenVINO or compiled, chunks padded to ``batch_size``); ``samples`` = the call's total, which ``auto`` weighs."""
    chain = _backends(model, policy(), samples)
    synced: set[_Backend] = set()  # the weights are compared once per call, not per chunk

    def forward(chunk: Tensor) -> Tensor:
        size = chunk.shape[0]
        with torch.no_grad():
            while chain:
                backend = chain[0]
                padded = chunk if size >= batch_size else torch.cat([chunk, chunk.new_zeros(batch_size - size, *chunk.shape[1:])])
                try:
                    fn = backend.get(model)
                    if fn is not None and backend not in synced:
                        fn.sync()
                        synced.add(backend)
                    out = None if fn is None else fn(padded)[:size]
                except Exception as error:  # noqa: BLE001 - any conversion or compiler failure: fall back, visibly, once
                    backend.fail(model, error, chain[1].name if len(chain) > 1 else "eager")
                    out = None
                if out is None:
                    chain.pop(0)
                    continue
                for observe in forward_observers:
                    observe(model, tuple(padded.shape))
                return out
            return model(chunk)

    return forward


def predict(model: nn.Module, x: Tensor, batch_size: int, samples: int | None = None) -> Tensor:
    """Logits of every sample of x (N, C, H, W), ``batch_size`` samples per no-gradient pass (:func:`forward_only`);
    ``samples`` = the forward samples of the whole call it opens (default N), so it runs where the call's chunks will."""
    forward = forward_only(model, x.shape[0] if samples is None else samples, batch_size)
    return torch.cat([forward(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)])
