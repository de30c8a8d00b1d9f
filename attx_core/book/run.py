"""``attx run CHAPTER``: one chapter's notebook executed your way (settings, models, images, device) into a page of
its own: ``<out>/<chapter>.ipynb`` and ``<out>/html/<chapter>.html``.

Everything is checked before anything loads. The chapter's computations then run here, into a store of the run's own
(``<out>/store`` unless ``store`` names another), with the progress bar of ``attx compute``; a rerun resumes from that
store. The notebook, executed by papermill, only reads the store; Jupyter Book renders the page.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..args import UsageError, name_values, positive_number
from ..args import device as checked_device

RESERVED = ("profile", "chapter")  # settings the page's own arguments set


def _fits(declared: Any, value: Any) -> bool:
    """Whether ``value`` has the type of the declared setting (None declared: any; an integer where a float is)."""
    if declared is None:
        return True
    if isinstance(declared, bool) or isinstance(value, bool):
        return isinstance(declared, bool) and isinstance(value, bool)
    if isinstance(declared, float):
        return isinstance(value, (int, float))
    if isinstance(declared, (list, tuple)):
        return isinstance(value, list)
    return isinstance(value, type(declared))


def _type_name(declared: Any) -> str:
    return "a list" if isinstance(declared, (list, tuple)) else "a number" if isinstance(declared, float) else \
        {bool: "true or false", int: "an integer", str: "a string", dict: "a JSON object"}.get(type(declared), type(declared).__name__)


def checked_overrides(profile: str, chapter: str, overrides: Mapping[str, Any] | None = None, models: Sequence[Any] | None = None,
                      images: str | os.PathLike | None = None, n_images: int | None = None, random_weights: bool = False) -> dict[str, Any]:
    """The settings a run changes, checked against the chapter's declared settings under ``profile`` (a known name, a
    value of the declared type, model names :func:`attx_core.models.load` accepts, an image folder with labels.csv);
    models may be wrapped models (:func:`attx_core.models.wrap`), given as their labels. Raises :class:`UsageError`."""
    from .. import models as registry
    from ..chapters import PROFILES, chapters, settings
    from ..data import image_set_folder
    from ..experiments.resolve import USER_MODELS, model_labels

    if n_images is not None and (isinstance(n_images, bool) or not isinstance(n_images, int) or n_images < 1):
        raise UsageError(f"--n-images must be a positive integer, got {n_images!r}")
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    names = [c.name for c in chapters(profile)]
    if chapter not in names:
        raise UsageError(f"unknown chapter {chapter!r} (attx run runs a chapter with computations); chapters: {', '.join(names)}")
    declared = settings(profile, chapter)
    out = dict(overrides or {})
    for name, value in out.items():
        if name in RESERVED or name not in declared:
            raise UsageError(f"--set {name}: not a setting of chapter {chapter!r}; its settings: "
                             f"{', '.join(sorted(k for k in declared if k not in RESERVED))}")
        if not _fits(declared[name], value):
            raise UsageError(f"--set {name}={value!r}: {name} is {_type_name(declared[name])} (declared {declared[name]!r}), "
                             f"not {type(value).__name__}")
    for name, given, option in (("models", models, "--model"), ("images", images, "--images"), ("n_images", n_images, "--n-images")):
        if given is None or (name == "models" and not given):
            continue
        if name not in declared:
            raise UsageError(f"{option}: chapter {chapter!r} has no {name} setting")
        if name in out:
            raise UsageError(f"{option} and --set {name} both given: use one")
        out[name] = list(given) if name == "models" else given
    if "models" in out:
        for model in out["models"]:
            if isinstance(model, str) and model not in USER_MODELS:
                try:
                    registry.check_name(model)
                except ValueError as err:
                    raise UsageError(str(err)) from None
        try:
            out["models"] = model_labels(out["models"])
        except ValueError as err:
            raise UsageError(str(err)) from None
    if "images" in out:
        try:
            folder = image_set_folder(str(out["images"]))
        except ValueError as err:
            raise UsageError(f"images: {err}") from None
        out["images"] = str(folder.resolve()) if folder is not None and out["images"] != "val-subset" else str(out["images"])
    if random_weights:
        out["random_weights"] = True
    return out


@contextlib.contextmanager
def _environment(**values: str | None) -> Iterator[None]:
    """Within the block, ``os.environ`` has ``values`` (None: left as it is); the notebook's kernel inherits them."""
    old = dict(os.environ)
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(old)


def _compute(chapter: str, cfg: dict[str, Any], say: Callable[[str], None], progress: bool) -> None:
    """Compute what the store lacks of the chapter under ``cfg``, with the progress bar of ``attx compute`` (passes)."""
    from tqdm import tqdm

    from ..chapters import get
    from ..compute.costs import cpu_hours, entry_cost
    from ..compute.plan import remaining
    from ..store import StoreEntry, compute_policy

    spec = get(chapter)
    planned: list[tuple[StoreEntry, list[str]]] = []
    list(spec.frames(cfg, plan=planned))
    n, entries, passes = remaining(planned)
    say(f"{n} image computations missing in {entries} store entries (~{passes:,.0f} lite0 passes, ~{cpu_hours(passes):.2f} CPU-hours)")
    if not n:
        return
    bar = tqdm(total=passes, unit="pass", unit_scale=True, file=sys.stderr, smoothing=0.05, dynamic_ncols=True, disable=not progress)

    def on_batch(entry: StoreEntry, batch: list[str], seconds: float) -> None:
        bar.update(len(batch) * entry_cost(entry))
        bar.set_postfix_str(f"{entry.key.get('model', '')} {entry.key.get('method', '')}: {seconds / len(batch):.1f} s/image")

    try:
        with compute_policy(on_batch=on_batch):
            list(spec.frames(cfg))
    finally:
        bar.close()


