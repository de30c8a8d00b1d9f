"""Performance benchmark: images per second, efficiency against the model's own pass cost, speed-up
over loops structured like the published code, peak memory, and optional fast variants.

``attx bench`` (``main``) runs, in ONE process and on one set of images, every method of the list
(default: the Table-2 set plus saliency) and insertion/deletion, and writes
``data/bench/<device-slug>.json``. Every forward call of the model is counted by hooks (batch size,
input shape, whether a backward went through it). After a method ran, the time of one pass of each
input shape it used is measured at the largest batch it used for that shape (min of ``--reps``), and

    efficiency = sum over the method's calls of (samples x time per sample of such a pass) / its time

so 1.0 means the method costs exactly its forward(+backward) passes and nothing else.
``published_attexplore_loop`` and ``published_insertion_deletion`` are timing baselines only: they
mirror the loop structure of the authors' code (sequential spectrum samples at 4 images per pass and
the discarded final N-sample gradient; per-step CPU numpy round trips), built from the project's
own transforms, to measure what batching buys on the same model, images and settings.

JSON schema (one file per device; ``runs`` keyed by ``"<model>/<settings>"``, a new run replaces
the run of the same key and keeps the others)::

    {"schema": 1, "runs": {"efficientnet_lite0/small": RUN, ...}}
    RUN = {
      "provenance": attx_core.store.provenance(...) + profile "bench", model, weights, images, seed,
                    settings, batch, chunk, threads,
      "loadavg": {"before": [1, 5, 15 min], "after": [...]},  # os.getloadavg(): CPU contention
      "model": str, "image_size": int, "n_images": int, "batch": int (images per call), "chunk": int,
      "pass_time": {"batch": int, "fwd_bwd_s_per_sample": float, "fwd_s_per_sample": float},
      "methods": {NAME: {
          "status": "ok" | "skipped: <why>", "params": {...} (overrides of the defaults),
          "seconds": float, "fps": float (images/s), "peak_mem_mb": float,
          "passes_formula_per_image": float | null  (METHODS[m].passes on defaults + overrides),
          "passes_counted_per_image": float  (forward+backward samples counted / images),
          "forward_only_counted": int (samples through the model with no backward),
          "ideal_seconds": float, "efficiency": float,
          "projected_fps_defaults": float | null  (published settings, this efficiency and pass time)}},
      "published_attexplore": {"seconds", "fps", "passes_per_image", "passes_counted_per_image",
          "ideal_seconds", "efficiency", "peak_mem_mb", "speedup" (its seconds / ours),
          "spearman_vs_ours": {"min", "mean"} (same random draws: ~1 when the maps agree)},
      "insertion_deletion": {"seconds", "fps", "forward_counted", "ideal_seconds", "efficiency",
          "peak_mem_mb", "step", "insertion", "deletion" (mean AUCs),
          "published": {"seconds", "speedup", "max_abs_auc_diff"}},
      "variants": {VARIANT: {"method", "seconds", "speedup", "spearman_min"} | {"status": "skipped: ..."}},
      "policy": {"chunk", "backends": {POLICY: forward_backend}, "forward_s_per_sample": {POLICY: s} (eager, channels_last,
          compiled, openvino; interleaved), "fwd_bwd_s_per_sample", "insertion_deletion": {"step", "seconds", "speedup",
          "max_abs_auc_diff"} (per backend vs eager), "attexplore": {...}},
      "machine": {"sgemm_gflops", "model_gflop_per_sample", "forward_gflops", "fraction_of_sgemm"},
      "store_insdel": {"n_images", "step", "forwards", "backend", "warm_up_s", "seconds", "speedup_vs_plain_eager",
          "max_abs_auc_diff_vs_plain_eager"}  (bench/insdel_loop.py is the denominator),
      "table1": {"n_images", "threads", "baseline", "today"|"new": {"methods", "seconds_per_image"}, "speedup"},
      "paper_table2": {METHOD: {"paper_fps", "passes_per_image", "implied_passes_per_s"}}}

Peak memory: CUDA ``max_memory_allocated``; on CPU the peak resident-set growth over the run,
sampled every few milliseconds (allocator caching makes it approximate).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from . import data, execution, models
from .attacks import ATTACKS
from .engine import chunk_size, model_device, named_objective
from .experiments.runners import passes_per_image
from .methods import METHODS, attribute
from .seeding import ImageRandom
from .store import REPO_ROOT, atomic_write_json, provenance
from .transforms import Diversity, dct2, idct2, smooth
from .validate import require

TABLE2_METHODS = ("attexplore", "ig", "smoothgrad", "big", "guided_ig", "agi", "saliency")
# Small CPU settings (`attx bench` on 2 cores in a few minutes); a name a method lacks is dropped.
SMALL_SETTINGS: dict[str, dict[str, Any]] = {
    "attexplore": {"num_steps": 2, "N": 4},
    "ig": {"steps": 7},
    "smoothgrad": {"n_samples": 8},
    "big": {"steps": 7, "num_steps": 4},
    "guided_ig": {"steps": 8},
    "agi": {"num_classes": 2, "num_steps": 4},
}
VARIANTS = ("eager", "channels_last", "compiled", "bf16", "fp16")
SEED = 3407


# --- counting and timing passes --------------------------------------------------------------------


@dataclass
class PassLog:
    """Every forward call of a model: (batch, input shape without batch, whether a backward ran)."""

    calls: list[list[Any]] = field(default_factory=list)

    def samples(self, backward: bool) -> int:
        """Samples that went through the model with (or without) a backward pass."""
        return sum(c[0] for c in self.calls if c[2] == backward)

    def shapes(self) -> dict[tuple[tuple[int, ...], bool], int]:
        """For each (input shape, backward) used: the largest batch seen."""
        out: dict[tuple[tuple[int, ...], bool], int] = {}
        for batch, shape, backward in self.calls:
            out[(shape, backward)] = max(out.get((shape, backward), 0), batch)
        return out


@contextlib.contextmanager
def count_passes(model: nn.Module) -> Iterator[PassLog]:
    """Record every forward call of ``model``; a call is marked backward when a gradient reaches its output."""
    log = PassLog()

    def hook(module: nn.Module, args: tuple, output: Tensor) -> None:
        x = args[0]
        call = [int(x.shape[0]), tuple(int(s) for s in x.shape[1:]), False]
        log.calls.append(call)
        if isinstance(output, Tensor) and output.requires_grad:
            output.register_hook(lambda grad: call.__setitem__(2, True))

    def compiled(module: nn.Module, shape: tuple[int, ...]) -> None:  # converted/compiled forward-only chunks bypass the hook
        if module is model:
            log.calls.append([shape[0], shape[1:], False])

    handle = model.register_forward_hook(hook)
    execution.forward_observers.append(compiled)
    try:
        yield log
    finally:
        handle.remove()
        execution.forward_observers.remove(compiled)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pass_seconds(model: nn.Module, shape: tuple[int, ...], batch: int, backward: bool, reps: int = 2) -> float:
    """Seconds per sample of one forward(+backward) pass of ``batch`` random inputs of ``shape`` (min over reps)."""
    device = model_device(model)
    x = torch.rand((batch, *shape), generator=torch.Generator().manual_seed(0)).to(device)
    best = math.inf
    for _ in range(max(1, reps)):
        _sync(device)
        start = time.perf_counter()
        if backward:
            xg = x.clone().requires_grad_(True)
            torch.autograd.grad(model(xg).logsumexp(dim=1).sum(), xg)
        else:
            with torch.no_grad():
                model(x)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best / batch


class PassTimer:
    """Per-sample pass times by (shape, backward, batch), measured once and reused across methods."""

    def __init__(self, model: nn.Module, reps: int = 2) -> None:
        self.model, self.reps, self.table = model, reps, {}

    def per_sample(self, shape: tuple[int, ...], backward: bool, batch: int) -> float:
        """Seconds per sample of a pass of that shape at that batch."""
        key = (shape, backward, batch)
        if key not in self.table:
            self.table[key] = pass_seconds(self.model, shape, batch, backward, self.reps)
        return self.table[key]

    def ideal_seconds(self, log: PassLog) -> float:
        """The time the logged calls would take if they cost exactly their passes (at their largest batch)."""
        largest = log.shapes()
        return sum(
            batch * self.per_sample(shape, backward, largest[(shape, backward)]) for batch, shape, backward in log.calls
        )


class PeakMemory:
    """Peak memory growth in MB during a block: CUDA allocator peak, or sampled resident set on CPU."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.peak_mb = device, 0.0

    @staticmethod
    def _rss_mb() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device) / 2**20
            return self
        self._base = self._top = self._rss_mb() if os.path.exists("/proc/self/statm") else 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        if os.path.exists("/proc/self/statm"):
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.003):
            self._top = max(self._top, self._rss_mb())

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / 2**20 - self._base
            return
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self._top = max(self._top, self._rss_mb())
        self.peak_mb = self._top - self._base


