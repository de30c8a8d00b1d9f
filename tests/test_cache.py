"""Results cache: keys, provenance, atomic writes and resume after an interruption."""
from __future__ import annotations

import json

import pytest

from attx_core.cache import ResultsCache, config_key, provenance


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
    entry = ResultsCache("quick", root=tmp_path).entry("insdel", key)
    with pytest.raises(KeyboardInterrupt):
        entry.compute(list("abcd"), flaky, batch_size=2, provenance=provenance(profile="quick", seed=0))
    stored = json.loads(entry.path.read_text())
    assert set(stored["records"]) == {"a", "b"} and stored["provenance"]["profile"] == "quick"
    assert "commit" in stored["provenance"] and "device" in stored["provenance"]

    calls.clear()
    again = ResultsCache("quick", root=tmp_path).entry("insdel", key)
    out = again.compute(list("abcd"), lambda b: calls.append(list(b)) or [{"v": ord(i)} for i in b], batch_size=2)
    assert calls == [["c", "d"]]
    assert [r["v"] for r in out] == [97, 98, 99, 100]
    assert not list(entry.path.parent.glob("*.tmp"))

    forced = ResultsCache("quick", root=tmp_path, force=True).entry("insdel", key)
    assert forced.missing(list("abcd")) == list("abcd")


def test_profile_name_is_checked(tmp_path):
    with pytest.raises(ValueError, match="profile"):
        ResultsCache("../x", root=tmp_path)