def _html(notebook: Path, title: str) -> Path:
    """Render an executed notebook as a page of its own with Jupyter Book (its single-page build, nothing executed)."""
    import yaml

    from ..store import REPO_ROOT
    from .build import _kernel_env

    work = notebook.parent / "_build"
    book = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    config = {k: v for k, v in book.items() if k not in ("only_build_toc_files", "exclude_patterns")}
    config["title"] = title
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(notebook), "--config", str(work / "config.yml"),
           "--path-output", str(work)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_kernel_env())
    built = work / "_build" / "_page" / notebook.stem / "html"
    if done.returncode != 0 or not (built / f"{notebook.stem}.html").is_file():
        raise RuntimeError(f"jupyter-book could not render {notebook}: {' '.join((done.stderr or done.stdout).split())[-300:]}")
    target = notebook.parent / "html"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(built, target)
    shutil.rmtree(work)
    return target / f"{notebook.stem}.html"


def run_chapter(chapter: str, out: str | os.PathLike, profile: str = "quick", overrides: Mapping[str, Any] | None = None,
                models: Sequence[Any] | None = None, images: str | os.PathLike | None = None, n_images: int | None = None,
                device: str | None = None, random_weights: bool = False, store: str | os.PathLike | None = None,
                progress: bool = True) -> Path:
    """Run one chapter your way into a page of its own (see the module docstring) and return the HTML's path. ``models``:
    names :func:`attx_core.models.load` accepts or wrapped models (:func:`attx_core.models.wrap`; their classes must be
    importable from a module for the notebook's kernel); random weights only with ``random_weights=True`` (the page then
    decides no claim). Arguments are checked first (:class:`UsageError`)."""
    from ..chapters import get, settings
    from ..experiments.resolve import USER_MODELS, save_wrapped
    from .build import ensure_kernel, execute_notebook

    given = checked_overrides(profile, chapter, overrides, models, images, n_images, random_weights)
    device = checked_device(device)
    folder = Path(out).resolve()
    root = Path(store).resolve() if store is not None else folder / "store"
    folder.mkdir(parents=True, exist_ok=True)

    def say(text: str) -> None:
        print(f"attx run: {text}", file=sys.stderr, flush=True)

    wrapped = [m for m in given.get("models", []) if m in USER_MODELS]
    path = os.pathsep.join([p for p in sys.path if p] + [os.environ.get("PYTHONPATH", "")]) if wrapped else None
    timings = {}
    with _environment(ATTX_RESULTS=str(root), ATTX_DEVICE=device, PYTHONPATH=path):
        for label in wrapped:
            save_wrapped(label)
        cfg = settings(profile, chapter, **given)
        say(f"{chapter} (profile {profile}) on {', '.join(map(str, cfg.get('models') or [])) or 'its data'}; store {root}")
        start = time.perf_counter()
        _compute(chapter, cfg, say, progress)
        timings["compute"] = time.perf_counter() - start
        ensure_kernel()
        start = time.perf_counter()
        try:
            execute_notebook(chapter, {"profile": profile, "force": False, "overrides": given}, folder)
        except Exception as err:  # papermill's error carries the cell's traceback: its last line says what failed
            raise RuntimeError(f"the notebook failed: {str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__} "
                               f"(the executed notebook: {folder / (chapter + '.ipynb')})") from None
        timings["notebook"] = time.perf_counter() - start
    start = time.perf_counter()
    page = _html(folder / f"{chapter}.ipynb", get(chapter).title)
    timings["html"] = time.perf_counter() - start
    say(", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + f"; page {page} (notebook {folder / (chapter + '.ipynb')})")
    return page


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``attx run``."""
    parser.add_argument("chapter", help="a chapter with computations (e.g. table01_insdel; `attx compute --status` lists them)")
    parser.add_argument("--profile", default="quick", help="settings to start from: quick (default), standard, paper, test")
    parser.add_argument("--set", action="append", default=[], dest="values", metavar="NAME=VALUE",
                        help="change one of the chapter's settings, VALUE as JSON (repeatable), e.g. --set seed=1")
    parser.add_argument("--model", action="append", default=[], metavar="NAME",
                        help="a model instead of the chapter's (repeatable): a registered name (`attx models`), timm:<name>, torchvision:<name>")
    parser.add_argument("--images", metavar="DIR", help="a folder of images with labels.csv (file,label) instead of the profile's")
    parser.add_argument("--n-images", metavar="N", help="the first N images")
    parser.add_argument("--device", metavar="D", help="cpu or cuda[:N] (default: cuda when available)")
    parser.add_argument("--out", metavar="FOLDER", help="where the page goes (default _build/run/CHAPTER): CHAPTER.ipynb, html/CHAPTER.html")
    parser.add_argument("--random-weights", action="store_true",
                        help="randomly initialised models (no pretrained weights; the page decides no claim)")
    parser.add_argument("--store", metavar="FOLDER", help="the results store (default: FOLDER/store under --out; data/results is the committed one)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_command(args: argparse.Namespace) -> int:
    """``attx run``: a usage error is one line and exit status 2, a failed notebook one line and exit status 1."""
    try:
        page = run_chapter(args.chapter, args.out or Path("_build") / "run" / args.chapter, args.profile, name_values("--set", args.values),
                           args.model, args.images, positive_number("--n-images", args.n_images, integer=True), args.device,
                           args.random_weights, args.store, progress=not args.no_progress)
    except UsageError as err:
        print(f"attx run: {err}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        print(f"attx run: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    print(page)
    return 0
