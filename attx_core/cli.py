"""The ``attx`` command: list models and methods, explain an image, build the book, fill a results store, benchmark."""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Sequence


def _parse_value(text: str) -> Any:
    """CLI parameter values: JSON when it parses (numbers, true/false, null), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _params(pairs: Sequence[str]) -> dict[str, Any]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"attx: --param expects NAME=VALUE, got {pair!r}")
        name, value = pair.split("=", 1)
        out[name] = _parse_value(value)
    return out


def cmd_models(args: argparse.Namespace) -> int:
    from .models import DEFAULT_MODEL, MODELS

    for name, spec in MODELS.items():
        mark = "*" if name == DEFAULT_MODEL else " "
        print(f"{mark} {name:20s} {spec.input_size:4d}px  {spec.description}")
    print("(* offline default)")
    return 0


def cmd_methods(args: argparse.Namespace) -> int:
    from . import METHODS

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
    import torch

    from . import attribute, data, models, viz

    model = models.load(args.model, weights=None if args.random_weights else "auto")
    image = data.read_image(args.image, model.input_size)[None]
    with torch.no_grad():
        probs = model(image).softmax(1)[0]
    top = probs.topk(5)
    for p, i in zip(top.values.tolist(), top.indices.tolist()):
        print(f"{p:6.3f}  {i:4d}  {model.class_names[i]}")
    target = torch.tensor([args.target if args.target is not None else int(top.indices[0])])
    start = time.perf_counter()
    params = _params(args.param)
    attr = attribute(model, image, target, method=args.method, **params)
    seconds = time.perf_counter() - start
    title = f"{args.method} on {model.name}: class {int(target)} ({model.class_names[int(target)]}), {seconds:.2f} s"
    viz.save_overlay(image[0], attr[0], args.out, title=title)
    print(f"{args.method}: {seconds:.2f} s -> {args.out}")
    return 0


def cmd_book(args: argparse.Namespace) -> int:
    from .book import build_book

    return build_book(profile=args.profile, force=args.force, notebooks=args.only or None)


def _compute_args(args: argparse.Namespace) -> tuple[str, float | None, int | None, str | None, list[str]]:
    """Checked ``attx compute`` arguments; raises SystemExit(one-line message) on a bad one."""
    from .experiments import PROFILES

    def bad(text: str) -> SystemExit:
        return SystemExit(f"attx compute: {text}")

    if args.profile not in PROFILES:
        raise bad(f"unknown profile {args.profile!r}; known profiles: {', '.join(PROFILES)}")
    chapters = PROFILES[args.profile]["chapters"]
    only = [c.strip() for part in args.only or [] for c in part.split(",") if c.strip()]
    unknown = [c for c in only if c not in chapters]
    if unknown:
        raise bad(f"unknown chapter(s) {', '.join(unknown)} in profile {args.profile!r}; chapters: {', '.join(chapters)}")
    hours = None
    if args.hours is not None:
        try:
            hours = float(args.hours)
        except ValueError:
            raise bad(f"--hours expects a number, got {args.hours!r}") from None
        if not hours > 0 or hours == float("inf"):
            raise bad(f"--hours must be a positive number, got {args.hours}")
    threads = None
    if args.threads is not None:
        if not args.threads.isdigit() or int(args.threads) < 1:
            raise bad(f"--threads must be a positive integer, got {args.threads!r}")
        threads = int(args.threads)
    device = args.device
    if device is not None:
        import torch

        try:
            dev = torch.device(device)
        except RuntimeError:
            raise bad(f"unknown device {device!r}; use cpu or cuda[:N]") from None
        if dev.type not in ("cpu", "cuda"):
            raise bad(f"unsupported device {device!r}; use cpu or cuda[:N]")
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise bad(f"--device {device}: CUDA is not available on this machine")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise bad(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return args.profile, hours, threads, device, only


def cmd_compute(args: argparse.Namespace) -> int:
    try:
        profile, hours, threads, device, only = _compute_args(args)
    except SystemExit as err:
        print(err, file=sys.stderr)
        return 2
    from .experiments.compute import compute_command

    return compute_command(profile, hours=hours, threads=threads, device=device, only=only or None, tables_only=args.tables_only)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="attx", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("models", help="list registered models").set_defaults(fn=cmd_models)
    methods = sub.add_parser("methods", help="list attribution methods with defaults; --card NAME prints one method's card")
    methods.add_argument("--card", metavar="NAME", help="a method (or explorer) card: published behaviour, default, options, cost, conformance test")
    methods.set_defaults(fn=cmd_methods)
    ex = sub.add_parser("explain", help="top-5 classes and a heatmap overlay PNG for one image")
    ex.add_argument("image")
    ex.add_argument("--model", default="efficientnet_lite0")
    ex.add_argument("--method", default="saliency")
    ex.add_argument("--target", type=int, default=None, help="class index (default: top-1)")
    ex.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="method parameter (repeatable)")
    ex.add_argument("--out", default="heatmap.png")
    ex.add_argument("--random-weights", action="store_true", help="random init (no pretrained weights; for smoke tests)")
    ex.set_defaults(fn=cmd_explain)
    bk = sub.add_parser("book", help="execute the notebooks and build the HTML book into _build/html")
    bk.add_argument("--profile", default="quick")
    bk.add_argument("--force", action="store_true", help="recompute instead of reusing cached results")
    bk.add_argument("--only", action="append", help="notebook name to run (repeatable)")
    bk.set_defaults(fn=cmd_book)
    cp = sub.add_parser("compute", help="fill a profile's results store in priority order (resumable), then write its tables as CSV")
    cp.add_argument("--profile", default="standard", help="profile to fill (default: standard)")
    cp.add_argument("--hours", metavar="H", help="stop cleanly after H hours (default: run until the store is complete)")
    cp.add_argument("--threads", metavar="T", help="torch threads (default: torch's)")
    cp.add_argument("--device", metavar="D", help="cpu or cuda[:N] (default: cuda when available)")
    cp.add_argument("--only", action="append", metavar="CHAPTER[,CHAPTER]", help="only these chapters (repeatable)")
    cp.add_argument("--tables-only", action="store_true", help="compute nothing: regenerate data/results/<profile>/tables/*.csv")
    cp.set_defaults(fn=cmd_compute)
    sub.add_parser("bench", help="performance benchmark (see `attx bench -h`)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``attx`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # everything after `bench` belongs to the benchmark's own parser
        from .bench import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        print(f"attx: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
