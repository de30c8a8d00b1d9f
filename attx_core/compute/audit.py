"""``attx compute --audit``: recompute stored images with the current code and report, per configuration, how far they moved.

For every store entry with per-image scores (insertion, deletion, INFD) that the chosen chapters read (``--only``), K stored images are drawn with
the seed and recomputed by the entry's own runner (:class:`~attx_core.experiments.runners.Run` with ``recompute``) into a
temporary store; the committed store is only read. Like is compared with like: a record whose provenance names another
CPU (model or instruction-set flags), another GPU, or a forward backend this machine does not run is skipped with a note;
the others are recomputed with the thread count, execution policy and image count their provenance names, in the batch
they were stored with. Records stored before per-record provenance are recomputed on the entry's first run's settings and
audited at the mean level only.

Each method is classed by the float-sensitivity measurement (``bench/float_sensitivity.py``, stored as
``audit/float_sensitivity.json`` in the profile's store) by the stated rule: *float-stable* when its largest per-image
|difference| under two threads, weights x (1 + 1e-7) and another batch composition is <= :data:`STABLE_LIMIT`, else
*float-sensitive* (a method not measured counts as float-sensitive). A float-stable configuration fails when a record
recomputed like with like moves by more than :data:`STABLE_FAIL` (a silent code change: bump the method's version and
recompute its records); a float-sensitive one, or records audited at the mean level, fail when the interval of the mean
difference excludes 0 by more than float rounding (it lies wholly beyond +-:data:`STABLE_FAIL`). The interval is Student's t
(:func:`attx_core.stats.t_interval`: exact for normal differences at the audit's small n, where a percentile bootstrap covers
far less than it says) at a family-wise 95% level: Bonferroni over the configurations audited together, so that an
unchanged store fails an audit of 22 configurations about 1 time in 20, not 2 times in 3. The result is printed and
written to ``audit/audit-<UTC time>.json``.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import torch

from ..chapters import settings
from ..execution import forward_backend, policy_scope
from ..experiments.resolve import image_ids
from ..experiments.runners import device
from ..stats import t_interval
from ..store import ResultsStore, StoreEntry, atomic_write_json, cpu_info, device_name, provenance
from ..validate import require
from .plan import Cell, cells, missing

STABLE_LIMIT = 1e-5  # float-stable: the largest per-image |difference| under (a)-(c) of the sensitivity measurement
STABLE_FAIL = 1e-4  # a float-stable record recomputed like with like may move at most this much
SCORES = ("insertion", "deletion", "infd")  # the per-image scores an audited record holds
FAMILY_ALPHA = 0.05  # the chance that an audit of an unchanged store fails somewhere (Bonferroni over its configurations)
SENSITIVITY_FILE = "float_sensitivity.json"


def sensitivity(profile: str) -> dict[str, Any] | None:
    """The profile's stored float-sensitivity measurement (``bench/float_sensitivity.py``), None when there is none."""
    path = ResultsStore(profile).reports / SENSITIVITY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def classes(profile: str) -> dict[str, str]:
    """Each measured method's class (float-stable / float-sensitive) from the profile's stored sensitivity measurement."""
    return dict((sensitivity(profile) or {}).get("classes", {}))


def sensitivity_table(measurement: dict[str, Any]) -> pd.DataFrame:
    """The measurement as a table: per method (least moved first) its class and, per condition and score, the median and
    largest per-image |difference| from the reference run."""
    rows = pd.DataFrame(measurement["table"])
    rows["condition"] = rows.condition.map(measurement["conditions"])
    wide = rows.pivot_table(index="method", columns=["condition", "metric"], values=["median_abs_diff", "max_abs_diff"])
    wide.columns = wide.columns.reorder_levels([1, 2, 0])
    wide = wide.rename(columns={"median_abs_diff": "median", "max_abs_diff": "largest"})
    wide = wide.sort_index(axis=1, level=[0, 1, 2], ascending=[True, False, False])
    wide = wide.loc[rows.groupby("method").max_abs_diff.max().sort_values().index]
    wide.insert(0, ("", "", "class"), wide.index.map(measurement["classes"]))
    return wide


def provenance_coverage(profile: str) -> pd.DataFrame:
    """Per kind and model of the profile's store: records stored, and how many name the run that computed them."""
    rows = []
    for path in ResultsStore(profile).entry_paths():
        stored = json.loads(path.read_text())
        if not isinstance(stored.get("records"), dict) or "key" not in stored:
            continue
        named = set(stored.get("record_provenance", {}))
        rows.append({"kind": path.parent.name, "model": stored["key"].get("model"), "records": len(stored["records"]),
                     "with per-record provenance": len(named & set(stored["records"]))})
    frame = pd.DataFrame(rows, columns=["kind", "model", "records", "with per-record provenance"])
    return frame.groupby(["kind", "model"]).sum()


