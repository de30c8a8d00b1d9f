"""The two log pages: execution statistics (from the build's execution records) and the compute log (from the
records' provenance), on synthetic build records and stores."""
from __future__ import annotations

import json
import math

from attx_core.book import build, logs
from attx_core.store import StoreEntry


def test_execution_records_say_whether_a_page_computed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    standard = build.execution_record("standard", "table01_insdel", False, 12.3, 0.0)
    assert standard["computed"] is False and standard["run_options"] == {"force": False, "partial": True}
    assert logs.how_it_ran(standard).startswith("read the store only")
    assert logs.how_it_ran(build.execution_record("standard", "method_cards", False, 1.0, 0.0)) == "no computations (page only)"
    (tmp_path / "quick" / "insdel").mkdir(parents=True)
    (tmp_path / "quick" / "insdel" / "x.json").write_text("{}")
    assert build.execution_record("quick", "table01_insdel", False, 5.0, 0.0)["computed"] is True
    assert build.execution_record("quick", "table01_insdel", False, 5.0, 4e9)["computed"] is False  # nothing written since


def test_execution_statistics_list_every_chapter_with_totals(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(build, "EXECUTIONS", tmp_path / "executions.json")
    monkeypatch.setattr(build, "TIMINGS", tmp_path / "timings.json")
    build._write_timings("standard", {"table01_insdel": 40.0}, {
        "table01_insdel": {"seconds": 40.0, "date": "2026-12-05T12:00:00Z", "store": True, "run_options": {"force": False, "partial": True},
                           "computes": True, "computed": False, "failed": False}})
    assert build.read_timings() == {"standard": {"table01_insdel": 40.0}}
    table = logs.execution_table("standard")
    assert table.chapter.iloc[0] == "intro" and table.date.notna().sum() == 1
    page = logs.execution_view("standard").data
    assert '<a href="table01_insdel.html">' in page and "1 of" in page and "40 s in all" in page and "not executed under this profile yet" in page


def test_compute_log_reads_provenance_per_record(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ATTX_RESULTS", str(tmp_path))
    key = {"model": "efficientnet_lite0", "method": "saliency", "params": {}}
    entry = StoreEntry(tmp_path / "standard" / "insdel" / "efficientnet_lite0-saliency-abc.json", key)
    env = {"commit": "abc1234", "cpu": "AMD EPYC", "isa": ["avx2", "avx512f"], "threads": 1, "forward_backend": "eager", "torch": "2.13"}
    entry.put({"0000.png": {"insertion": 0.5, "seconds": 36.0}}, record_provenance={"0000.png": {**env, "date": "2026-12-05T10:00:00Z"}})
    entry.put({"0001.png": {"insertion": 0.4, "seconds": 36.0}}, record_provenance={"0001.png": {**env, "date": "2026-12-05T13:00:00Z"}})
    old = tmp_path / "standard" / "maps" / "efficientnet_lite0-ig-def.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"key": {"model": "efficientnet_lite0", "method": "ig"}, "records": {"0000.png": {"map": [0]}},
                               "provenance": {"commit": "0ld0000", "device": "cpu (x86_64, 1 threads)", "date": "2026-11-23T19:00:00Z"}}))
    report = tmp_path / "standard" / "audit" / "float_sensitivity.json"  # a report beside the entries, not an entry
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"classes": {"ig": "float-sensitive"}}))
    records = logs.store_records("standard")
    assert len(records) == 3 and records.own.tolist().count(True) == 2
    assert report.is_file() and not (report.parent / ".quarantine").exists()  # read past, never set aside as damaged
    legacy = records[~records.own].iloc[0]
    assert legacy.commit == "0ld0000" and legacy.cpu == "cpu (x86_64, 1 threads)" and legacy.isa == "not recorded"
    days = logs.per_day(records).set_index("day (UTC)")
    assert days.loc["2026-12-05", "image computations"] == 2 and days.loc["2026-11-23", "dated by their entry only"] == 1
    assert abs(days.loc["2026-12-05", "measured attribution CPU-hours"] - 0.02) < 1e-9
    assert days.loc["2026-12-05", "records with wall time"] == 0 and math.isnan(days.loc["2026-12-05", "their measured CPU-hours"])
    entry.put({"0002.png": {"insertion": 0.3, "seconds": 36.0}}, env, seconds=72.0)  # computed here: dated now, timed
    later = logs.per_day(logs.store_records("standard"))
    timed = later[later["records with wall time"] > 0].iloc[0]
    assert timed["records with wall time"] == 1 and abs(timed["their measured CPU-hours"] - 0.02) < 1e-9
    assert timed["their estimated CPU-hours"] > 0
    runs = logs.sessions(records)
    assert len(runs) == 2 and runs["image computations"].tolist() == [1, 1]  # three hours apart: two sessions
    readers = {entry.path: [("table01_insdel", "inception_v3"), ("ablation_n", "inception_v3")]}
    mine = logs.per_chapter(records, readers)
    assert sorted(mine.chapter) == ["ablation_n", "ablation_n", "table01_insdel", "table01_insdel"]
