"""Build the Jupyter Book: execute every registered chapter's notebook with papermill, then ``jupyter-book build``.

Layout: the sources are jupytext percent files ``notebooks/<name>.py``; papermill writes the executed
notebooks to ``book/_executed/<name>.ipynb`` (gitignored), which the generated ``_build/_toc.yml`` lists;
Jupyter Book runs with ``execute_notebooks: "off"`` and ``-W -n`` so a broken reference fails the build. The
landing page (the toc's root) summarises the other chapters from the store, so it is executed last.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import yaml

from ..chapters import CHAPTERS, PROFILES, is_store, run_options
from ..store import REPO_ROOT, results_root
from .toc import toc_notebooks, write_toc

NOTEBOOKS = REPO_ROOT / "notebooks"
EXECUTED = REPO_ROOT / "book" / "_executed"
KERNEL = "python3"
TIMINGS = EXECUTED / "timings.json"
EXECUTIONS = EXECUTED / "executions.json"  # per chapter: seconds, when, and whether it computed or only read the store
WIDGET_ASSETS = REPO_ROOT / "book" / "_static" / "widgets"  # gitignored; filled from npm when reachable
WIDGET_PACKAGES = {"requirejs@2.3.6": ("package/require.js", "require.js"),
                   "@jupyter-widgets/html-manager@1.0.6": ("package/dist/embed-amd.js", "embed-amd.js")}


def _kernel_env() -> dict[str, str]:
    """Environment for the kernels: this interpreter first on PATH, no progress bars."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["TQDM_DISABLE"] = "1"
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def ensure_kernel() -> None:
    """Make sure kernelspec ``python3`` runs this interpreter; install it into sys.prefix when missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        argv0 = spec.argv[0]
        resolved = shutil.which(argv0, path=_kernel_env()["PATH"]) if not os.path.isabs(argv0) else argv0
        if resolved and Path(resolved).resolve() == Path(sys.executable).resolve():
            return
    except NoSuchKernel:
        pass
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL], check=True)


def execute_notebook(name: str, parameters: dict, out_dir: Path = EXECUTED) -> float:
    """Execute ``notebooks/<name>.py`` with papermill into ``<out_dir>/<name>.ipynb``; returns seconds. The page is
    written beside it and moved into place only once every cell ran: an interrupted or failed execution leaves the
    last complete page as it was."""
    import jupytext
    import papermill

    source = NOTEBOOKS / f"{name}.py"
    if not source.is_file():
        raise FileNotFoundError(f"notebook source {source} not found (a registered chapter needs notebooks/{name}.py)")
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    running = out_dir / f"{name}.running.ipynb"
    old_env = dict(os.environ)
    os.environ.update(_kernel_env())  # the kernel inherits this process's environment
    try:
        papermill.execute_notebook(jupytext.read(source), str(running), parameters=parameters,
                                   kernel_name=KERNEL, cwd=str(REPO_ROOT), progress_bar=False)
        _hide_default_parameters(running)
        running.replace(out_dir / f"{name}.ipynb")
    finally:
        running.unlink(missing_ok=True)
        os.environ.clear()
        os.environ.update(old_env)
    return time.perf_counter() - start


def incomplete(path: Path) -> bool:
    """Whether an executed notebook has a code cell that never ran (an execution cut short before pages were atomic)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return any(c.cell_type == "code" and c.source.strip() and c.get("execution_count") is None for c in nb.cells)


def _hide_default_parameters(path: Path) -> None:
    """Tag the notebook's default ``parameters`` cell ``remove-cell`` (the page keeps the values papermill
    injected, the ones used, not the defaults they replaced) and drop the injected cell's code (``remove-input``:
    the settings dropdown at the end of the page shows the profile)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        wanted = "remove-cell" if "parameters" in tags else "remove-input" if "injected-parameters" in tags else None
        if wanted and wanted not in tags:
            tags.append(wanted)
    nbformat.write(nb, path)


def widget_assets() -> bool:
    """Local copies of the widget JavaScript (require.js and the ipywidgets HTML manager, the versions
    myst-nb loads from a CDN), fetched once with ``npm pack``; False when npm cannot get them."""
    import tarfile
    import tempfile

    if all((WIDGET_ASSETS / name).is_file() for _, name in WIDGET_PACKAGES.values()):
        return True
    npm = shutil.which("npm")
    if npm is None:
        return False
    WIDGET_ASSETS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for package, (member, name) in WIDGET_PACKAGES.items():
            done = subprocess.run([npm, "pack", package, "--silent"], cwd=tmp, capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                return False
            with tarfile.open(Path(tmp) / done.stdout.strip().splitlines()[-1]) as tar:
                (WIDGET_ASSETS / name).write_bytes(tar.extractfile(member).read())
    return True


def _build_config() -> Path:
    """``_config.yml``, plus local widget JavaScript when available (so widgets work in the HTML offline)."""
    config = yaml.safe_load((REPO_ROOT / "_config.yml").read_text())
    if widget_assets():
        sphinx = config.setdefault("sphinx", {}).setdefault("config", {})
        sphinx["nb_ipywidgets_js"] = {"widgets/require.js": {}, "widgets/embed-amd.js": {"data-jupyter-widgets-cdn": "https://cdn.jsdelivr.net/npm/"}}
    else:
        print("[book] widget JavaScript not available locally (no npm): the HTML loads it from a CDN", flush=True)
    path = REPO_ROOT / "_build" / "book_config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _placeholder(name: str) -> None:
    """A stub page for a chapter that has never been executed (so the toc resolves)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {name}\n\nNot executed yet: run `attx book --only {name}`.")]
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, EXECUTED / f"{name}.ipynb")


