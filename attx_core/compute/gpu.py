"""The GPU side of a bundle run (``bench/gpu_fill.sh``, see :mod:`attx_core.compute.bundle`): check the bundle, run a
one-minute smoke test (every method and the metric on the GPU against the CPU on two images), then ``attx compute``'s
fill on the GPU until a deadline, batches sized for its memory, and pack the new records into one output folder that
``attx compute --merge`` folds into the store.

Everything reads the bundle alone: ``$ATTX_DATA_DIR`` is its images, ``$ATTX_WEIGHTS_DIR`` its weights; new records go
to a copy of the store, so the repository's store is only read. TF32 is off (float32 as on the CPU) and the
execution policy is eager (no compile time on the lease) unless ``$ATTX_EXECUTION`` says otherwise.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from ..chapters import PROFILES
from ..chapters.protocol import QUICK_INSDEL, QUICK_METHODS
from ..methods import METHODS, attribute
from ..metrics import insertion_deletion
from ..store import device_name, results_root
from .bundle import pack, read_manifest

SIGN_STEPS = ("agi", "attexplore", "big", "guided_ig", "mfaba")  # paths of sign or ordering steps: float noise moves them
TOLERANCE = {"metric": 1e-3, "cosine": 0.99, "auc": 0.01}  # the metric on one map; every other method's map and AUCs
RESERVE_SECONDS = 60.0  # kept at the end of the run: the grace of a running batch, the pack
GRACE_SECONDS = 30.0  # a batch still running this long after the deadline is abandoned
SAMPLE_MIB = 160  # GPU memory one forward/backward sample of a stand-in is planned to need (for $ATTX_CHUNK)


def configure(bundle: Path, manifest: dict[str, Any], device: torch.device, work: Path, batch: int) -> tuple[Path, Path]:
    """Point the process at the bundle (images, weights) and at a copy of the store; float32 on the GPU, eager execution,
    forward/backward chunks sized for the GPU's free memory, ``batch`` images per stored batch. Returns (the store, its copy)."""
    profile = manifest["profile"]
    store = results_root() / profile
    copy_root = work / "results"
    if copy_root.exists():
        shutil.rmtree(copy_root)
    if store.is_dir():
        shutil.copytree(store, copy_root / profile, ignore=shutil.ignore_patterns(".claims", ".quarantine", "*.tmp"))
    os.environ.update(ATTX_RESULTS=str(copy_root), ATTX_DATA_DIR=str(bundle / manifest["images"]["folder"]),
                      ATTX_WEIGHTS_DIR=str(bundle / "weights"), ATTX_DEVICE=str(device))
    os.environ.setdefault("ATTX_EXECUTION", "eager")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        fits = int(torch.cuda.mem_get_info(device)[0] // 2 // (SAMPLE_MIB * 2**20))  # half the free memory
        os.environ.setdefault("ATTX_CHUNK", str(min(256, max(16, 1 << max(fits.bit_length() - 1, 0)))))
    PROFILES[profile]["batch_size"] = batch
    return store, copy_root / profile


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    """The smallest cosine similarity over images of two maps (1 where both are zero)."""
    a, b = a.flatten(1).double(), b.flatten(1).double()
    norms = a.norm(dim=1) * b.norm(dim=1)
    cos = torch.where(norms > 0, (a * b).sum(1) / norms.clamp_min(1e-300), torch.ones_like(norms))
    return float(cos.min())


def _aucs(model: torch.nn.Module, x: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    res = insertion_deletion(model, x, maps, target=None, **QUICK_INSDEL)
    return torch.stack([res.insertion, res.deletion]).cpu().double()


def smoke_test(manifest: dict[str, Any], device: torch.device, reference: str = "cpu", n_images: int = 2,
               methods: Sequence[str] | None = None) -> dict[str, Any]:
    """Every method (the quick profile's settings; ``methods``: these) and the metric on ``device`` against ``reference``
    on the bundle's first ``n_images``, with the first stand-in; every stand-in's forward too. A check fails on an
    error, a non-finite map, probabilities moving by more than 1e-4 or another top-1 class, the metric moving by more
    than ``TOLERANCE['metric']`` on the same map, or (methods without sign or ordering steps) a map cosine below
    ``TOLERANCE['cosine']`` or AUCs moving by more than ``TOLERANCE['auc']``; :data:`SIGN_STEPS` are only flagged there."""
    from ..experiments import runners
    from ..experiments.resolve import image_set

    stand_in = bool(PROFILES[manifest["profile"]].get("stand_ins"))
    imgs = image_set(manifest["images"]["set"], None)
    x, y = imgs.x[:n_images], imgs.labels[:n_images]
    xd, yd = x.to(device), y.to(device)
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()

    def check(name: str, run: Callable[[], dict[str, Any]]) -> None:
        t = time.perf_counter()
        try:
            row = {"check": name, **run()}
        except Exception as err:  # noqa: BLE001 - every check runs; one failing fails the smoke test, named
            row = {"check": name, "verdict": "fail", "error": f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"}
        row["seconds"] = round(time.perf_counter() - t, 2)
        rows.append(row)
        numbers = " ".join(f"{k}={v:.2e}" for k, v in row.items() if isinstance(v, float) and k != "seconds")
        print(f"smoke: {name:<28} {row['verdict']:<4} {numbers} {row.get('error', '')}", file=sys.stderr, flush=True)

    nets: dict[str, tuple[torch.nn.Module, torch.nn.Module]] = {}

    def forward(requested: str) -> dict[str, Any]:
        model = runners.resolve_model(requested, stand_in=stand_in).model
        ref, dev = nets.setdefault(requested, (copy.deepcopy(model).to(reference), copy.deepcopy(model).to(device)))
        with torch.no_grad():
            p_ref, p_dev = ref(x).softmax(1), dev(xd).softmax(1).cpu()
        diff = float((p_ref - p_dev).abs().max())
        return {"max_prob_diff": diff, "verdict": "ok" if diff <= 1e-4 and bool((p_ref.argmax(1) == p_dev.argmax(1)).all()) else "fail"}

    for requested in manifest["models"]:
        check(f"forward {requested}", lambda requested=requested: forward(requested))
    ref, dev = nets.get(next(iter(manifest["models"])), (None, None))
    maps: dict[str, torch.Tensor] = {}

    def method_check(method: str) -> dict[str, Any]:
        params, _ = runners.method_params(method, QUICK_METHODS.get(method, {}), seed=0)
        whole = params.get("background") == runners.EVALUATION_SET
        a_ref = attribute(ref, x, y, method=method, progress=False, **({**params, "background": x} if whole else params))
        a_dev = attribute(dev, xd, yd, method=method, progress=False, **({**params, "background": xd} if whole else params))
        maps.setdefault("first", a_ref)
        row = {"cosine": _cosine(a_ref, a_dev.cpu()), "auc_diff": float((_aucs(ref, x, a_ref) - _aucs(dev, xd, a_dev)).abs().max()),
               "finite": bool(torch.isfinite(a_dev).all())}
        off = row["cosine"] < TOLERANCE["cosine"] or row["auc_diff"] > TOLERANCE["auc"]
        row["verdict"] = "fail" if not row["finite"] or (off and method not in SIGN_STEPS) else "warn" if off else "ok"
        return row

    def metric_check() -> dict[str, Any]:
        diff = float((_aucs(ref, x, maps["first"]) - _aucs(dev, xd, maps["first"].to(device))).abs().max())
        return {"metric_diff": diff, "verdict": "ok" if diff <= TOLERANCE["metric"] else "fail"}

    if ref is not None:
        for method in methods or list(METHODS):
            check(method, lambda method=method: method_check(method))
        check("insertion/deletion on one map", metric_check)
    verdict = "failed" if ref is None or any(r["verdict"] == "fail" for r in rows) else "passed"
    return {"verdict": verdict, "device": device_name(device), "reference": reference, "images": list(imgs.names[:n_images]),
            "tolerance": TOLERANCE, "sign_steps": list(SIGN_STEPS), "seconds": round(time.perf_counter() - start, 1), "rows": rows}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m attx_core.compute.gpu", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", default="_bundle", help="the bundle folder (attx compute --bundle)")
    parser.add_argument("--out", required=True, help="the output folder (on the device machine: $OUT/gpu-run)")
    parser.add_argument("--minutes", type=float, default=7.0, help="the whole run, smoke test and pack included (default 7)")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (the tests)")
    parser.add_argument("--batch", type=int, default=8, help="images per stored batch (default 8, the planner's step)")
    parser.add_argument("--work", default=None, help="where the store's copy lives (default: a temporary folder)")
    parser.add_argument("--smoke", default=None, metavar="M1,M2", help="the methods the smoke test checks (default: every method)")
    args = parser.parse_args(argv)
    if not args.minutes > 0 or args.batch < 1:
        parser.error("--minutes must be positive and --batch at least 1")
    return args


def fill_until(profile: str, only: Sequence[str], deadline: float) -> tuple[list[str], str | None]:
    """``attx compute``'s fill (:func:`attx_core.compute.fill.run`: the planner, step by step) restricted to ``only``,
    one line per stored batch, no new batch after ``deadline`` and a batch still running :data:`GRACE_SECONDS` later
    abandoned (the tables are written where the records are merged). Returns (the failed steps, why it stopped)."""
    from ..store import DeadlineReached
    from .fill import run

    def say(text: str) -> None:
        print(f"attx gpu: {text}", file=sys.stderr, flush=True)

    def on_batch(entry: Any, batch: list[str], seconds: float) -> None:
        say(f"{entry.path.parent.name} {entry.key.get('model')} {entry.key.get('method')}: {len(batch)} image(s), {seconds / len(batch):.2f} s/image")

    def stop(*_: Any) -> None:
        raise DeadlineReached("time is up: the running batch was abandoned")

    handler = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, max(deadline - time.time(), 0.0) + GRACE_SECONDS)
    try:
        return run(profile, only, deadline, on_batch=on_batch, on_cell=lambda cell: say(f"step {cell}"), log=say), None
    except DeadlineReached as err:
        return [], str(err)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a bundle: 0 when the smoke test passed and the records were packed, 1 when a planned step failed otherwise
    than by reaching the bundle's last images (packed all the same), 2 on a bad bundle or device, 3 when the smoke
    test failed (nothing computed)."""
    start = time.time()
    args = parse_args(argv)
    bundle, out = Path(args.bundle).resolve(), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        manifest = read_manifest(bundle)
        device = torch.device(args.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("no CUDA device here (torch.cuda.is_available() is False)")
    except ValueError as err:
        print(f"attx gpu: error: {err}", file=sys.stderr)
        return 2
    work = Path(args.work or tempfile.mkdtemp(prefix="attx-gpu-"))
    store, run_store = configure(bundle, manifest, device, work, args.batch)
    summary: dict[str, Any] = {"bundle": {k: manifest[k] for k in ("profile", "commit", "created", "only", "steps")},
                               "device": device_name(device), "cuda": torch.version.cuda, "torch": torch.__version__,
                               "chunk": os.environ.get("ATTX_CHUNK"), "batch": args.batch, "execution": os.environ["ATTX_EXECUTION"]}

    def save() -> None:
        (out / "run.json").write_text(json.dumps(summary, indent=1) + "\n")

    summary["smoke"] = smoke_test(manifest, device, methods=args.smoke.split(",") if args.smoke else None)
    save()
    print(f"attx gpu: smoke test {summary['smoke']['verdict']} in {summary['smoke']['seconds']:.0f} s", file=sys.stderr, flush=True)
    if summary["smoke"]["verdict"] != "passed":
        return 3
    began = time.time()
    failed, stopped = fill_until(manifest["profile"], manifest["only"], start + args.minutes * 60 - RESERVE_SECONDS)
    files, count, left_out = pack(run_store, store, out, manifest["profile"], manifest["commit"])
    horizon = [f for f in failed if "holds only some images" in f]
    summary.update(compute_seconds=round(time.time() - began, 1), stopped=stopped or "every step the bundle serves is done",
                   horizon=horizon, failed=[f for f in failed if f not in horizon], records=count, files=[f.name for f in files],
                   left_out=left_out, seconds=round(time.time() - start, 1))
    save()
    print(f"attx gpu: {count} new record(s) in {len(files)} file(s) under {out} ({summary['stopped']}; {len(horizon)} step(s) reached "
          f"the bundle's last images)" + (f"; left out for want of room: {', '.join(left_out)}" if left_out else ""), file=sys.stderr, flush=True)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
