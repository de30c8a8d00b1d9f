"""The book's two log pages: execution statistics (each chapter's last execution, as the build recorded it) and the
compute log (what the store holds, computed when and on what, from the records' provenance)."""
from __future__ import annotations

import html
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import pandas as pd
from IPython.display import HTML

from ..chapters import CHAPTERS
from ..compute import cells, cpu_hours, key_cost, missing
from ..experiments.compare import PAPER_MODEL_NAMES
from ..store import ResultsStore, StoreEntry
from .build import EXECUTED, read_executions, read_timings

SESSION_GAP_HOURS = 1.0  # records stored further apart than this start a new session
STYLE = "text-align: left; vertical-align: top; font-size: 0.85em; padding: 2px 6px"


def _table(frame: pd.DataFrame) -> str:
    """A frame as a plain HTML table without an index (cells are HTML)."""
    styled = frame.style.hide(axis="index").format(precision=2, na_rep="–").set_table_styles([{"selector": "td, th", "props": STYLE}])
    return styled.to_html()


def _link(name: str, short: bool = False) -> str:
    """A chapter linked to its page, by its title (``short``: by its name, the title on hover)."""
    title = html.escape(CHAPTERS[name].title if name in CHAPTERS else name)
    return f'<a href="{name}.html" title="{title}">{html.escape(name)}</a>' if short else f'<a href="{name}.html">{title}</a>'


def how_it_ran(record: dict[str, Any]) -> str:
    """An execution record's mode in words: computed, only read the store, or a page without computations."""
    if record.get("failed"):
        return "failed"
    if not record.get("computes"):
        return "no computations (page only)"
    if record.get("computed"):
        return "computed (recomputed everything)" if record.get("run_options", {}).get("force") else "computed what was missing"
    if record.get("run_options", {}).get("partial"):
        return "read the store only (store profile: computes nothing)"
    return "read the store only (everything was stored)"


