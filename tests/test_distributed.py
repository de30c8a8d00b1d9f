"""Sharded runs: 2 gloo processes under torchrun merge into the same records as one process."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from attx_core import distributed, models

ARGS = ["--method", "smoothgrad", "--model", "tiny_cnn", "--n-images", "6", "--batch", "2", "--profile", "test", "--param", "n_samples=3"]


def test_shard_batches_cover_ids_once_in_single_run_batches():
    ids = [str(i) for i in range(7)]
    shards = [distributed.shard_batches(ids, 2, r, 3) for r in range(3)]
    assert shards[0] == [["0", "1"], ["6"]] and shards[1] == [["2", "3"]]
    assert sorted(i for s in shards for b in s for i in b) == sorted(ids)
    with pytest.raises(ValueError, match="rank"):
        distributed.shard_batches(ids, 2, 3, 3)


def _records(root):
    (path,) = list((root / "test" / "dist_insdel").glob("*.json"))
    stored = json.loads(path.read_text())
    return path.name, stored, {k: {f: v for f, v in r.items() if f != "seconds"} for k, r in stored["records"].items()}


@pytest.mark.slow
def test_torchrun_two_processes_merge_equals_single_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "attx_core.distributed"]
    done = subprocess.run([*cmd, *ARGS, "--root", str(tmp_path / "two")], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "over 2 process(es)" in done.stdout
    distributed.run_sharded("smoothgrad", "tiny_cnn", 6, "test", params={"n_samples": 3}, batch=2, root=tmp_path / "one", weights=None)
    name2, stored2, two = _records(tmp_path / "two")
    name1, _, one = _records(tmp_path / "one")
    assert name2 == name1  # the merged entry is the single-process entry (no shard files left)
    assert list(two) == list(one) and len(one) == 6
    for image, record in one.items():  # same batches -> same noise; floats equal up to thread-count rounding
        assert {k: v for k, v in two[image].items() if isinstance(v, int)} == {k: v for k, v in record.items() if isinstance(v, int)}
        for k, v in record.items():
            assert two[image][k] == pytest.approx(v, rel=1e-5, abs=1e-9), (image, k)
    assert stored2["provenance"]["world_size"] == 2 and stored2["provenance"]["backend"] == "gloo"


ARG_ERRORS = [
    (["--method", "bogus"], r"unknown method 'bogus'; known methods: agi"),
    (["--method", "ig", "--n-images", "0"], r"--n-images must be a positive integer, got 0"),
    (["--method", "ig", "--batch", "0"], r"--batch must be a positive integer, got 0"),
    (["--method", "ig", "--images", "/nonexistent/folder"], r"image set '/nonexistent/folder' is not a folder with labels\.csv"),
    (["--method", "ig", "--param", "steps=0"], r"method 'ig': steps must be an integer >= 1"),
    (["--method", "ig", "--model", "resnet5O"], r"unknown model 'resnet5O'"),
    (["--method", "ig", "--threads", "two"], r"--threads expects a positive integer, got 'two'"),
    (["--method", "ig", "--profile", "a/b"], r"profile name must be a simple identifier"),
    (["--n-images", "3"], r"the following arguments are required: --method"),
]


@pytest.mark.parametrize("case", ARG_ERRORS, ids=[" ".join(c[0][-2:]) for c in ARG_ERRORS])
def test_argument_errors_are_one_line_before_any_model_or_process_group(case, tmp_path, capsys, monkeypatch):
    args, pattern = case
    monkeypatch.setattr(models, "load", lambda *a, **k: pytest.fail("a model was loaded before the arguments were checked"))
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda *a, **k: pytest.fail("a process group started first"))
    assert distributed.main(["--model", "tiny_cnn", "--root", str(tmp_path), *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m attx_core.distributed: error: "), lines
    assert __import__("re").search(pattern, lines[0]), lines[0]


def test_other_ranks_stay_quiet_on_argument_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert distributed.main(["--model", "tiny_cnn", "--method", "ig", "--batch", "0"]) == 2
    assert distributed.main(["--model", "tiny_cnn"]) == 2  # argparse's own error too
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_torchrun_argument_error_is_one_line_from_rank_0(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "attx_core.distributed"]
    done = subprocess.run([*cmd, "--method", "ig", "--n-images", "0", "--model", "tiny_cnn", "--root", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if "attx_core" in line and "FAILED" not in line]
    assert ours == ["python -m attx_core.distributed: error: --n-images must be a positive integer, got 0"], done.stderr[-3000:]
    assert "Connection closed" not in done.stderr and not (tmp_path / "test").exists()
