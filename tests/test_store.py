"""Results store: keys, provenance, atomic writes and resume after an interruption."""
from __future__ import annotations

import json

import pytest

from attx_core import store
from attx_core.store import ResultsStore, config_key, provenance


def test_key_is_stable_and_sensitive():
    assert config_key({"a": 1, "b": 0.1 + 0.2}) == config_key({"b": 0.3, "a": 1})
    assert config_key({"a": 1}) != config_key({"a": 2})


def test_interrupted_run_resumes_without_recomputing(tmp_path):
    calls = []

    def flaky(batch):
        calls.append(list(batch))
        if "c" in batch:
            raise KeyboardInterrupt
        return [{"v": ord(i)} for i in batch]

    key = dict(model="m", method="ig", steps=50)
    entry = ResultsStore("quick", root=tmp_path).entry("insdel", key)
    with pytest.raises(KeyboardInterrupt):
        entry.compute(list("abcd"), flaky, batch_size=2, provenance=provenance(profile="quick", seed=0))
    stored = json.loads(entry.path.read_text())
    assert set(stored["records"]) == {"a", "b"} and stored["provenance"]["profile"] == "quick"
    assert "commit" in stored["provenance"] and "device" in stored["provenance"]

    calls.clear()
    again = ResultsStore("quick", root=tmp_path).entry("insdel", key)
    out = again.compute(list("abcd"), lambda b: calls.append(list(b)) or [{"v": ord(i)} for i in b], batch_size=2)
    assert calls == [["c", "d"]]
    assert [r["v"] for r in out] == [97, 98, 99, 100]
    assert not list(entry.path.parent.glob("*.tmp"))

    forced = ResultsStore("quick", root=tmp_path, force=True).entry("insdel", key)
    assert forced.missing(list("abcd")) == list("abcd")


def test_profile_name_is_checked(tmp_path):
    with pytest.raises(ValueError, match="profile"):
        ResultsStore("../x", root=tmp_path)


def test_every_record_points_to_the_provenance_that_computed_it(tmp_path):
    entry = ResultsStore("quick", root=tmp_path).entry("insdel", dict(model="m", method="ig"))
    entry.put({"old": {"v": 0}})  # a record from before per-record provenance
    first, second = provenance(profile="quick", threads=1), provenance(profile="quick", threads=2)
    entry.put({"a": {"v": 1}, "b": {"v": 2}}, first)
    entry.put({"c": {"v": 3}}, second)
    again = ResultsStore("quick", root=tmp_path).entry("insdel", dict(model="m", method="ig"))
    assert again.provenance_of("old") is None
    a, c = again.provenance_of("a"), again.provenance_of("c")
    assert a["threads"] == 1 and c["threads"] == 2 and again.provenance_of("b")["threads"] == 1
    for field in ("commit", "date", "device", "cpu", "isa", "torch_cpu_capability", "forward_backend", "execution", "torch", "numpy"):
        assert field in a, field
    stored = json.loads(again.path.read_text())
    assert len(stored["provenances"]) == 2 and stored["records"]["a"] == {"v": 1}  # records themselves unchanged
    # records merged from another entry keep their own provenance
    other = ResultsStore("quick", root=tmp_path).entry("insdel", dict(model="m", method="ig", shard=1))
    other.put({"d": {"v": 4}}, provenance={}, record_provenance={"d": {**a, "rank": 3}})
    assert other.provenance_of("d")["rank"] == 3 and other.provenance_of("d")["date"] == a["date"]


def test_a_computed_record_says_what_its_batch_took(tmp_path):
    """Records computed by ``StoreEntry.compute`` carry their batch's wall seconds per image (attribution and metric
    together: what the cost model is fitted to); records put without a timing carry none."""
    import time

    entry = ResultsStore("quick", root=tmp_path).entry("insdel", dict(model="m", method="ig"))

    def slow(batch):
        time.sleep(0.2)
        return [{"v": 1} for _ in batch]

    entry.compute(["a", "b", "c"], slow, batch_size=2, provenance=provenance(profile="quick"))
    entry.put({"d": {"v": 2}}, provenance(profile="quick"))
    stored = json.loads(entry.path.read_text())["record_provenance"]
    assert stored["a"]["seconds"] == stored["b"]["seconds"] and 0.1 <= stored["a"]["seconds"] < stored["c"]["seconds"]
    assert "seconds" not in stored["d"]


def test_the_commit_is_looked_up_once_per_process(monkeypatch) -> None:
    """A long worker names the commit it started from, even after the checkout moves on."""
    store.git_commit.cache_clear()
    first = store.git_commit()
    monkeypatch.setattr(store.subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError("git run again")))
    assert store.git_commit() == first and store.provenance(profile="x")["commit"] == first