@dataclass(frozen=True)
class Unit:
    """One recomputation: stored images of one entry computed as one batch under one environment."""

    entry: str
    ids: tuple[str, ...]
    threads: int
    execution: str
    n_images: int | None
    like: bool  # per-record provenance, same device: compared per image (else at the mean level only)


def _device_here(prov: dict[str, Any]) -> str | None:
    """Why a record's provenance names another device than this run's (None: the same device type)."""
    here = device()
    if "cuda" in prov or here.type == "cuda":
        same = "cuda" in prov and here.type == "cuda" and prov.get("device") == device_name(here)
        return None if same else f"computed on {prov.get('device')}, this run is on {device_name(here)}"
    info = cpu_info()
    if prov.get("cpu") != info["cpu"] or list(prov.get("isa", [])) != info["isa"]:
        return f"computed on {prov.get('cpu')} ({' '.join(prov.get('isa', []))}), this CPU is {info['cpu']} ({' '.join(info['isa'])})"
    return None


def _batch(entry: StoreEntry, image_id: str, batch_size: int) -> tuple[str, ...]:
    """The stored batch of ``image_id``: the records stored with it (same run, same second), in id order, cut to ``batch_size``."""
    ref = entry.record_provenance[image_id]
    same = sorted(i for i, r in entry.record_provenance.items() if r == ref)
    start = same.index(image_id) // batch_size * batch_size
    return tuple(same[start:start + batch_size])


def draw(entry: StoreEntry, n: int, seed: int, batch_size: int) -> tuple[list[Unit], list[str]]:
    """The units that recompute ``n`` stored images of ``entry`` drawn with ``seed`` (whole stored batches where the records
    name their run; records from another device are passed over), and notes on what was passed over."""
    order = sorted(entry.records)
    random.Random(seed).shuffle(order)
    first = entry.provenance
    units, mean_level, skipped = [], [], {}
    done: set[str] = set()
    for image_id in order:
        if len(done) >= n:
            break
        if image_id in done:
            continue
        prov = entry.provenance_of(image_id)
        other = None if prov is None else _device_here(prov)
        if other is not None:
            skipped[other] = skipped.get(other, 0) + 1
        elif prov is None:
            mean_level.append(image_id)
            done.add(image_id)
        else:
            batch = _batch(entry, image_id, int(prov.get("batch_size") or batch_size))
            done.update(batch)
            units.append(Unit(entry.path.name, batch, int(prov.get("threads") or 1), str(prov.get("execution") or "auto"),
                              prov.get("n_images"), True))
    step = int(first.get("batch_size") or batch_size)
    mean_level.sort()
    names = image_ids(entry.key["images"], None)[0]
    for k in range(0, len(mean_level), step):
        batch = tuple(mean_level[k:k + step])
        n_images = first.get("n_images")
        covered = n_images if n_images and max(names.index(i) for i in batch) < n_images else None
        units.append(Unit(entry.path.name, batch, int(first.get("threads") or 1), str(first.get("execution") or "auto"), covered, False))
    return units, [f"{entry.path.stem}: {k} record(s) passed over ({why})" for why, k in skipped.items()]


@contextlib.contextmanager
def _environment(root: Path, threads: int, execution: str) -> Iterator[None]:
    """Runs in the block write into ``root`` with ``threads`` torch threads under execution policy ``execution``."""
    before_root, before_threads = os.environ.get("ATTX_RESULTS"), torch.get_num_threads()
    os.environ["ATTX_RESULTS"] = str(root)
    torch.set_num_threads(threads)
    try:
        with policy_scope(execution):
            yield
    finally:
        torch.set_num_threads(before_threads)
        if before_root is None:
            os.environ.pop("ATTX_RESULTS", None)
        else:
            os.environ["ATTX_RESULTS"] = before_root


def _backend_differs(prov: dict[str, Any] | None) -> str | None:
    """Why this run's forward backend is not the one a record's provenance names (None: the same, or not recorded)."""
    named = (prov or {}).get("forward_backend")
    here = forward_backend(device())
    return None if named is None or named == here else f"forward backend {named!r}, here {here!r}"


