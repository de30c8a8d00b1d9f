"""Results cache with provenance: ``data/results/<profile>/<kind>/<slug>-<hash>.json``.

One JSON file per configuration (model, method, parameters, image set) holds a record per image id
and the provenance of the run. Each batch is written atomically (temp file + rename), so a run
that is interrupted and restarted recomputes only the ids it had not stored yet.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from tqdm.auto import tqdm

REPO_ROOT = Path(__file__).resolve().parents[1]


def results_root() -> Path:
    """Where cached results live: $ATTX_RESULTS or ``<repo>/data/results``."""
    return Path(os.environ.get("ATTX_RESULTS", REPO_ROOT / "data" / "results"))


def git_commit() -> str:
    """Short commit of the repository (``+dirty`` when the tree has uncommitted changes), or 'unknown'."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def device_name(device: str | torch.device = "cpu") -> str:
    """Human-readable device: the GPU's name, or the CPU with its thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def provenance(device: str | torch.device = "cpu", **fields: Any) -> dict[str, Any]:
    """A provenance record: the caller's fields (profile, model, weights, images, seed, ...) plus
    git commit, device, library versions and the UTC date."""
    import timm
    import numpy

    record = dict(fields)
    record.update(
        commit=git_commit(),
        device=device_name(device),
        torch=torch.__version__,
        timm=timm.__version__,
        numpy=numpy.__version__,
        python=platform.python_version(),
        date=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return record


def _canonical(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 10)
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return repr(value)


def config_key(key: dict[str, Any]) -> str:
    """Stable 12-hex digest of a configuration dict (floats rounded, keys sorted)."""
    text = json.dumps(_canonical(key), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def atomic_write_json(path: Path, payload: Any) -> None:
    """Write JSON so that readers only ever see the old or the new complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class CacheEntry:
    """The stored records of one configuration, keyed by image id."""

    def __init__(self, path: Path, key: dict[str, Any], force: bool = False) -> None:
        self.path = path
        self.key = _canonical(key)
        self.provenance: dict[str, Any] = {}
        self.records: dict[str, dict[str, Any]] = {}
        if path.is_file() and not force:
            stored = json.loads(path.read_text())
            self.provenance = stored.get("provenance", {})
            self.records = stored.get("records", {})

    def missing(self, ids: Sequence[str]) -> list[str]:
        """The ids without a stored record, in the given order."""
        return [i for i in ids if i not in self.records]

    def put(self, records: dict[str, dict[str, Any]], provenance: dict[str, Any] | None = None) -> None:
        """Store records (atomically rewriting the file); the first provenance given is kept."""
        self.records.update(records)
        if provenance and not self.provenance:
            self.provenance = provenance
        atomic_write_json(self.path, {"key": self.key, "provenance": self.provenance, "records": self.records})

    def compute(
        self,
        ids: Sequence[str],
        fn: Callable[[list[str]], list[dict[str, Any]]],
        batch_size: int,
        provenance: dict[str, Any] | None = None,
        desc: str = "",
    ) -> list[dict[str, Any]]:
        """Records for ``ids``: stored ones are reused, missing ones computed by ``fn`` batch by batch
        (each batch stored before the next starts), with a progress bar."""
        todo = self.missing(ids)
        quiet = not todo or os.environ.get("TQDM_DISABLE") == "1"  # the book build sets TQDM_DISABLE
        with tqdm(total=len(todo), desc=desc or self.path.stem, disable=quiet, leave=False) as bar:
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                out = fn(batch)
                if len(out) != len(batch):
                    raise RuntimeError(f"compute function returned {len(out)} records for {len(batch)} ids")
                self.put(dict(zip(batch, out)), provenance)
                bar.update(len(batch))
        return [self.records[i] for i in ids]


class ResultsCache:
    """Cached results of one profile (``quick``, ``paper``, ...); ``force=True`` ignores stored records."""

    def __init__(self, profile: str, root: str | os.PathLike | None = None, force: bool = False) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", profile):
            raise ValueError(f"profile name must be a simple identifier, got {profile!r}")
        self.profile = profile
        self.root = Path(root) if root is not None else results_root()
        self.force = force

    def entry(self, kind: str, key: dict[str, Any]) -> CacheEntry:
        """The cache entry of configuration ``key`` under ``kind`` (e.g. ``insdel``, ``fps``)."""
        slug = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", str(key[k])) for k in ("model", "method") if k in key) or kind
        path = self.root / self.profile / kind / f"{slug}-{config_key(key)}.json"
        return CacheEntry(path, key, force=self.force)