@dataclass
class Timed:
    """What one timed block produced: its value, seconds, pass log and peak memory."""

    value: Any
    seconds: float
    log: PassLog
    peak_mb: float


def timed(model: nn.Module, fn: Callable[[], Any]) -> Timed:
    """Run ``fn()`` once, timing it, counting the model's passes and the peak memory."""
    device = model_device(model)
    with PeakMemory(device) as mem, count_passes(model) as log:
        _sync(device)
        start = time.perf_counter()
        value = fn()
        _sync(device)
        seconds = time.perf_counter() - start
    return Timed(value, seconds, log, mem.peak_mb)


def reference_batch(device: torch.device | str | None = None) -> int:
    """Batch of the reference pass time (and of projections to published settings): min(chunk, 16)."""
    return min(chunk_size(device), 16)


# --- timing baselines shaped like the published code ------------------------------------------------


def published_attexplore_loop(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    epsilon: float = 16 / 255,
    num_steps: int = 10,
    N: int = 20,
    rho: float = 0.5,
    sigma: float = 16 / 255,
    momentum: float = 1.0,
    di_prob: float = 0.5,
    ti_size: int = 7,
    batch: int = 4,
    seed: int = SEED,
) -> Tensor:
    """TIMING BASELINE ONLY: AttEXplore as the authors' loop runs it, for speed-up measurements.

    Images go 4 at a time; each of the ``num_steps`` steps makes its N spectrum samples one after
    another (one forward+backward of 4 images each), then after the last step N more samples are
    computed and thrown away: ``num_steps * N + N`` passes per image (220 at the defaults). The
    random draws of one step (noise, masks, then a DI coin per sample) are taken in the order of
    ``attx_core.transforms`` (per-image streams), so with the same seed the map equals ``attexplore``'s.
    """
    objective = named_objective("ce_prob2")  # the published loss: three softmaxes
    spectrum_di = Diversity(prob=di_prob)
    fixed = bool(getattr(model, "fixed_size", False))
    alpha = epsilon / num_steps
    maps = []
    for i in range(0, x.shape[0], batch):
        data, y = x[i : i + batch], target[i : i + batch]
        rng = ImageRandom(data, seed)

        def sample_mean(point: Tensor) -> Tensor:
            noise = rng.randn(N, *point.shape[1:]).transpose(0, 1) * sigma
            mask = 1 - rho + 2 * rho * rng.rand(N, *point.shape[1:]).transpose(0, 1)
            x_f = idct2(dct2(point[None] + noise) * mask).flatten(0, 1).requires_grad_(True)
            for z, index in spectrum_di.groups(x_f, point.shape[0], rng, fixed):
                for j in range(0, z.shape[0], point.shape[0]):  # sequential passes of one batch each
                    part = z[j : j + point.shape[0]]
                    objective(model(part), y[index[j : j + point.shape[0]] % point.shape[0]]).sum().backward(retain_graph=True)
            return x_f.grad.view(N, *point.shape).mean(0)

        dt, grad, hats, grads = data.clone(), torch.zeros_like(data), [data.clone()], []
        for _ in range(num_steps):
            g = smooth(sample_mean(dt), ti_size)
            grad = momentum * grad + g / g.abs().mean(dim=(1, 2, 3), keepdim=True)
            grads.append(grad.clone())
            dt = (data + (dt - alpha * grad.sign() - data).clamp(-epsilon, epsilon)).clamp(0, 1)
            hats.append(dt.clone())
        sample_mean(dt)  # the published code's final N-sample gradient, never used
        path = torch.stack(hats)
        maps.append(-((path[1:] - path[:-1]) * torch.stack(grads)).sum(dim=0))
    return torch.cat(maps)


def published_passes_per_image(num_steps: int = 10, N: int = 20) -> int:
    """Forward+backward passes per image of the published AttEXplore loop: ``num_steps * N + N``."""
    return num_steps * N + N