def recompute(profile: str, cell: Cell, units: Sequence[Unit], entries: dict[str, StoreEntry],
              root: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Recompute ``units`` (of entries read by ``cell``) into the temporary store ``root``: entry name -> id -> record, and notes."""
    out: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    groups: dict[tuple[int, str, int | None], list[Unit]] = {}
    for unit in units:
        groups.setdefault((unit.threads, unit.execution, unit.n_images), []).append(unit)
    for (threads, execution, n_images), group in groups.items():
        with _environment(root, threads, execution):
            todo: dict[str, list[list[str]]] = {}
            for unit in group:
                entry = entries[unit.entry]
                prov = entry.provenance_of(unit.ids[0]) if unit.like else None
                differs = _backend_differs(prov)
                if differs:
                    notes.append(f"{entry.path.stem} {', '.join(unit.ids)}: skipped ({differs})")
                    continue
                todo.setdefault(unit.entry, []).append(list(unit.ids))
            if not todo:
                continue
            limited = Cell(cell.chapter, cell.model, cell.sections, cell.configs, n_images)
            limited.frames(profile, recompute=todo)
            for name, batches in todo.items():
                entry = entries[name]
                fresh = StoreEntry(ResultsStore(profile).folder / entry.path.parent.name / name, entry.key)
                out.setdefault(name, {}).update({i: fresh.records[i] for b in batches for i in b if i in fresh.records})
                lost = [i for b in batches for i in b if i not in fresh.records]
                if lost:
                    notes.append(f"{entry.path.stem}: {len(lost)} image(s) not recomputed ({', '.join(lost[:3])}): the runner did not reach them")
    return out, notes


def compare(entries: dict[str, StoreEntry], units: Sequence[Unit], fresh: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per recomputed image and score: entry, model, method, image, metric, stored, recomputed, difference, like."""
    rows = []
    for unit in units:
        entry = entries[unit.entry]
        for image_id in unit.ids:
            if image_id not in fresh.get(unit.entry, {}):
                continue
            for metric in (m for m in SCORES if m in entry.records[image_id]):
                old, new = float(entry.records[image_id][metric]), float(fresh[unit.entry][image_id][metric])
                rows.append({"entry": entry.path.stem, "model": entry.key.get("model"), "method": entry.key.get("method"), "image": image_id,
                             "metric": metric, "stored": old, "recomputed": new, "difference": new - old, "like": unit.like})
    return pd.DataFrame(rows, columns=["entry", "model", "method", "image", "metric", "stored", "recomputed", "difference", "like"])


def verdicts(records: pd.DataFrame, method_class: dict[str, str]) -> pd.DataFrame:
    """Per entry and score: n (like with like / mean level), the largest per-image |difference| like with like, the mean
    difference with its family-wise interval, the method's class, and pass/fail by the module's rule."""
    rows = []
    groups = list(records.groupby(["entry", "model", "method", "metric"], sort=False))
    alpha = FAMILY_ALPHA / max(len(groups), 1)
    for (entry, model, method, metric), g in groups:
        cls = method_class.get(method, "float-sensitive")
        like, mean_level = g[g.like].difference, g[~g.like].difference
        mean, lo, hi = t_interval(g.difference.to_numpy(), alpha)
        if cls != "float-stable":  # every image is judged at the mean level
            j_lo, j_hi = lo, hi
        else:  # like-with-like images are judged one by one; the others by their mean
            j_lo, j_hi = t_interval(mean_level.to_numpy(), alpha)[1:] if len(mean_level) else (0.0, 0.0)
        largest = float(like.abs().max()) if len(like) else float("nan")
        why = []
        if cls == "float-stable" and len(like) and largest > STABLE_FAIL:
            why.append(f"a per-image difference {largest:.2g} > {STABLE_FAIL:g}: bump {method}'s version and recompute its records")
        if j_lo > STABLE_FAIL or j_hi < -STABLE_FAIL:
            why.append(f"the mean difference's interval [{j_lo:.2g}, {j_hi:.2g}] lies beyond +-{STABLE_FAIL:g} (more than float rounding)")
        rows.append({"entry": entry, "model": model, "method": method, "metric": metric,
                     "class": cls + ("" if method in method_class else " (not measured)"),
                     "n_like": len(like), "n_mean_level": len(mean_level), "max_abs_diff": largest,
                     "max_abs_diff_all": float(g.difference.abs().max()), "mean_diff": mean, "ci_lo": lo, "ci_hi": hi,
                     "passed": not why, "why": "; ".join(why)})
    return pd.DataFrame(rows)


def audit(profile: str, n: int = 8, only: Sequence[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Recompute ``n`` drawn stored images of every audited entry the chosen chapters read; the result as a JSON-ready dict."""
    require(isinstance(n, int) and n >= 1, f"--n must be a positive integer, got {n!r}")
    notes: list[str] = []
    entries: dict[str, StoreEntry] = {}
    plan: list[tuple[Cell, list[Unit]]] = []
    for cell in cells(profile, only):
        batch_size = int(settings(profile, cell.chapter).get("batch_size") or 1)
        units: list[Unit] = []
        for entry, _ in missing(profile, cell):
            if entry.path.name in entries or not entry.records:
                continue
            if not any(m in next(iter(entry.records.values())) for m in SCORES):
                notes.append(f"{cell}: {entry.path.parent.name} records hold no per-image score ({', '.join(SCORES)}): not audited")
                continue
            entries[entry.path.name] = entry
            drawn, skipped = draw(entry, n, seed, batch_size)
            units += drawn
            notes += skipped
        if units:
            plan.append((cell, units))
    records = []
    with tempfile.TemporaryDirectory(prefix="attx-audit-") as tmp:
        for cell, units in plan:
            print(f"attx compute --audit: {cell}: recomputing {sum(len(u.ids) for u in units)} images of "
                  f"{len({u.entry for u in units})} configurations", file=sys.stderr, flush=True)
            fresh, skipped = recompute(profile, cell, units, entries, Path(tmp))
            notes += skipped
            records.append(compare(entries, units, fresh))
    frame = pd.concat(records, ignore_index=True) if records else compare({}, [], {})
    method_class = classes(profile)  # read when judging: a measurement stored while the recomputation ran counts
    if not method_class:
        notes.insert(0, f"no float-sensitivity measurement in {ResultsStore(profile).folder / 'audit'}: every method is audited as float-sensitive")
    table = verdicts(frame, method_class) if len(frame) else pd.DataFrame()
    return {
        "profile": profile, "n": n, "seed": seed, "only": list(only or []),
        "command": f"attx compute --profile {profile} --audit --n {n} --seed {seed}" + (f" --only {','.join(only)}" if only else ""),
        "rule": f"float-stable (largest per-image |difference| under (a)-(c) <= {STABLE_LIMIT:g}): a like-with-like difference above "
                f"{STABLE_FAIL:g} fails; float-sensitive, or no per-record provenance: the interval of the mean difference may not lie "
                f"wholly beyond +-{STABLE_FAIL:g}",
        "interval": f"Student's t, family-wise {1 - FAMILY_ALPHA:.0%} (Bonferroni over the configurations audited together)",
        "classes": method_class,
        "passed": bool(table.empty or table.passed.all()),
        "configurations": json.loads(table.to_json(orient="records")) if len(table) else [],
        "records": json.loads(frame.to_json(orient="records")),
        "notes": list(dict.fromkeys(notes)),
        "provenance": provenance(device(), profile=profile),
    }


def write(result: dict[str, Any]) -> Path:
    """Store an audit's result as ``audit/audit-<UTC time>.json`` in the profile's store folder."""
    stamp = _dt.datetime.strptime(result["provenance"]["date"], "%Y-%m-%dT%H:%M:%SZ").strftime("%Y%m%dT%H%M%SZ")
    path = ResultsStore(result["profile"]).reports / f"audit-{stamp}.json"
    atomic_write_json(path, result)
    return path


def latest(profile: str) -> dict[str, Any] | None:
    """The most recent stored audit of ``profile`` (None when there is none)."""
    found = sorted(ResultsStore(profile).reports.glob("audit-*.json"))
    return json.loads(found[-1].read_text()) if found else None


def summary(result: dict[str, Any]) -> pd.DataFrame:
    """An audit's per-configuration table, as printed and shown on the book's page."""
    table = pd.DataFrame(result["configurations"])
    if table.empty:
        return table
    table["interval"] = [f"[{lo:.2g}, {hi:.2g}]" for lo, hi in zip(table.ci_lo, table.ci_hi)]
    table["verdict"] = np.where(table.passed, "pass", "FAIL")
    columns = {"model": "model", "method": "method", "metric": "metric", "class": "class", "n_like": "n like with like",
               "n_mean_level": "n mean level", "max_abs_diff": "largest |diff| (like)", "mean_diff": "mean diff",
               "interval": "interval (family-wise 95%)", "verdict": "verdict"}
    return table[list(columns)].rename(columns=columns)


def audit_command(profile: str, n: int = 8, only: Sequence[str] | None = None, seed: int = 0) -> int:
    """``attx compute --audit``: recompute, print the table and the notes, store the result; 0 when it passes, 1 when not."""
    result = audit(profile, n, only, seed)
    table = summary(result)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 500):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}") if len(table) else "nothing to audit: no stored per-image scores")
    for note in result["notes"]:
        print(f"note: {note}")
    failed = [r for r in result["configurations"] if not r["passed"]]
    for row in failed:
        print(f"FAILED {row['model']} {row['method']} {row['metric']}: {row['why']}")
    print(f"audit {'passed' if result['passed'] else 'FAILED'}; written to {write(result)}")
    return 0 if result["passed"] else 1
