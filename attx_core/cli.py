"""The ``attx`` command: list models and methods, explain an image, build the book, fill a results store, benchmark."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from .args import OneLineParser, UsageError, name_values, positive_number
from .args import device as checked_device


def _check_output(path: str, option: str, suffixes: Sequence[str]) -> Path:
    """An output file path that can be written: a known suffix, not a directory, an existing folder."""
    out = Path(path)
    if out.is_dir() or path.endswith(("/", os.sep)):
        raise UsageError(f"{option} {path!r} is a directory; give a file name, e.g. {out / ('heatmap' + suffixes[0])}")
    if out.suffix.lower() not in suffixes:
        raise UsageError(f"{option} {path!r} has {'the unknown extension ' + repr(out.suffix) if out.suffix else 'no extension'}; "
                         f"use {', '.join(suffixes)}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{option} {path!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"{option} {path!r}: folder {str(folder)!r} is not writable")
    return out


def _explain_args(args: argparse.Namespace) -> dict[str, Any]:
    """Every ``attx explain`` argument checked before anything is loaded; raises :class:`UsageError`."""
    from .methods.registry import check_params
    from .models import check_name
    from .validate import check_device
    from .viz import SAVE_FORMATS

    image = Path(args.image)
    if image.is_dir():
        raise UsageError(f"image {args.image!r} is a directory; give one image file")
    if not image.is_file():
        raise UsageError(f"image file not found: {args.image}")
    from .data import check_image_file

    try:
        check_image_file(image)
    except ValueError as err:
        raise UsageError(str(err)) from None
    params = name_values("--param", args.param)
    try:
        check_params(args.method, params)
        check_name(args.model)
        device = check_device(args.device)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.weights is not None:
        if args.random_weights:
            raise UsageError("--weights and --random-weights exclude each other")
        if not Path(args.weights).is_file():
            raise UsageError(f"--weights {args.weights!r}: no such file")
    if args.target is not None and args.target < 0:
        raise UsageError(f"--target must be a class index >= 0, got {args.target}")
    out = _check_output(args.out, "--out", SAVE_FORMATS)
    save_map = _check_output(args.save_map, "--save-map", (".npy",)) if args.save_map else None
    if save_map is not None and save_map.resolve() == out.resolve():
        raise UsageError("--save-map and --out name the same file")
    return {"params": params, "device": device, "out": out, "save_map": save_map}


def cmd_models(args: argparse.Namespace) -> int:
    from .models import DEFAULT_MODEL, MODELS

    for name, spec in MODELS.items():
        mark = "*" if name == DEFAULT_MODEL else " "
        print(f"{mark} {name:20s} {spec.input_size:4d}px  {spec.description}")
    print("(* offline default)")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from .methods import METHODS

    if args.card:
        from .attacks import ATTACKS
        from .cards import explorer_card, method_card

        if args.card not in METHODS and args.card not in ATTACKS:
            print(f"attx: unknown method or explorer {args.card!r}; known: {', '.join(sorted(METHODS))}; explorers: {', '.join(ATTACKS)}",
                  file=sys.stderr)
            return 2
        print(method_card(args.card) if args.card in METHODS else explorer_card(args.card))
        return 0
    for name, info in sorted(METHODS.items()):
        defaults = ", ".join(f"{k}={v!r}" for k, v in info.defaults.items())
        passes = "from the explorer" if callable(info.passes) else (info.passes or "?")
        print(f"{name:20s} {info.description}\n{'':20s} passes/image: {passes}; defaults: {defaults}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from . import data, models, viz
    from .engine import class_score, input_gradients
    from .methods import attribute

    checked = _explain_args(args)  # everything is checked before the model is loaded
    weights = None if args.random_weights else (args.weights or "auto")
    model = models.load(args.model, weights=weights, device=checked["device"])
    image = data.read_image(args.image, model.input_size)[None].to(checked["device"])
    if args.target is not None and args.target >= model.num_classes:
        raise UsageError(f"--target {args.target} is not a class of {model.name} (0..{model.num_classes - 1})")
    with torch.no_grad():
        probs = model(image).softmax(1)[0]
    top = probs.topk(min(5, probs.numel()))
    names = model.class_names
    for p, i in zip(top.values.tolist(), top.indices.tolist()):
        print(f"{p:6.3f}  {i:4d}  {names[i]}")
    target = torch.tensor([args.target if args.target is not None else int(top.indices[0])], device=checked["device"])
    input_gradients(model, image, target, class_score("logit"))  # warm-up pass (first-call costs), not timed
    start = time.perf_counter()
    attr = attribute(model, image, target, method=args.method, progress=False if args.no_progress else None, **checked["params"])
    if checked["device"].type == "cuda":
        torch.cuda.synchronize(checked["device"])
    seconds = time.perf_counter() - start
    label = names[int(target)]
    title = f"{args.method} on {model.name}: class {int(target)} ({label}), {seconds:.2f} s (after warm-up)"
    viz.save_overlay(image[0].cpu(), attr[0].cpu(), checked["out"], title=title)
    written = [str(checked["out"])]
    if checked["save_map"] is not None:
        with open(checked["save_map"], "wb") as fh:  # a file object: np.save would add .npy to c16.NPY
            np.save(fh, attr[0].detach().cpu().numpy())
        written.append(f"{checked['save_map']} (raw signed map, {tuple(attr[0].shape)} float32)")
    print(f"{args.method}: {seconds:.2f} s -> {', '.join(written)}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from .book import build_book

    return build_book(profile=args.profile, force=args.force, notebooks=args.only or None)


def _compute_args(args: argparse.Namespace) -> tuple[str, float | None, int | None, str | None, list[str]]:
    """Checked ``attx compute`` arguments (before anything loads); raises :class:`UsageError` on a bad one."""
    from .chapters import PROFILES, chapters, settings

    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r}; known profiles: {', '.join(PROFILES)}")
    names = [c.name for c in chapters(args.profile)]
    only = [c.strip() for part in args.only or [] for c in part.split(",") if c.strip()]
    if args.only is not None and not only:
        raise UsageError("--only names no chapter; give CHAPTER[:MODEL][,...] or leave it out for every chapter")
    unknown = [c for c in only if c.partition(":")[0] not in names]
    if unknown:
        raise UsageError(f"unknown chapter(s) {', '.join(unknown)} in profile {args.profile!r}; chapters: {', '.join(names)}")
    for c in only:
        chapter, _, model = c.partition(":")
        known = settings(args.profile, chapter).get("models") or []
        if model and model not in known:
            raise UsageError(f"chapter {chapter!r} has no model {model!r} in profile {args.profile!r}; its models: {', '.join(known) or 'none'}")
    hours = positive_number("--hours", args.hours)
    threads = positive_number("--threads", args.threads, integer=True)
    return args.profile, hours, threads, checked_device(args.device), only


def cmd_compute(args: argparse.Namespace) -> int:
    try:
        profile, hours, threads, device, only = _compute_args(args)
    except UsageError as err:
        print(f"attx compute: {err}", file=sys.stderr)
        return 2
    from .compute import compute_command
    from .compute.costs import measured_rates
    from .compute.planner import plan, status
    from .store import ResultsStore

    if args.status:
        table = status(profile, list(dict.fromkeys(c.partition(":")[0] for c in only)) or None)
        print(table.astype(object).where(table.notna(), "").to_string(index=False, float_format=lambda h: f"{h:.1f}"))
        print(measured_rates(ResultsStore(profile).entries()).text())
        return 0
    if args.audit:
        from .compute.audit import audit_command

        return audit_command(profile, n=args.n, only=only or None, seed=args.seed)
    if args.bundle:
        from .compute.bundle import bundle_command

        return bundle_command(profile, args.bundle, only=only or None, limit_mib=args.bundle_mib)
    if args.merge:
        from .compute.bundle import merge_command

        return merge_command(profile, args.merge)
    if args.plan:
        from .compute import cpu_hours, missing, remaining

        steps = plan(profile, only or None)
        hours = [cpu_hours(remaining(missing(profile, s.cell))[2]) for s in steps[:args.plan]]
        print("\n".join(f"{i + 1:3d}. {s}  (~{h:.2f} CPU-h)" for i, (s, h) in enumerate(zip(steps, hours)))
              or "nothing to compute: every claim is decided")
        if len(steps) > args.plan:
            print(f"... and {len(steps) - args.plan} more steps")
        return 0
    return compute_command(profile, hours=hours, threads=threads, device=device, only=only or None, tables_only=args.tables_only)


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = OneLineParser(prog="attx", description=__doc__)
    parser.add_argument("--version", action="version", version=f"attx {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", help="list registered models").set_defaults(fn=cmd_models)
    methods = sub.add_parser("methods", help="list attribution methods with defaults; --card NAME prints one method's card")
    methods.add_argument("--card", metavar="NAME", help="a method (or explorer) card: published behaviour, default, options, cost, conformance test")
    methods.set_defaults(fn=cmd_methods)
    ex = sub.add_parser("explain", help="top-5 classes and a heatmap overlay PNG for one image")
    ex.add_argument("image")
    ex.add_argument("--model", default="efficientnet_lite0", help="a registered model (`attx models`), timm:<name> or torchvision:<name>")
    ex.add_argument("--method", default="saliency")
    ex.add_argument("--target", type=int, default=None, help="class index (default: top-1)")
    ex.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="method parameter, VALUE as JSON (repeatable)")
    ex.add_argument("--out", default="heatmap.png", help="heatmap image: .png, .pdf, .svg or .jpg (default heatmap.png)")
    ex.add_argument("--save-map", metavar="MAP.npy", default=None, help="also save the raw signed map (3, H, W) float32 as .npy")
    ex.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    ex.add_argument("--random-weights", action="store_true", help="random init (no pretrained weights; works offline)")
    ex.add_argument("--weights", metavar="PATH", default=None, help="a state-dict file (.pth/.pt/.safetensors) instead of the pretrained weights")
    ex.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown on a terminal for runs over 2 s)")
    ex.set_defaults(fn=cmd_explain)
    bk = sub.add_parser("book", help="execute the notebooks and build the HTML book into _build/html")
    bk.add_argument("--profile", default="standard", help="standard (default): render the committed store; quick: compute a small book from scratch")
    bk.add_argument("--force", action="store_true", help="recompute instead of reusing stored results")
    bk.add_argument("--only", action="append", help="notebook name to run (repeatable)")
    bk.set_defaults(fn=cmd_book)
    cp = sub.add_parser("compute", help="fill a profile's results store in priority order (resumable), then write its tables as CSV")
    cp.add_argument("--profile", default="standard", help="profile to fill (default: standard)")
    cp.add_argument("--hours", metavar="H", help="stop cleanly after H hours (default: run until the store is complete)")
    cp.add_argument("--threads", metavar="T", help="torch threads (default: torch's)")
    cp.add_argument("--device", metavar="D", help="cpu or cuda[:N] (default: cuda when available)")
    cp.add_argument("--only", action="append", metavar="CHAPTER[:MODEL][,...]",
                    help="only these chapters, or one model of a chapter, e.g. table01_insdel:inception_v3 (repeatable)")
    cp.add_argument("--tables-only", action="store_true", help="compute nothing: regenerate data/results/<profile>/tables/*.csv")
    cp.add_argument("--status", action="store_true", help="compute nothing: print per chapter and model the images stored, the "
                    "comparisons still open, the images they are projected to need and what that costs in CPU-hours")
    cp.add_argument("--plan", nargs="?", type=int, const=20, default=None, metavar="K",
                    help="compute nothing: print the next K planned computations (default 20) and the claims they serve")
    cp.add_argument("--audit", action="store_true", help="recompute --n stored images per configuration with the current code, on "
                    "the device, thread count and forward backend their provenance names, and report per method how far they moved")
    cp.add_argument("--n", type=int, default=8, metavar="K", help="--audit: images per configuration (default 8, drawn with --seed)")
    cp.add_argument("--seed", type=int, default=0, help="--audit: the seed that draws the images (default 0)")
    cp.add_argument("--bundle", metavar="FOLDER", help="compute nothing: write into FOLDER what a GPU machine needs to run the next "
                    "planned computations (weights of the stand-ins they need, their images) within --bundle-mib")
    cp.add_argument("--bundle-mib", type=float, default=64.0, metavar="MIB", help="--bundle: the size the working tree and the bundle "
                    "may take together (default 64)")
    cp.add_argument("--merge", metavar="FOLDER", help="fold the records a GPU run wrote into FOLDER into the store, with their provenance")
    cp.set_defaults(fn=cmd_compute)
    from .book.run import add_arguments, run_command

    rn = sub.add_parser("run", help="execute one chapter's notebook your way (settings, models, images) into a page of its own")
    add_arguments(rn)
    rn.set_defaults(fn=run_command)
    sub.add_parser("bench", help="performance benchmark (see `attx bench -h`)")
    return parser


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text or type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``attx`` console script: errors are one line on stderr with exit status 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # everything after `bench` belongs to the benchmark's own parser
        from .bench import main as bench_main

        return bench_main(argv[1:])
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # -h, --version, or a usage error already printed on one line
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    try:
        return int(args.fn(args) or 0)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"attx: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("attx: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