@torch.no_grad()
def published_insertion_deletion(
    model: nn.Module, x: Tensor, attributions: Tensor, step: int = 224, batch_size: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """TIMING BASELINE ONLY: insertion and deletion AUCs (B,) as the published ``CausalMetric.evaluate``.

    Per curve point it scores the images ``batch_size`` at a time, moves the scores to numpy, then
    writes the next pixels per image and per channel through numpy views (the channel union order).
    """
    n, c, h, w = x.shape
    hw = h * w
    device = model_device(model)
    top = torch.cat([model(x[j : j + batch_size].to(device)).argmax(-1).cpu() for j in range(0, n, batch_size)]).numpy()
    n_steps = (hw + step - 1) // step
    order = np.flip(np.argsort(attributions.detach().cpu().numpy().reshape(n, c, hw), axis=-1), axis=-1)
    aucs = []
    for mode in ("ins", "del"):
        image = x.detach().cpu().clone()
        start, finish = (torch.zeros_like(image), image) if mode == "ins" else (image.clone(), torch.zeros_like(image))
        start_np, finish_np = start.numpy().reshape(n, c, hw), finish.numpy().reshape(n, c, hw)
        scores = np.empty((n_steps + 1, n))
        for i in range(n_steps + 1):
            for j in range(0, n, batch_size):
                probs = model(start[j : j + batch_size].to(device)).softmax(-1).cpu().numpy()
                scores[i, j : j + batch_size] = probs[np.arange(probs.shape[0]), top[j : j + batch_size]]
            coords = order[:, :, step * i : step * (i + 1)]
            for s in range(n):
                for ch in range(c):
                    start_np[s, ch, coords[s]] = finish_np[s, ch, coords[s]]
        aucs.append((scores.sum(0) - scores[0] / 2 - scores[-1] / 2) / n_steps)
    return aucs[0], aucs[1]


def paper_pass_rates() -> dict[str, dict[str, float | None]]:
    """Table 2's FPS times each method's passes per image at its published settings (AttEXplore: the
    published loop's 220): the forward+backward passes per second the paper's timings imply. On one
    GPU and model these rates cannot differ much between methods; the model's own pass rate bounds them."""
    import csv

    path = REPO_ROOT / "data" / "paper" / "table02_fps.csv"
    if not path.is_file():
        return {}
    out: dict[str, dict[str, float | None]] = {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            m, fps = row["method"], float(row["value"])
            passes = float(published_passes_per_image()) if m == "attexplore" else _known(passes_per_image(m, {})) if m in METHODS else None
            out[m] = {"paper_fps": fps, "passes_per_image": passes, "implied_passes_per_s": fps * passes if passes else None}
    return out


# --- optimisation variants ------------------------------------------------------------------------


@contextlib.contextmanager
def variant(model: nn.Module, name: str) -> Iterator[nn.Module]:
    """Run ``model`` as a variant inside the block (restored after): an execution policy (``"eager"``,
    ``"channels_last"``, ``"compiled"``: :mod:`attx_core.execution`), a precision (``"bf16"`` / ``"fp16"``:
    autocast, outputs cast back to float32), or a ``+``-joined mix of one of each."""
    parts = [p for p in name.split("+") if p]
    require(bool(parts) and all(p in VARIANTS for p in parts), f"variant must be '+'-joined names from {VARIANTS}, got {name!r}")
    device = model_device(model)
    require("fp16" not in parts or device.type == "cuda", "variant fp16 needs a CUDA model (use bf16 on CPU)")
    policies = [p for p in parts if p in execution.POLICIES]
    require(len(policies) <= 1, f"variant {name!r} names more than one execution policy")
    dtype = torch.bfloat16 if "bf16" in parts else torch.float16 if "fp16" in parts else None
    own_forward = model.__dict__.get("forward")
    if dtype is not None:
        inner = model.forward

        def forward(x: Tensor, _inner: Callable = inner) -> Tensor:
            with torch.autocast(device_type=device.type, dtype=dtype):
                return _inner(x).float()

        model.forward = forward
    try:
        with execution.policy_scope(policies[0]) if policies else contextlib.nullcontext():
            yield model
    finally:
        model.__dict__.pop("forward", None)
        if own_forward is not None:
            model.forward = own_forward


def check_equivalence(model: nn.Module, x: Tensor, target: Tensor, method: str, variant_name: str, **params: Any) -> float:
    """Smallest per-image Spearman correlation between the method's maps in fp32 and under the variant
    (> 0.99 expected): a faster variant must not change the explanation."""
    from .metrics import spearman

    reference = attribute(model, x, target, method=method, **params)
    with variant(model, variant_name):
        fast = attribute(model, x, target, method=method, **params)
    return float(spearman(reference, fast).min())


# --- the benchmark run ----------------------------------------------------------------------------


def device_slug(device: torch.device) -> str:
    """File name for a device: the GPU's name, or ``cpu-<threads>t``."""
    if device.type == "cuda":
        return re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(device).lower()).strip("-")
    return f"cpu-{torch.get_num_threads()}t"


def _known(passes: float) -> float | None:
    """A passes-per-image figure, None where the registry's formula could not be read."""
    return passes if passes == passes else None


def run_params(method: str, settings: str, overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A method's parameters for the run: small settings (names it declares) or its defaults, then overrides."""
    base = SMALL_SETTINGS.get(method, {}) if settings == "small" else {}
    params = {k: v for k, v in base.items() if k in METHODS[method].defaults}
    params.update(overrides.get(method, {}))
    return params


def _batched(fn: Callable[[Tensor, Tensor], Tensor], x: Tensor, y: Tensor, batch: int) -> Tensor:
    return torch.cat([fn(x[i : i + batch], y[i : i + batch]) for i in range(0, x.shape[0], batch)])


def _efficiency(timer: PassTimer, t: Timed) -> tuple[float, float]:
    ideal = timer.ideal_seconds(t.log)
    return ideal, ideal / t.seconds if t.seconds > 0 else float("nan")


def bench_method(model: nn.Module, x: Tensor, y: Tensor, method: str, params: dict[str, Any], batch: int,
                 timer: PassTimer) -> tuple[dict[str, Any], Tensor | None]:
    """Time one method on all images (``batch`` per attribute call) and compare with its passes."""
    if method not in METHODS:
        return {"status": f"skipped: method {method!r} is not registered"}, None
    t = timed(model, lambda: _batched(lambda xb, yb: attribute(model, xb, yb, method=method, **params), x, y, batch))
    ideal, eff = _efficiency(timer, t)
    n = x.shape[0]
    formula = _known(passes_per_image(method, params))
    formula_defaults = _known(passes_per_image(method, {}))
    projected = None
    if formula_defaults and eff == eff and eff > 0:
        projected = 1.0 / (formula_defaults * timer.per_sample(tuple(x.shape[1:]), True, reference_batch(x.device)) / eff)
    row = {
        "status": "ok",
        "params": params,
        "seconds": t.seconds,
        "fps": n / t.seconds,
        "peak_mem_mb": t.peak_mb,
        "passes_formula_per_image": formula,
        "passes_counted_per_image": t.log.samples(True) / n,
        "forward_only_counted": t.log.samples(False),
        "ideal_seconds": ideal,
        "efficiency": eff,
        "projected_fps_defaults": projected,
    }
    return row, t.value


def bench_published(model: nn.Module, x: Tensor, y: Tensor, params: dict[str, Any], ours: dict[str, Any], our_maps: Tensor | None,
                    timer: PassTimer) -> dict[str, Any]:
    """Time the published-structure AttEXplore loop on the same images and settings as ours."""
    from .metrics import spearman

    settings = {**ATTACKS["ssa"].defaults, **params}  # AttEXplore's explorer with the run's overrides
    names = ("epsilon", "num_steps", "N", "rho", "sigma", "momentum", "di_prob", "ti_size", "seed")
    kwargs = {k: settings[k] for k in names if k in settings}
    t = timed(model, lambda: published_attexplore_loop(model, x, y, **kwargs))
    ideal, eff = _efficiency(timer, t)
    n = x.shape[0]
    row = {
        "seconds": t.seconds,
        "fps": n / t.seconds,
        "passes_per_image": published_passes_per_image(kwargs.get("num_steps", 10), kwargs.get("N", 20)),
        "passes_counted_per_image": t.log.samples(True) / n,
        "ideal_seconds": ideal,
        "efficiency": eff,
        "peak_mem_mb": t.peak_mb,
        "speedup": t.seconds / ours["seconds"] if ours.get("status") == "ok" else None,
    }
    if our_maps is not None:
        rho = spearman(our_maps, t.value)
        row["spearman_vs_ours"] = {"min": float(rho.min()), "mean": float(rho.mean())}
    return row


def bench_insdel(model: nn.Module, x: Tensor, maps: Tensor, step: int, timer: PassTimer, published: bool) -> dict[str, Any]:
    """Time batched insertion/deletion against the published per-step numpy loop on the same maps."""
    from .metrics import insertion_deletion

    t = timed(model, lambda: insertion_deletion(model, x, maps, step=step))
    ideal, eff = _efficiency(timer, t)
    res = t.value
    row = {
        "seconds": t.seconds,
        "fps": x.shape[0] / t.seconds,
        "forward_counted": t.log.samples(False),
        "ideal_seconds": ideal,
        "efficiency": eff,
        "peak_mem_mb": t.peak_mb,
        "step": step,
        "insertion": float(res.insertion.mean()),
        "deletion": float(res.deletion.mean()),
    }
    if published:
        p = timed(model, lambda: published_insertion_deletion(model, x, maps, step=step))
        ins, dele = p.value
        diff = max(np.abs(ins - res.insertion.cpu().numpy()).max(), np.abs(dele - res.deletion.cpu().numpy()).max())
        row["published"] = {"seconds": p.seconds, "speedup": p.seconds / t.seconds, "max_abs_auc_diff": float(diff)}
    return row


def bench_variant(model: nn.Module, x: Tensor, y: Tensor, name: str, method: str, params: dict[str, Any], batch: int,
                  base_seconds: float) -> dict[str, Any]:
    """Time ``method`` under a variant and check its maps against fp32 (Spearman)."""
    try:
        rho = check_equivalence(model, x, y, method, name, **params)
        with variant(model, name):
            t = timed(model, lambda: _batched(lambda xb, yb: attribute(model, xb, yb, method=method, **params), x, y, batch))
    except (RuntimeError, ValueError, NotImplementedError) as err:
        return {"status": f"skipped: {str(err).splitlines()[0][:200]}"}
    return {"status": "ok", "method": method, "seconds": t.seconds, "speedup": base_seconds / t.seconds, "spearman_min": rho}


# --- the execution policy against plain eager, and the distance to the machine's limit ---------------


def sgemm_gflops(device: torch.device, n: int = 2048, reps: int = 3) -> float:
    """The machine's fp32 matrix-multiply rate (GFLOP/s, best of ``reps`` n x n products): the arithmetic limit."""
    a, b = (torch.rand(n, n, generator=torch.Generator().manual_seed(i)).to(device) for i in (0, 1))
    best = math.inf
    for _ in range(reps + 1):  # the first product warms up
        _sync(device)
        start = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def model_gflop(model: nn.Module, shape: tuple[int, ...]) -> float:
    """GFLOP of one forward pass of one sample of ``shape`` (torch's FLOP counter: convolutions and matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros((1, *shape), device=model_device(model))
    with torch.no_grad(), FlopCounterMode(display=False) as counter, execution.policy_scope("eager"):
        model(x)
    return counter.get_total_flops() / 1e9


def _corr_min(a: Tensor, b: Tensor) -> float:
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return float(((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-300)).min())


def interleaved(fns: dict[str, Callable[[], Any]], reps: int, device: torch.device | None = None) -> dict[str, float]:
    """Minimum seconds of each function over ``reps`` rounds, the functions interleaved within each round (so that
    a change of the machine's load hits them alike)."""
    best = {name: math.inf for name in fns}
    for _ in range(max(1, reps)):
        for name, fn in fns.items():
            if device is not None:
                _sync(device)
            start = time.perf_counter()
            fn()
            if device is not None:
                _sync(device)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


FORWARD_POLICIES = ("eager", "channels_last", "compiled", "openvino")


def bench_policy(model: nn.Module, x: Tensor, y: Tensor, maps: Tensor, step: int, params: dict[str, Any], batch: int, reps: int) -> dict[str, Any]:
    """The execution policy against plain eager NCHW in one run: forward pass times per backend (interleaved),
    insertion/deletion per backend (AUCs must agree within 1e-4) and AttEXplore (maps must correlate >= 0.9999);
    compilation and conversion are warmed up untimed."""
    from .metrics import insertion_deletion

    device, shape, chunk = model_device(model), tuple(x.shape[1:]), chunk_size(model_device(model), x[0].numel())
    probe = torch.rand((chunk, *shape), generator=torch.Generator().manual_seed(1)).to(device)
    forwards, out = {}, {"chunk": chunk, "backends": {}}
    for policy in FORWARD_POLICIES:
        with execution.policy_scope(policy):
            forwards[policy] = execution.forward_only(model, chunk, chunk)
            forwards[policy](probe)  # compile or convert once, untimed
            out["backends"][policy] = execution.forward_backend(device)

    def in_scope(policy: str) -> Callable[[], Tensor]:
        def call() -> Tensor:
            with execution.policy_scope(policy):  # channels_last decides the layout at call time
                return forwards[policy](probe)
        return call

    seconds = interleaved({p: in_scope(p) for p in FORWARD_POLICIES}, reps, device)
    out["forward_s_per_sample"] = {p: t / chunk for p, t in seconds.items()}
    out["fwd_bwd_s_per_sample"] = {}
    for policy in ("eager", "channels_last"):
        with execution.policy_scope(policy):
            out["fwd_bwd_s_per_sample"][policy] = pass_seconds(model, shape, chunk, True, reps)
    results = {}
    for policy in ("eager", "compiled", "openvino"):
        with execution.policy_scope(policy):
            results[policy] = timed(model, lambda: insertion_deletion(model, x, maps, step=step))
    e = results["eager"].value
    out["insertion_deletion"] = {
        "step": step, "seconds": {p: r.seconds for p, r in results.items()},
        "speedup": {p: results["eager"].seconds / r.seconds for p, r in results.items() if p != "eager"},
        "max_abs_auc_diff": {p: float(max((e.insertion - r.value.insertion).abs().max(), (e.deletion - r.value.deletion).abs().max()))
                             for p, r in results.items() if p != "eager"},
    }
    maps_by = {}
    for policy in ("eager", "auto"):
        with execution.policy_scope(policy):
            t = timed(model, lambda: _batched(lambda xb, yb: attribute(model, xb, yb, method="attexplore", **params), x, y, batch))
        maps_by[policy] = t
    out["attexplore"] = {
        "params": params, "eager_s": maps_by["eager"].seconds, "policy_s": maps_by["auto"].seconds,
        "speedup": maps_by["eager"].seconds / maps_by["auto"].seconds,
        "map_correlation_min": _corr_min(maps_by["eager"].value, maps_by["auto"].value),
    }
    return out


def _bench_module(name: str) -> Any | None:
    """``bench/<name>.py`` of the repository (the benchmark's fixed baselines), None outside a checkout."""
    import importlib.util

    path = REPO_ROOT / "bench" / f"{name}.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"attx_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@contextlib.contextmanager
def _openvino_precision(name: str) -> Iterator[None]:
    """``$ATTX_OPENVINO_PRECISION`` set to ``name`` inside the block."""
    saved = os.environ.get("ATTX_OPENVINO_PRECISION")
    os.environ["ATTX_OPENVINO_PRECISION"] = name
    try:
        yield
    finally:
        if saved is None:
            del os.environ["ATTX_OPENVINO_PRECISION"]
        else:
            os.environ["ATTX_OPENVINO_PRECISION"] = saved


def bench_store_insdel(model: nn.Module, x: Tensor, maps: Tensor, reps: int, step: int = 224) -> dict[str, Any]:
    """Insertion/deletion on a store-sized call (these images, ``step`` px per step) against the plain eager batched
    loop of ``bench/insdel_loop.py`` (the fixed denominator), interleaved: today's policy (compiled), the default
    (OpenVINO where it imports), the default with OpenVINO in bf16 (the option), and the plain loop with OpenVINO's
    forward swapped in. Conversion and compilation are warmed up untimed (a worker pays them once per model);
    their seconds are reported."""
    from .metrics import insertion_deletion

    loop = _bench_module("insdel_loop")
    if loop is None:
        return {"status": "skipped: bench/insdel_loop.py not found (not a checkout)"}
    device, chunk = model_device(model), chunk_size(model_device(model), x[0].numel())
    warm = {}
    for policy, size in (("compiled", chunk), ("openvino", chunk), ("openvino", loop.CHUNK)):
        with execution.policy_scope(policy):
            start = time.perf_counter()
            execution.predict(model, x[:1], size)
            warm[f"{policy}@{size}"] = time.perf_counter() - start
    with execution.policy_scope("openvino"):
        ov_forward = execution.forward_only(model, 10**9, loop.CHUNK)
        backend = execution.forward_backend(device)
    values: dict[str, Any] = {}

    def run(name: str, fn: Callable[[], Any]) -> Callable[[], None]:
        return lambda: values.__setitem__(name, fn())

    def ours(policy: str, precision: str = "f32") -> Callable[[], tuple[Tensor, Tensor]]:
        def call() -> tuple[Tensor, Tensor]:
            with _openvino_precision(precision), execution.policy_scope(policy):
                res = insertion_deletion(model, x, maps, step=step)
            return res.insertion, res.deletion
        return call

    if execution.openvino() is not None and device.type == "cpu":
        with _openvino_precision("bf16"), execution.policy_scope("openvino"):
            start = time.perf_counter()
            execution.predict(model, x[:1], chunk)  # its own conversion, untimed
            warm["openvino_bf16"] = time.perf_counter() - start

    seconds = interleaved({
        "plain_eager": run("plain_eager", lambda: loop.plain_insertion_deletion(model, x, maps, step)),
        "today_compiled": run("today_compiled", ours("compiled")),
        "default": run("default", ours("auto")),
        **({"default_bf16": run("default_bf16", ours("auto", "bf16"))} if "openvino_bf16" in warm else {}),
        "plain_openvino": run("plain_openvino", lambda: loop.plain_insertion_deletion(model, x, maps, step, forward=ov_forward)),
    }, reps, device)
    ins, dele = values["plain_eager"]
    return {
        "n_images": int(x.shape[0]), "step": step, "forwards": int(2 * x.shape[0] * (math.ceil(x[0, 0].numel() / step) + 1)),
        "backend": backend, "warm_up_s": warm, "seconds": seconds,
        "speedup_vs_plain_eager": {k: seconds["plain_eager"] / v for k, v in seconds.items() if k != "plain_eager"},
        "max_abs_auc_diff_vs_plain_eager": {k: float(max((v[0].cpu() - ins.cpu()).abs().max(), (v[1].cpu() - dele.cpu()).abs().max()))
                                            for k, v in values.items() if k != "plain_eager"},
    }


def bench_captum_infidelity(model: nn.Module, x: Tensor, y: Tensor, maps: Tensor, n_perturbations: int = 20) -> dict[str, Any]:
    """INFD against Captum's ``infidelity`` (``normalize=True``: the same optimal rescaling) with the same
    perturbation rule and chunk size: the time ratio, and how far the means are apart (the random draws
    are taken in a different order, so the values agree only statistically)."""
    from captum.metrics import infidelity as captum_infidelity

    from .metrics import infidelity, infidelity_perturbation

    chunk = chunk_size(model_device(model), x[0].numel())
    generator = torch.Generator().manual_seed(SEED)
    ours = timed(model, lambda: infidelity(model, x, maps, y, n_perturbations=n_perturbations, batch_size=chunk))
    theirs = timed(model, lambda: captum_infidelity(model, lambda inputs: infidelity_perturbation(inputs, generator), x, maps,
                                                    target=y, n_perturb_samples=n_perturbations, max_examples_per_batch=chunk,
                                                    normalize=True))
    a, b = ours.value.double(), theirs.value.detach().double().cpu()
    return {"n_perturbations": n_perturbations, "ours_s": ours.seconds, "captum_s": theirs.seconds,
            "speedup": theirs.seconds / ours.seconds, "mean_ours": float(a.mean()), "mean_captum": float(b.mean())}


def bench_machine(model: nn.Module, shape: tuple[int, ...], forward_s: dict[str, float]) -> dict[str, Any]:
    """The model's forward GFLOP/s per policy beside the machine's sgemm GFLOP/s (the distance to the limit)."""
    peak, gflop = sgemm_gflops(model_device(model)), model_gflop(model, shape)
    rates = {p: gflop / s for p, s in forward_s.items()}
    return {"sgemm_gflops": peak, "model_gflop_per_sample": gflop, "forward_gflops": rates,
            "fraction_of_sgemm": {p: r / peak for p, r in rates.items()}}


def bench_table1(model: nn.Module, x: Tensor, batch: int) -> dict[str, Any]:
    """Seconds per image of the whole Table 1 protocol on these images: the 11 methods at the paper's settings
    (the standard profile's), each followed by insertion/deletion at 224 pixels per step, under today's policy
    (``bench/today.py``: the compiled forward and the methods before OpenVINO and the batched transforms) and under the new one (the default),
    interleaved method by method; compilation and conversion warmed up untimed."""
    from .chapters.protocol import PAPER_INSDEL, PAPER_METHODS
    from .metrics import insertion_deletion

    today = _bench_module("today")
    policies = {"new": contextlib.nullcontext}
    if today is not None:
        policies = {"today": today.todays_policy, **policies}
    n, chunk = x.shape[0], chunk_size(model_device(model), x[0].numel())
    for scope in policies.values():
        with scope():
            execution.forward_only(model, execution.COMPILE_MIN_SAMPLES, chunk)(x[:1])  # compile / convert, untimed
    with torch.no_grad():
        label = execution.predict(model, x, chunk).argmax(dim=1)
    rows: dict[str, dict[str, Any]] = {name: {} for name in policies}
    for method, params in PAPER_METHODS.items():
        params = {k: (x if v == "evaluation_set" else v) for k, v in params.items()}
        for name, scope in policies.items():
            with scope():
                a = timed(model, lambda: _batched(lambda xb, yb: attribute(model, xb, yb, method=method, **params), x, label, batch))
                m = timed(model, lambda: insertion_deletion(model, x, a.value, **PAPER_INSDEL))
            rows[name][method] = {"attribution_s_per_image": a.seconds / n, "insdel_s_per_image": m.seconds / n,
                                  "passes_counted_per_image": a.log.samples(True) / n,
                                  "forwards_counted_per_image": (a.log.samples(False) + m.log.samples(False)) / n}
    out: dict[str, Any] = {"n_images": n, "threads": torch.get_num_threads(),
                           "baseline": "bench/today.py" if today is not None else "skipped: bench/today.py not found (not a checkout)"}
    for name, methods in rows.items():
        out[name] = {"methods": methods, "seconds_per_image": sum(r["attribution_s_per_image"] + r["insdel_s_per_image"] for r in methods.values())}
    if today is not None:
        out["speedup"] = out["today"]["seconds_per_image"] / out["new"]["seconds_per_image"]
    return out


def _overrides(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    import json

    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        match = re.fullmatch(r"([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)=(.*)", pair)
        if not match:
            raise ValueError(f"--param expects METHOD.NAME=VALUE, got {pair!r}")
        method, name, text = match.groups()
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out.setdefault(method, {})[name] = value
    return out


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``attx bench``."""
    from .args import OneLineParser

    p = OneLineParser(prog="attx bench", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=models.DEFAULT_MODEL)
    p.add_argument("--random-weights", action="store_true", help="random init (timing of the paper's models offline)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--methods", default=",".join(TABLE2_METHODS), help="comma-separated method names")
    p.add_argument("--settings", choices=("small", "defaults"), default="small", help="small CPU settings or each method's published defaults")
    p.add_argument("--param", action="append", default=[], metavar="METHOD.NAME=VALUE", help="parameter override (repeatable)")
    p.add_argument("--images", type=int, default=4, help="number of images (packaged photos)")
    p.add_argument("--batch", type=int, default=4, help="images per attribute call (the published code uses 4)")
    p.add_argument("--chunk", type=int, default=None, help="samples per forward/backward chunk ($ATTX_CHUNK)")
    p.add_argument("--insdel-step", type=int, default=None, help="pixels per insertion/deletion step (small: H*W/14, defaults: 224)")
    p.add_argument("--variants", default="", help=f"comma-separated variants to time on attexplore: {', '.join(VARIANTS)} or '+' mixes")
    p.add_argument("--no-published", action="store_true", help="skip the published-structure baselines")
    p.add_argument("--no-policy", action="store_true", help="skip the execution policy vs plain eager comparison")
    p.add_argument("--table1", type=int, default=0, metavar="N", help="also time the whole Table 1 protocol (paper settings) on N images")
    p.add_argument("--robustness", action="store_true",
                   help="instead: seconds per training step of each robustness objective and per attacked image "
                        "(MNIST, FMNIST, the authors' settings) -> data/bench/robust-<device>.json")
    p.add_argument("--robust-scale", default="paper", metavar="SCALE",
                   help="with --robustness: the robustness scale to measure (attx_core.robust.SCALES; default: the authors' settings)")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed call of each method on one image")
    p.add_argument("--reps", type=int, default=2, help="repetitions of each pass-time measurement (min taken)")
    p.add_argument("--out", default=None, help="JSON path (default data/bench/<device-slug>.json)")
    return p


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One benchmark run as the JSON ``RUN`` record of the module docstring."""
    if args.chunk is not None:
        require(args.chunk >= 1, f"--chunk must be >= 1, got {args.chunk}")
        os.environ["ATTX_CHUNK"] = str(args.chunk)
    require(args.images >= 1 and args.batch >= 1, "--images and --batch must be >= 1")
    device = torch.device(args.device)
    methods = [m for m in args.methods.split(",") if m]
    overrides = _overrides(args.param)
    torch.manual_seed(SEED)  # reproducible random weights
    model = models.load(args.model, weights=None if args.random_weights else "auto", device=device)
    images = data.load_image_set("sample", size=model.input_size, n=args.images)
    x, y = images.x.to(device), images.labels.to(device)
    hw = int(x.shape[-2] * x.shape[-1])
    step = args.insdel_step or (hw // 14 if args.settings == "small" else 224)  # small: 3584 at 224 px, 15 points
    load_before = list(os.getloadavg())
    timer = PassTimer(model, args.reps)
    pass_seconds(model, tuple(x.shape[1:]), min(chunk_size(device), 8), True, 1)  # warm-up
    rows: dict[str, Any] = {}
    maps: dict[str, Tensor] = {}
    for method in methods:
        params = run_params(method, args.settings, overrides) if method in METHODS else {}
        if method in METHODS and not args.no_warmup:  # first calls pay one-time costs (lazy imports, new shapes)
            attribute(model, x[:1], y[:1], method=method, **params)
        rows[method], out = bench_method(model, x, y, method, params, args.batch, timer)
        if out is not None:
            maps[method] = out
        print(f"  {method}: {rows[method].get('seconds', 0):.2f} s", file=sys.stderr)
    result: dict[str, Any] = {"methods": rows}
    if not args.no_published and "attexplore" in METHODS:
        params = run_params("attexplore", args.settings, overrides)
        ours = rows.get("attexplore") or bench_method(model, x, y, "attexplore", params, args.batch, timer)[0]
        result["published_attexplore"] = bench_published(model, x, y, params, ours, maps.get("attexplore"), timer)
    insdel_maps = next(iter(maps.values()), None)
    if insdel_maps is not None:
        result["insertion_deletion"] = bench_insdel(model, x, insdel_maps, step, timer, not args.no_published)
        result["insertion_deletion"]["maps_of"] = next(iter(maps))
    variants = [v for v in args.variants.split(",") if v]
    if variants:
        vm = "attexplore" if "attexplore" in maps else next(iter(maps), None)
        result["variants"] = {
            v: bench_variant(model, x, y, v, vm, run_params(vm, args.settings, overrides), args.batch, rows[vm]["seconds"])
            if vm else {"status": "skipped: no method ran"}
            for v in variants
        }
    if not args.no_policy and insdel_maps is not None:
        result["policy"] = bench_policy(model, x, y, insdel_maps, step, run_params("attexplore", args.settings, overrides), args.batch, args.reps)
        result["store_insdel"] = bench_store_insdel(model, x, insdel_maps, args.reps)
        result["machine"] = bench_machine(model, tuple(x.shape[1:]), result["policy"]["forward_s_per_sample"])
        result["captum_infidelity"] = bench_captum_infidelity(model, x, y, insdel_maps)
    if args.table1:
        t1 = data.load_image_set("sample", size=model.input_size, n=args.table1)
        result["table1"] = bench_table1(model, t1.x.to(device), args.batch)
    chunk, ref = chunk_size(device), reference_batch(device)
    result["pass_time"] = {
        "batch": ref,
        "fwd_bwd_s_per_sample": timer.per_sample(tuple(x.shape[1:]), True, ref),
        "fwd_s_per_sample": timer.per_sample(tuple(x.shape[1:]), False, ref),
    }
    result["paper_table2"] = paper_pass_rates()
    result["loadavg"] = {"before": load_before, "after": list(os.getloadavg())}
    result.update(model=model.name, image_size=int(x.shape[-1]), n_images=int(x.shape[0]), batch=args.batch, chunk=chunk)
    result["provenance"] = provenance(
        device, profile="bench", model=model.name, weights=model.weights, images=images.source, n_images=int(x.shape[0]),
        seed=SEED, settings=args.settings, batch=args.batch, chunk=chunk, threads=torch.get_num_threads(),
    )
    return result


def run_robustness(args: argparse.Namespace) -> dict[str, Any]:
    """The robustness study's measured costs at a robustness scale, by default the authors' settings
    (:func:`attx_core.robust.costs.measure`), with the projected hours of each net at that scale."""
    from .robust import SCALES
    from .robust.costs import measure, projected_hours
    from .robust.training import BASE_OBJECTIVES

    device = torch.device(args.device)
    result = measure(["mnist", "fmnist"], list(BASE_OBJECTIVES), args.robust_scale, device)
    result["hours"] = {d: {o: projected_hours(result, d, o, args.robust_scale) for o in BASE_OBJECTIVES} for d in result["step_seconds"]}
    width = SCALES[args.robust_scale].width
    result["provenance"] = provenance(device, profile="bench-robustness", model=f"robust SmallCNN (width {width})", weights="random init",
                                      images="random inputs of the datasets' shape", n_images=None, seed=0, threads=torch.get_num_threads())
    return result


def write_result(path: Path, key: str, result: dict[str, Any]) -> None:
    """Store ``result`` under ``runs[key]`` of the JSON at ``path``, keeping the other runs."""
    import json

    stored = {"schema": 1, "runs": {}}
    if path.is_file():
        try:
            stored = json.loads(path.read_text())
        except json.JSONDecodeError:
            pass
    stored.setdefault("runs", {})[key] = result
    stored["schema"] = 1
    atomic_write_json(path, stored)


def format_table(result: dict[str, Any]) -> str:
    """The printed summary: one row per method, then the published baselines and insertion/deletion."""

    def f(v: Any, spec: str = ".2f") -> str:
        return "-" if v is None else format(v, spec)

    lines = [f"{'method':14s} {'s':>8s} {'img/s':>8s} {'passes/img':>11s} {'counted':>8s} {'effic.':>7s} {'mem MB':>8s} {'fps@def':>8s}"]
    for m, r in result["methods"].items():
        if r.get("status") != "ok":
            lines.append(f"{m:14s} {r.get('status')}")
            continue
        lines.append(
            f"{m:14s} {r['seconds']:8.2f} {r['fps']:8.3f} {f(r['passes_formula_per_image'], '.0f'):>11s} "
            f"{r['passes_counted_per_image']:8.1f} {r['efficiency']:7.2f} {r['peak_mem_mb']:8.0f} {f(r['projected_fps_defaults'], '.3f'):>8s}"
        )
    pub = result.get("published_attexplore")
    if pub:
        rho = pub.get("spearman_vs_ours", {})
        lines.append(
            f"published AttEXplore loop: {pub['seconds']:.2f} s, {pub['passes_counted_per_image']:.0f} passes/img "
            f"(formula {pub['passes_per_image']}), efficiency {pub['efficiency']:.2f}, speed-up of ours {f(pub['speedup'])}x, "
            f"Spearman vs ours min {f(rho.get('min'), '.4f')}"
        )
    ind = result.get("insertion_deletion")
    if ind:
        lines.append(
            f"insertion/deletion (step {ind['step']}): {ind['seconds']:.2f} s, {ind['forward_counted']} forwards, efficiency {ind['efficiency']:.2f}"
            + (f"; published loop {ind['published']['seconds']:.2f} s, speed-up {ind['published']['speedup']:.2f}x, "
               f"max |AUC diff| {ind['published']['max_abs_auc_diff']:.2e}" if "published" in ind else "")
        )
    for v, r in result.get("variants", {}).items():
        text = f"{r['seconds']:.2f} s, speed-up {r['speedup']:.2f}x, Spearman {r['spearman_min']:.4f}" if r.get("status") == "ok" else r["status"]
        lines.append(f"variant {v}: {text}")
    rates = {m: r["implied_passes_per_s"] for m, r in result.get("paper_table2", {}).items() if r["implied_passes_per_s"]}
    if rates:
        lines.append("paper Table 2 FPS x passes/image = implied passes/s: " + ", ".join(f"{m} {v:.0f}" for m, v in rates.items()))
    pol, mach = result.get("policy"), result.get("machine")
    if pol:
        fw, ind, ax = pol["forward_s_per_sample"], pol["insertion_deletion"], pol["attexplore"]
        lines.append("execution policy vs eager NCHW: forward " + ", ".join(f"{p} {1000 * v:.1f}" for p, v in fw.items()) + " ms/sample; "
                     "insertion/deletion "
                     + ", ".join(f"{p} {v:.2f}x (max |AUC diff| {ind['max_abs_auc_diff'][p]:.1e})" for p, v in ind["speedup"].items())
                     + f"; AttEXplore {ax['speedup']:.2f}x (map correlation min {ax['map_correlation_min']:.6f})")
    store = result.get("store_insdel")
    if store and "seconds" in store:
        diffs = store["max_abs_auc_diff_vs_plain_eager"]
        lines.append(f"insertion/deletion, {store['n_images']} images at {store['step']} px per step ({store['forwards']} forwards) vs the plain "
                     f"eager loop ({store['seconds']['plain_eager']:.1f} s): "
                     + ", ".join(f"{k} {v:.2f}x (max |AUC diff| {diffs[k]:.1e})" for k, v in store["speedup_vs_plain_eager"].items()))
    cap = result.get("captum_infidelity")
    if cap:
        lines.append(f"INFD ({cap['n_perturbations']} perturbations) vs Captum's infidelity: {cap['speedup']:.2f}x "
                     f"(mean INFD ours {cap['mean_ours']:.4g}, Captum {cap['mean_captum']:.4g}; different draw order)")
    if mach:
        lines.append(f"machine: sgemm {mach['sgemm_gflops']:.0f} GFLOP/s; model {mach['model_gflop_per_sample']:.2f} GFLOP/sample, forward "
                     + ", ".join(f"{p} {r:.0f} GFLOP/s ({100 * mach['fraction_of_sgemm'][p]:.0f}%)" for p, r in mach["forward_gflops"].items()))
    if result.get("table1"):
        t1 = result["table1"]
        for name in ("today", "new"):
            if name in t1:
                lines.append(f"Table 1 protocol, {name}'s policy: {t1[name]['seconds_per_image']:.0f} s/image on {t1['n_images']} image(s): "
                             + ", ".join(f"{m} {r['attribution_s_per_image'] + r['insdel_s_per_image']:.0f}" for m, r in t1[name]["methods"].items()))
        if "speedup" in t1:
            lines.append(f"Table 1 protocol: the new policy {t1['speedup']:.2f}x today's ({t1['threads']} thread(s))")
    lines.append(f"load average before/after: {result['loadavg']['before'][0]:.2f} / {result['loadavg']['after'][0]:.2f} (shared CPU inflates times)")
    return "\n".join(lines)


def check_args(args: argparse.Namespace) -> None:
    """Every ``attx bench`` argument checked before the model is loaded; ``ValueError`` naming the problem."""
    from .methods.registry import check_params
    from .validate import check_device

    models.check_name(args.model)
    device = check_device(args.device)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    require(bool(methods), f"--methods names no method; known methods: {', '.join(sorted(METHODS))}")
    unknown = [m for m in methods if m not in METHODS]
    require(not unknown, f"--methods: unknown method(s) {', '.join(unknown)}; known methods: {', '.join(sorted(METHODS))}")
    for method, params in _overrides(args.param).items():
        check_params(method, params)
    for name, value in (("--images", args.images), ("--batch", args.batch), ("--reps", args.reps)):
        require(value >= 1, f"{name} must be >= 1, got {value}")
    require(args.chunk is None or args.chunk >= 1, f"--chunk must be >= 1, got {args.chunk}")
    require(args.insdel_step is None or args.insdel_step >= 1, f"--insdel-step must be >= 1, got {args.insdel_step}")
    require(args.table1 >= 0, f"--table1 must be >= 0 images, got {args.table1}")
    for v in (v for v in args.variants.split(",") if v):
        parts = v.split("+")
        require(all(p in VARIANTS for p in parts), f"--variants: unknown variant {v!r}; use {', '.join(VARIANTS)} or '+'-joined mixes")
        require("fp16" not in parts or device.type == "cuda", f"--variants {v}: fp16 needs --device cuda (use bf16 on CPU)")
    if args.out is not None:
        out = Path(args.out)
        require(not out.is_dir(), f"--out {args.out!r} is a directory; give a .json file name")
        require(out.suffix == ".json", f"--out {args.out!r} must end in .json")
        require((out.parent if str(out.parent) else Path(".")).is_dir(), f"--out {args.out!r}: folder {str(out.parent)!r} does not exist")


def main(argv: Sequence[str] | None = None) -> int:
    """``attx bench``: run the benchmark, print the table, write ``data/bench/<device-slug>.json``.
    Bad arguments: one line on stderr, exit status 2, before anything is loaded."""
    try:
        args = build_parser().parse_args(list(argv) if argv is not None else None)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    try:
        check_args(args)
        result = run_robustness(args) if args.robustness else run(args)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"attx bench: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    slug = device_slug(torch.device(args.device))
    if args.robustness:
        path = Path(args.out) if args.out else REPO_ROOT / "data" / "bench" / f"robust-{slug}.json"
        write_result(path, result["profile"], result)
        print(json.dumps({k: result[k] for k in ("step_seconds", "attack", "hours")}, indent=1))
        print(f"-> {path}")
        return 0
    path = Path(args.out) if args.out else REPO_ROOT / "data" / "bench" / f"{slug}.json"
    write_result(path, f"{result['model']}/{args.settings}", result)
    print(format_table(result))
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