def execution_table(profile: str) -> pd.DataFrame:
    """Per chapter in book order: its last execution under ``profile`` (date, seconds, how it ran), NaN where never run;
    a chapter last executed by a build before execution records has its timing and its executed notebook's date."""
    runs, timings = read_executions().get(profile, {}), read_timings().get(profile, {})
    rows = []
    for name in CHAPTERS:
        r = runs.get(name)
        if r is None and name in timings and (EXECUTED / f"{name}.ipynb").is_file():
            stamp = datetime.fromtimestamp((EXECUTED / f"{name}.ipynb").stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            r = {"seconds": timings[name], "date": stamp, "how": "not recorded (an earlier build)"}
        rows.append({"chapter": name, "date": r["date"] if r else None, "seconds": r["seconds"] if r else float("nan"),
                     "how": (r.get("how") or how_it_ran(r)) if r else "not executed under this profile yet", "failed": bool(r and r.get("failed"))})
    return pd.DataFrame(rows, columns=["chapter", "date", "seconds", "how", "failed"])


def _when(stamp: str) -> str:
    """An ISO UTC stamp as '2026-12-05 12:36'."""
    return stamp.replace("T", " ")[:16]


def execution_view(profile: str) -> HTML:
    """The execution statistics page's body: one row per chapter (linked), then the totals."""
    table = execution_table(profile)
    ran = table.dropna(subset=["date"])
    shown = pd.DataFrame({
        "chapter": [_link(n) for n in table.chapter],
        "last executed (UTC)": [_when(d) if isinstance(d, str) else "–" for d in table.date],
        "run time (s)": ["" if s != s else f"{s:,.1f}" for s in table.seconds],
        "how": [html.escape(h) for h in table.how],
        "status": ["" if not isinstance(d, str) else "failed" if f else "ok" for d, f in zip(table.date, table.failed)],
    })
    counts = Counter(ran.how)
    totals = (f"<p><b>Totals:</b> {len(ran)} of {len(table)} chapters executed under <b>{html.escape(profile)}</b>, "
              f"{ran.seconds.sum():,.0f} s in all ({ran.seconds.sum() / 60:,.1f} min); "
              + "; ".join(f"{html.escape(h)}: {k}" for h, k in counts.items())
              + (f"; executed between {_when(min(ran.date))} and {_when(max(ran.date))} UTC" if len(ran) else "")
              + f". {int(ran.failed.sum())} failed. This page was executed at "
              f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC; its own row is from the execution before.</p>")
    return HTML(totals + _table(shown))


def _chapters_of(profile: str) -> dict[Path, list[tuple[str, str | None]]]:
    """Store entry path -> the (chapter, model) cells that read it (the planner's walk of the runners; computes nothing)."""
    out: dict[Path, list[tuple[str, str | None]]] = {}
    for cell in cells(profile):
        for entry, _ in missing(profile, cell):
            out.setdefault(entry.path, []).append((cell.chapter, cell.model))
    return out


def store_records(profile: str, entries: Iterable[StoreEntry] | None = None) -> pd.DataFrame:
    """One row per stored record: its entry (kind, model, method), image, whether it has its own provenance, and that
    provenance (else its entry's, the entry's first run): date, commit, CPU, instruction sets, threads, forward backend,
    torch; its measured attribution seconds where stored, its batch's wall seconds per image where kept, and its cost
    in passes (the planner's cost model)."""
    rows = []
    for entry in entries if entries is not None else ResultsStore(profile).entries():
        cost = key_cost(entry.key)
        for image, record in entry.records.items():
            own = entry.provenance_of(image)
            p = own or entry.provenance
            seconds = record.get("seconds") if isinstance(record, dict) else None
            rows.append({"path": entry.path, "kind": entry.path.parent.name, "model": entry.key.get("model"), "method": entry.key.get("method"),
                         "image": image, "own": own is not None, "date": p.get("date"), "commit": p.get("commit", "not recorded"),
                         "cpu": p.get("cpu") or p.get("device", "not recorded"), "isa": " ".join(p.get("isa", [])) or "not recorded",
                         "threads": p.get("threads"), "forward_backend": p.get("forward_backend", "not recorded"),
                         "torch": p.get("torch", "not recorded"), "seconds": float(seconds) if isinstance(seconds, (int, float)) else float("nan"),
                         "wall": float(entry.record_provenance.get(image, {}).get("seconds", float("nan"))), "passes": cost})
    frame = pd.DataFrame(rows, columns=["path", "kind", "model", "method", "image", "own", "date", "commit", "cpu", "isa", "threads",
                                        "forward_backend", "torch", "seconds", "wall", "passes"])
    frame["date"] = pd.to_datetime(frame["date"], utc=True)
    return frame


def _counted(values: pd.Series) -> str:
    """Distinct values with their counts, most frequent first."""
    return "; ".join(f"{html.escape(str(v))} ({k})" for v, k in Counter(values.astype(str)).most_common())


def _day(ts: pd.Timestamp) -> str:
    return "–" if pd.isna(ts) else ts.strftime("%Y-%m-%d %H:%M")


def per_chapter(records: pd.DataFrame, readers: dict[Path, list[tuple[str, str | None]]]) -> pd.DataFrame:
    """The records under every (chapter, model) that reads their entry (a record read by several chapters counts under each)."""
    rows = [(c, m, i) for i, path in enumerate(records.path) for c, m in readers.get(path, [])]
    index = [i for _, _, i in rows]
    out = records.iloc[index].reset_index(drop=True)
    out.insert(0, "chapter", [c for c, _, _ in rows])
    out["model"] = [m for _, m, _ in rows]
    return out


def _measured(g: pd.DataFrame) -> dict[str, float]:
    """Measured CPU-hours of a group of records: their attribution seconds, and their batches' wall seconds per image
    (attribution and metric) over the records that keep them, with how many do; each times the threads it ran on."""
    kept = g[g.wall.notna()]
    return {"measured attribution CPU-hours": (g.seconds * g.threads.fillna(1)).sum() / 3600,
            "records with wall time": len(kept),
            "their estimated CPU-hours": cpu_hours(kept.passes.sum()) if len(kept) else float("nan"),
            "their measured CPU-hours": (kept.wall * kept.threads.fillna(1)).sum() / 3600 if len(kept) else float("nan")}


def sessions(records: pd.DataFrame) -> pd.DataFrame:
    """Stretches of stored records (own dates only) separated by more than :data:`SESSION_GAP_HOURS`: start, end, wall hours,
    image computations, estimated CPU-hours (cost model, one thread) and what :func:`_measured` measures."""
    dated = records[records.own].sort_values("date")
    if dated.empty:
        return pd.DataFrame(columns=["start", "end", "wall hours", "image computations", "estimated CPU-hours",
                                     *_measured(records.iloc[:0])])
    gap = dated.date.diff() > pd.Timedelta(hours=SESSION_GAP_HOURS)
    rows = []
    for _, g in dated.groupby(gap.cumsum()):
        rows.append({"start": g.date.min(), "end": g.date.max(), "wall hours": (g.date.max() - g.date.min()).total_seconds() / 3600,
                     "image computations": len(g), "estimated CPU-hours": cpu_hours(g.passes.sum()), **_measured(g)})
    return pd.DataFrame(rows)


def per_day(records: pd.DataFrame) -> pd.DataFrame:
    """Per UTC day: image computations stored (of which dated only by their entry's first run), estimated CPU-hours
    (cost model, one thread) and what :func:`_measured` measures."""
    days = records.date.dt.strftime("%Y-%m-%d").fillna("undated")
    rows = []
    for day, g in records.groupby(days):
        rows.append({"day (UTC)": day, "image computations": len(g), "dated by their entry only": int((~g.own).sum()),
                     "estimated CPU-hours": cpu_hours(g.passes.sum()), **_measured(g)})
    return pd.DataFrame(rows)


ENVIRONMENT = ["cpu", "isa", "threads", "forward_backend", "torch"]  # what a record's numbers may depend on besides the code


def environments(records: pd.DataFrame) -> pd.DataFrame:
    """The distinct run environments of the records (CPU, instruction sets, threads, forward backend, torch), labelled
    A, B, ... by how many records each computed: the records per environment, first and last stored."""
    keyed = records.assign(threads=records.threads.astype("Int64").astype(str))
    rows = [{**dict(zip(ENVIRONMENT, key)), "image computations": len(g), "first": g.date.min(), "last": g.date.max()}
            for key, g in keyed.groupby(ENVIRONMENT, dropna=False)]
    out = pd.DataFrame(rows).sort_values("image computations", ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "env", [chr(ord("A") + i) if i < 26 else f"E{i}" for i in range(len(out))])
    return out


def _nowrap(text: str) -> str:
    return f'<span style="white-space: nowrap">{text}</span>'


def _model(model: Any) -> str:
    return _nowrap(html.escape(PAPER_MODEL_NAMES.get(model, str(model)))) if isinstance(model, str) else "–"


def _span(dates: pd.Series) -> str:
    """First and last date, one per line (one date when they agree)."""
    first, last = _day(dates.min()), _day(dates.max())
    return _nowrap(first) if first == last else f"{_nowrap(first)} to<br>{_nowrap(last)}"


def _ordered(frame: pd.DataFrame) -> list[tuple[tuple[str, Any], pd.DataFrame]]:
    """(chapter, model) groups in book order (models in the order the chapter first shows them)."""
    book = {name: i for i, name in enumerate(CHAPTERS)}
    groups = list(frame.groupby(["chapter", "model"], sort=False, dropna=False))
    return sorted(groups, key=lambda item: book.get(item[0][0], len(book)))


def compute_log(profile: str) -> HTML:
    """The compute log page's body: a summary, per chapter and model what is stored, when, by which commits and in which
    run environments, the environments, the records without their own provenance, then the compute spent per day and
    per session."""
    entries = ResultsStore(profile).entries()
    records = store_records(profile, entries)
    if records.empty:
        return HTML(f"<p>The <b>{html.escape(profile)}</b> store holds no records yet.</p>")
    envs = environments(records)
    label = {tuple(r[k] for k in ENVIRONMENT): r["env"] for _, r in envs.iterrows()}
    records["env"] = [label[key] for key in zip(records.cpu, records.isa, records.threads.astype("Int64").astype(str),
                                                records.forward_backend, records.torch)]
    mine = per_chapter(records, _chapters_of(profile))
    own = int(records.own.sum())
    parts = [f"<p>The <b>{html.escape(profile)}</b> store holds <b>{len(records):,}</b> image computations in {len(entries)} entries "
             f"({records.image.nunique()} distinct images), stored between {_day(records.date.min())} and {_day(records.date.max())} UTC "
             f"from {records.commit.nunique()} commits in {len(envs)} run environments. {own:,} carry their own provenance; the other "
             f"{len(records) - own:,} were stored before per-record provenance and have only their entry's (its first run: its date "
             "is a lower bound for theirs).</p>"]
    what = pd.DataFrame([{
        "chapter": _link(c, short=True), "model": _model(m), "image computations": len(g), "images": g.image.nunique(),
        "own provenance": int(g.own.sum()),
        "stored (UTC)": _span(g.date), "commits": _counted(g.commit), "environments": _counted(g.env)} for (c, m), g in _ordered(mine)])
    shown_envs = envs.assign(first=envs["first"].map(_day), last=envs["last"].map(_day),
                             isa=[i if i == "not recorded" else i.replace(" ", ", ") for i in envs.isa], cpu=envs.cpu.map(html.escape),
                             forward_backend=envs.forward_backend.map(html.escape)).rename(
        columns={"cpu": "CPU", "isa": "instruction sets", "forward_backend": "forward backend"})
    old = mine[~mine.own]
    legacy = pd.DataFrame([{
        "chapter": _link(c, short=True), "model": _model(m), "records": len(g), "entries' first runs (UTC)": _span(g.date),
        "entry commits": _counted(g.commit), "entry devices": _counted(g.cpu)} for (c, m), g in _ordered(old)])
    day = per_day(records)
    runs = sessions(records)
    parts += ["<h2>What is stored, per chapter and model</h2>",
              "<p>A record read by several chapters (Table 1's are read by the ablations and AttEXplore++) counts under each; "
              "<i>environments</i> are the run environments below, with the records each computed.</p>",
              _table(what), "<h2>Computed on what</h2>",
              "<p>Each distinct run environment: the CPU (or the device an old entry names), the instruction-set flags that change "
              "which float kernels run, torch's intra-op threads, the forward backend and torch.</p>", _table(shown_envs),
              "<h2>Records without their own provenance</h2>",
              _table(legacy) if len(legacy) else "<p>None: every record carries its own provenance.</p>",
              "<h2>Compute spent</h2>",
              "<p>Per UTC day, each record once (a record without its own provenance is dated by its entry's first run). "
              "<i>Estimated</i>: the planner's cost model (the one the landing page's CPU-hours use), on one thread; "
              "<i>measured attribution</i>: the attribution seconds that insertion/deletion and speed records store (the "
              "curves not included), times the threads they ran on. Records computed since 2026-12-06 also keep their "
              "batch's wall seconds per image (attribution and metric): for them the estimate stands beside the "
              "measurement.</p>", _table(day),
              f"<p>Sessions: records with their own dates, split where more than {SESSION_GAP_HOURS:g} h passed between two "
              "(workers running side by side share a session).</p>",
              _table(runs.assign(start=runs.start.map(_day), end=runs.end.map(_day))) if len(runs) else "<p>No dated records.</p>"]
    return HTML("".join(parts))
