"""How much float rounding moves each Table-1 method (issue 24, item 3): per-image insertion/deletion AUC differences.

Table 1 at the paper's settings (the standard profile: EfficientNet-Lite0 for Inception-v3, seed 3407, 224 px per
step) on the first 8 images of the val subset, computed by the store's own runner into a work store per condition:
- ``base``: one thread, batches of 2 (as ``attx compute`` stores them);
- ``threads`` (a): two threads instead of one (run it while nothing else wants the cores);
- ``weights`` (b): every parameter of the network multiplied by (1 + 1e-7) (one float32 ulp), one thread;
- ``batch`` (c): batches of 1 instead of 2, one thread. (Not 4: a batch of 4 makes insertion/deletion calls of 1,800 forward
  samples, past the auto execution policy's 1,024-sample threshold, so they would switch from eager torch to OpenVINO and
  mix a backend change into the batch effect.)

Usage::

    python bench/float_sensitivity.py run base|threads|weights|batch [--work DIR]   # one condition per process
    python bench/float_sensitivity.py summarize [--work DIR]   # -> data/results/standard/audit/float_sensitivity.{json,csv}

``run`` resumes from its work store. ``summarize`` writes, per method and condition, the median and largest per-image
|difference| from ``base`` in insertion and deletion, whether Table 1's ranking of method means changes, and each
method's class by the issue's rule (:data:`attx_core.compute.audit.STABLE_LIMIT`), with every run's provenance.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import torch

CONDITIONS: dict[str, dict[str, Any]] = {
    "base": {"threads": 1, "batch_size": 2, "scale": 0.0, "label": "reference: 1 thread, batches of 2"},
    "threads": {"threads": 2, "batch_size": 2, "scale": 0.0, "label": "(a) 2 threads instead of 1"},
    "weights": {"threads": 1, "batch_size": 2, "scale": 1e-7, "label": "(b) every weight x (1 + 1e-7)"},
    "batch": {"threads": 1, "batch_size": 1, "scale": 0.0, "label": "(c) batches of 1 instead of 2"},
}
PROFILE, CHAPTER, MODEL, N_IMAGES = "standard", "table01_insdel", "inception_v3", 8
METRICS = ("insertion", "deletion")
DEFAULT_WORK = Path(tempfile.gettempdir()) / "attx-float-sensitivity"


def _settings(condition: str) -> dict[str, Any]:
    from attx_core.chapters import settings

    cfg = settings(PROFILE, CHAPTER, models=[MODEL], n_images=N_IMAGES)
    cfg["batch_size"] = CONDITIONS[condition]["batch_size"]
    return cfg


def _frame(condition: str, work: Path, partial: bool) -> pd.DataFrame:
    """Table 1's per-image frame of one condition from its work store (computing what is missing unless ``partial``)."""
    from attx_core.experiments.runners import insdel_table

    os.environ["ATTX_RESULTS"] = str(work / condition)
    return insdel_table(**_settings(condition), partial=partial)


def run(condition: str, work: Path) -> None:
    """Compute one condition into its work store (one process per condition: threads and weights are process-wide)."""
    from attx_core.experiments.resolve import resolve_model

    spec = CONDITIONS[condition]
    torch.set_num_threads(spec["threads"])
    if spec["scale"]:
        with torch.no_grad():
            for p in resolve_model(MODEL, stand_in=True).model.parameters():  # the runner's cached model
                p.mul_(1.0 + spec["scale"])
    df = _frame(condition, work, partial=False)
    print(f"{condition}: {df.image.nunique()} images x {df.method.nunique()} methods stored in {work / condition}", file=sys.stderr)


def _provenances(work: Path, condition: str) -> list[dict[str, Any]]:
    """The distinct run provenances of a condition's work store."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((work / condition / PROFILE / "insdel").glob("*.json")):
        for prov in json.loads(path.read_text()).get("provenances", {}).values():
            run = {k: v for k, v in prov.items() if k not in ("method", "method_version")}
            found[json.dumps(run, sort_keys=True)] = run
    return list(found.values())


def _ranking(means: pd.Series, metric: str) -> list[str]:
    return list(means.sort_values(ascending=metric == "deletion").index)


def summarize(work: Path, out: Path) -> dict[str, Any]:
    """Differences of every condition from ``base``, per image and per method, the ranking test and the classes;
    written to ``out`` (.json with the per-image values, .csv with the table)."""
    from attx_core.compute.audit import STABLE_LIMIT

    frames = {c: _frame(c, work, partial=True) for c in CONDITIONS}
    wide = {c: f.pivot_table(index=["method", "image"], columns="metric", values="value") for c, f in frames.items()}
    base = wide["base"]
    rows, rankings = [], {}
    for condition in (c for c in CONDITIONS if c != "base"):
        diff = (wide[condition] - base).dropna()
        for metric in METRICS:
            order, moved = _ranking(base[metric].groupby("method").mean(), metric), _ranking(wide[condition][metric].groupby("method").mean(), metric)
            rankings[f"{condition}/{metric}"] = {"base": order, condition: moved, "changed": order != moved,
                                                 "moved": [m for k, m in enumerate(order) if moved[k] != m]}
        for method, d in diff.groupby(level="method"):
            for metric in METRICS:
                a = d[metric].abs()
                rows.append({"method": method, "condition": condition, "metric": metric, "n": len(a), "median_abs_diff": float(a.median()),
                             "max_abs_diff": float(a.max()), "mean_diff": float(d[metric].mean()),
                             "ranking_changed": rankings[f"{condition}/{metric}"]["changed"]})
    table = pd.DataFrame(rows)
    largest = table.groupby("method").max_abs_diff.max()
    classes = {m: "float-stable" if v <= STABLE_LIMIT else "float-sensitive" for m, v in largest.items()}
    table["class"] = table.method.map(classes)
    payload = {
        "what": f"Table 1 ({CHAPTER}) at the paper's settings, profile {PROFILE}, {MODEL} stand-in, first {N_IMAGES} images of the val "
                "subset: per-image AUC differences from the reference run under each condition",
        "rule": f"float-stable when the largest per-image |difference| under (a)-(c), insertion and deletion, is <= {STABLE_LIMIT:g}",
        "conditions": {c: CONDITIONS[c]["label"] for c in CONDITIONS},
        "classes": classes,
        "rankings": rankings,
        "table": rows,
        "values": {c: [{"method": m, "image": i, **{k: float(v) for k, v in r.items()}} for (m, i), r in w.iterrows()] for c, w in wide.items()},
        "provenance": {c: _provenances(work, c) for c in CONDITIONS},
        "command": "python bench/float_sensitivity.py run base|threads|weights|batch; python bench/float_sensitivity.py summarize",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(payload, indent=1) + "\n")
    table.to_csv(out.with_suffix(".csv"), index=False, float_format="%.3g")
    return payload


def main(argv: list[str] | None = None) -> int:
    from attx_core.store import REPO_ROOT

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rn = sub.add_parser("run", help="compute one condition into its work store")
    rn.add_argument("condition", choices=list(CONDITIONS))
    sm = sub.add_parser("summarize", help="compare every condition with base and write the table")
    sm.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "results" / PROFILE / "audit" / "float_sensitivity.json")
    for p in (rn, sm):
        p.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"work stores, one per condition (default {DEFAULT_WORK})")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.condition, args.work)
        return 0
    payload = summarize(args.work, args.out)
    table = pd.DataFrame(payload["table"]).pivot_table(index="method", columns=["condition", "metric"], values="max_abs_diff")
    print(table.to_string(float_format=lambda v: f"{v:.2g}"))
    print("classes:", payload["classes"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