def _written_since(profile: str, start: float) -> bool:
    """Whether any record file of the profile's store was written at or after ``start`` (epoch seconds)."""
    folder = results_root() / profile
    return folder.is_dir() and any(p.stat().st_mtime >= start for p in folder.rglob("*.json"))


def execution_record(profile: str, name: str, force: bool, seconds: float, start: float, failed: bool = False) -> dict[str, Any]:
    """How one chapter's notebook ran: seconds, the UTC date it finished, the run options, and whether it computed
    (a store profile's page only reads the store; another profile's page computed if its store was written meanwhile)."""
    options = run_options(profile, force)
    computes = name in CHAPTERS and CHAPTERS[name].computes
    computed = computes and not options["partial"] and _written_since(profile, start)
    return {"seconds": round(seconds, 1), "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "store": is_store(profile),
            "run_options": options, "computes": computes, "computed": computed, "failed": failed}


def _write_timings(profile: str, timings: dict[str, float], executions: dict[str, dict[str, Any]]) -> None:
    """Merge this build's chapter wall times into ``timings.json`` (read by the landing page) and each chapter's
    :func:`execution_record` into ``executions.json`` (the execution statistics page)."""
    stored = read_timings()
    stored.setdefault(profile, {}).update({k: round(v, 1) for k, v in timings.items()})
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    TIMINGS.write_text(json.dumps(stored, indent=1))
    runs = read_executions()
    runs.setdefault(profile, {}).update(executions)
    EXECUTIONS.write_text(json.dumps(runs, indent=1))


def read_timings() -> dict[str, dict[str, float]]:
    """Wall seconds of the last execution of every chapter, per profile ({} before the first build)."""
    return json.loads(TIMINGS.read_text()) if TIMINGS.is_file() else {}


def read_executions() -> dict[str, dict[str, dict[str, Any]]]:
    """The last :func:`execution_record` of every chapter, per profile ({} before the first build)."""
    return json.loads(EXECUTIONS.read_text()) if EXECUTIONS.is_file() else {}


def publish_tables(profile: str) -> Path:
    """Regenerate the profile's CSV tables from its store (computes nothing) and copy them next to the HTML,
    to ``_build/html/tables/<profile>/``, where every page links its chapter's CSV."""
    from ..compute import write_tables

    target = REPO_ROOT / "_build" / "html" / "tables" / profile
    target.mkdir(parents=True, exist_ok=True)
    for path in write_tables(profile):
        shutil.copy2(path, target / path.name)
    return target


def build_book(profile: str = "standard", force: bool = False, notebooks: Sequence[str] | None = None, html: bool = True) -> int:
    """Execute the book's notebooks (all, or ``notebooks``) under ``profile`` and build the HTML into
    ``_build/html``; prints the wall time of every chapter. Returns 0 on success (the CLI's exit code)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}")
    names = toc_notebooks()
    unknown = sorted(set(notebooks or []) - set(names))
    if unknown:
        raise ValueError(f"unknown notebook(s) {unknown}; the book has: {', '.join(names)}")
    ensure_kernel()
    root, chapters = names[0], names[1:]
    selected = [n for n in chapters if not notebooks or n in notebooks]
    timings = {}
    failed = []
    for name in [*selected, root]:  # the landing page summarises the chapters: last
        print(f"[book] executing {name} (profile {profile}) ...", flush=True)
        start = time.time()
        try:
            timings[name] = execute_notebook(name, {"profile": profile, "force": force})
            print(f"[book] {name}: {timings[name]:.1f} s", flush=True)
        except Exception as err:  # papermill raises PapermillExecutionError with the cell's traceback
            failed.append(name)
            print(f"[book] {name} FAILED: {str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__}", flush=True)
        seconds = timings.get(name, time.time() - start)
        # written after every chapter: the pages that report executions see this build's earlier chapters
        record = execution_record(profile, name, force, seconds, start, name in failed)
        _write_timings(profile, {} if name in failed else {name: seconds}, {name: record})
    for name in names:
        page = EXECUTED / f"{name}.ipynb"
        if page.is_file() and incomplete(page):
            print(f"[book] {name}: its executed page has cells that never ran (an interrupted build); not published", flush=True)
            failed.append(name)
            page.unlink()
        if not page.is_file():
            _placeholder(name)
        elif name in failed:
            print(f"[book] {name}: the page keeps its last complete execution", flush=True)
    if html:
        start = time.perf_counter()
        cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(REPO_ROOT), "--config", str(_build_config()),
               "--toc", str(write_toc()), "-W", "-n", "--keep-going"]
        result = subprocess.run(cmd, cwd=REPO_ROOT, env=_kernel_env())
        timings["jupyter-book build"] = time.perf_counter() - start
        if result.returncode != 0:
            failed.append("jupyter-book build")
        else:
            publish_tables(profile)
    print("[book] wall time per chapter (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    print(f"[book] total {sum(timings.values()):.0f} s" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    if html and not failed:
        print(f"[book] HTML: {REPO_ROOT / '_build' / 'html' / 'index.html'}")
    return 1 if failed else 0
