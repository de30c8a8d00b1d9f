"""Results store with provenance: ``data/results/<profile>/<kind>/<slug>-<hash>.json``.

One JSON file per configuration (model, method, parameters, image set) holds a record per image id
and the provenance of the run. Each batch is written atomically (temp file + rename), so a run
that is interrupted and restarted recomputes only the ids it had not stored yet.

Several processes may share one store (on one machine). Every write re-reads the entry and merges
under an exclusive ``flock`` of the entry's lock file, so no record is lost; before computing a
batch a process claims its images (a non-blocking ``flock`` per image, released by the kernel when
the process dies), so no image is computed twice while its claimant lives. The coordination files
live in ``<kind>/.claims/<entry>/`` (not part of the store). Temp files of killed writers are removed
when their writer's PID is dead or they are older than :data:`TMP_STALE_SECONDS`. A damaged entry file
(not JSON, truncated, empty, or JSON that is not an entry) is named on stderr, moved into
``<kind>/.quarantine/`` (never deleted) and read as missing, so its images are recomputed.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as _dt
import fcntl
import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from tqdm.auto import tqdm

from .execution import forward_backend, policy

REPO_ROOT = Path(__file__).resolve().parents[1]
TMP_STALE_SECONDS = 600.0  # a temp file this old is a killed writer's, whatever its PID
CLAIMS_DIR = ".claims"
QUARANTINE_DIR = ".quarantine"


class NotComputedError(LookupError):
    """A result was asked for from the store only and has not been computed yet."""


class EntryBusy(NotComputedError):
    """Every image still missing from an entry is being computed by another live process."""


class DeadlineReached(Exception):
    """The compute budget ran out: no new batch was started (or the current one was abandoned)."""


@dataclass
class ComputePolicy:
    """How :meth:`StoreEntry.compute` behaves (set with :func:`compute_policy`).

    ``deadline``: ``time.time()`` after which no new batch starts (:class:`DeadlineReached`);
    ``wait``: wait for images another process is computing (False: raise :class:`EntryBusy`);
    ``on_batch``: called with (entry, batch ids, seconds) after every stored batch.
    """

    deadline: float | None = None
    wait: bool = True
    on_batch: Callable[["StoreEntry", list[str], float], None] | None = None
    poll_seconds: float = 1.0
    busy: int = field(default=0)  # EntryBusy raised so far


_POLICY: contextvars.ContextVar[ComputePolicy] = contextvars.ContextVar("attx_compute_policy", default=ComputePolicy())


@contextlib.contextmanager
def compute_policy(**fields: Any) -> Iterator[ComputePolicy]:
    """Within the block, every :meth:`StoreEntry.compute` follows ``ComputePolicy(**fields)``."""
    policy = ComputePolicy(**fields)
    token = _POLICY.set(policy)
    try:
        yield policy
    finally:
        _POLICY.reset(token)


def results_root() -> Path:
    """Where stored results live: $ATTX_RESULTS or ``<repo>/data/results``."""
    return Path(os.environ.get("ATTX_RESULTS", REPO_ROOT / "data" / "results"))


@functools.lru_cache(maxsize=1)
@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """Short commit of the repository (``+dirty`` when the tree has uncommitted changes), or 'unknown';
    looked up on a process's first provenance record and kept for the rest of the process."""
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# Instruction-set flags that change which float kernels run (and so the rounding of path methods' numbers).
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
             "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve")


@functools.lru_cache(maxsize=1)
def cpu_info() -> dict[str, Any]:
    """The CPU model, the instruction-set flags of :data:`ISA_FLAGS` it has, and the kernel level torch dispatches to."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif name.strip() in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:
        pass
    capability = torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "unknown"
    return {"cpu": model, "isa": [f for f in ISA_FLAGS if f in flags], "torch_cpu_capability": capability}


def device_name(device: str | torch.device = "cpu") -> str:
    """Human-readable device: the GPU's name, or the CPU with its thread count."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_info()['cpu']}, {torch.get_num_threads()} threads)"


def _versions() -> dict[str, str]:
    import numpy
    import timm

    out = {"torch": torch.__version__, "timm": timm.__version__, "numpy": numpy.__version__, "python": platform.python_version()}
    try:
        from importlib.metadata import PackageNotFoundError, version

        out["openvino"] = version("openvino")
    except PackageNotFoundError:
        pass
    return out


def provenance(device: str | torch.device = "cpu", **fields: Any) -> dict[str, Any]:
    """A provenance record: the caller's fields (profile, model, weights, images, seed, method, ...) plus what
    computed it: git commit, device (CPU model, instruction-set flags and kernel level; or the GPU), torch's
    intra-op thread count (``threads``: path methods' numbers depend on it), the execution policy and forward
    backend, library versions and the UTC date."""
    device = torch.device(device)
    record = dict(fields)
    record.setdefault("threads", torch.get_num_threads())
    record.update(
        execution=policy(),
        forward_backend=forward_backend(device),
        commit=git_commit(),
        device=device_name(device),
        **({"cuda": torch.version.cuda} if device.type == "cuda" else {}),
        **cpu_info(),
        **_versions(),
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
    """Write JSON so that readers only ever see the old or the new complete file (the temp file's
    name carries the writer's PID, for :func:`clean_stale_tmp`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; a shared store must be readable by others (0644)
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once, at import (os.umask can only be read by setting it)


def entry_problem(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """A stored entry file's content and what is wrong with it (None when it is a readable entry)."""
    if not raw.strip():
        return {}, "empty file"
    try:
        stored = json.loads(raw)
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError
        return {}, f"not valid JSON: {err}"
    if not isinstance(stored, dict) or not isinstance(stored.get("records"), dict):
        return {}, f"JSON {type(stored).__name__} without a 'records' object"
    if not all(isinstance(r, dict) for r in stored["records"].values()):
        return {}, "a record that is not an object"
    return stored, None


def quarantine(path: Path, problem: str) -> Path:
    """Move a damaged entry file into ``<kind>/.quarantine/`` (never deleted) and say so on stderr."""
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    dest = path.parent / QUARANTINE_DIR / f"{path.name}.{stamp}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, dest)
    print(f"attx: damaged store record {path} ({problem}); moved to {dest}; its images will be recomputed",
          file=sys.stderr, flush=True)
    return dest


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_TMP_PID = re.compile(r"\.(\d+)\.[^.]+\.tmp$")


def clean_stale_tmp(folder: Path, pattern: str = "*.tmp", max_age: float = TMP_STALE_SECONDS) -> list[Path]:
    """Remove temp files left by killed writers in ``folder``: the PID in their name is dead, or they
    are older than ``max_age`` seconds. Returns the removed paths."""
    removed = []
    now = time.time()
    for tmp in folder.glob(pattern):
        match = _TMP_PID.search(tmp.name)
        try:
            age = now - tmp.stat().st_mtime
        except FileNotFoundError:
            continue
        if age > max_age or (match is not None and not pid_alive(int(match.group(1)))):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created when missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _try_claim(path: Path) -> int | None:
    """A descriptor holding a non-blocking exclusive ``flock`` on ``path``, or None when another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class StoreEntry:
    """The stored records of one configuration, keyed by image id, with the provenance of each record.

    The file holds ``key``, ``records``, ``provenance`` (the entry's first run: what older readers show),
    ``provenances`` (each distinct run environment once, by id) and ``record_provenance`` (image id ->
    its run's id, the UTC date it was stored and, for a record computed here, ``seconds``: its batch's wall time
    per image, attribution and metric together, against which the cost model is measured). Records stored before
    per-record provenance have none.
    """

    def __init__(self, path: Path, key: dict[str, Any], force: bool = False) -> None:
        self.path = path
        self.key = _canonical(key)
        self.force = force
        self.provenance: dict[str, Any] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.provenances: dict[str, dict[str, Any]] = {}
        self.record_provenance: dict[str, dict[str, str]] = {}
        self._replace = force  # a forced entry's first write replaces the stored file
        if not force:
            self.refresh()

    @property
    def claims_dir(self) -> Path:
        """Where the entry's lock and claim files live (never part of the store)."""
        return self.path.parent / CLAIMS_DIR / self.path.stem

    def _stored(self, locked: bool = False) -> dict[str, Any]:
        """The stored file's content ({} when missing); a damaged file is quarantined under the entry's lock
        (``locked``: the caller holds it) once a re-read there confirms it, and reads as missing."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        stored, problem = entry_problem(raw)
        if problem is None:
            return stored
        if not locked:
            with _locked(self.claims_dir / "entry.lock"):
                return self._stored(locked=True)
        quarantine(self.path, problem)
        return {}

    def _merge(self, stored: dict[str, Any]) -> None:
        self.records = {**stored.get("records", {}), **self.records}
        self.provenances = {**stored.get("provenances", {}), **self.provenances}
        self.record_provenance = {**stored.get("record_provenance", {}), **self.record_provenance}

    def refresh(self) -> None:
        """Merge in the records other processes stored since this entry was read (not when forced)."""
        if self.force:
            return
        stored = self._stored()
        self._merge(stored)
        self.provenance = self.provenance or stored.get("provenance", {})

    def missing(self, ids: Sequence[str]) -> list[str]:
        """The ids without a stored record, in the given order."""
        return [i for i in ids if i not in self.records]

    def provenance_of(self, image_id: str) -> dict[str, Any] | None:
        """The full provenance of one stored record (its run's fields plus the date it was stored), or None
        for a record stored before per-record provenance."""
        ref = self.record_provenance.get(image_id)
        if ref is None or ref.get("provenance") not in self.provenances:
            return None
        return {**self.provenances[ref["provenance"]], "date": ref.get("date")}

    def _note_provenance(self, image_ids: Sequence[str], provenance: dict[str, Any], date: str | None = None,
                         seconds: float | None = None) -> None:
        body = {k: v for k, v in provenance.items() if k != "date"}
        pid = config_key(body)
        self.provenances[pid] = _canonical(body)
        stamp = date or provenance.get("date") or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for image_id in image_ids:
            self.record_provenance[image_id] = {"provenance": pid, "date": stamp,
                                                **({"seconds": round(seconds, 3)} if seconds is not None else {})}

    def put(self, records: dict[str, dict[str, Any]], provenance: dict[str, Any] | None = None,
            record_provenance: dict[str, dict[str, Any] | None] | None = None, seconds: float | None = None) -> None:
        """Store records: under the entry's lock, merge them with what is stored and rewrite the file
        atomically. Each new record points to ``provenance`` (stamped with the time it is stored and
        ``seconds``, the wall time per image that computed it), or to its own full provenance in
        ``record_provenance`` (records merged from elsewhere); the entry's first provenance stays its
        ``provenance``."""
        with _locked(self.claims_dir / "entry.lock"):
            stored = {} if self._replace else self._stored(locked=True)
            self._merge(stored)
            self.records.update(records)
            given = record_provenance or {}
            now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            for image_id in records:
                own = given.get(image_id)
                if own is not None:
                    self._note_provenance([image_id], own)
                elif provenance:
                    self._note_provenance([image_id], provenance, date=now, seconds=seconds)
            self.provenance = stored.get("provenance") or self.provenance or dict(provenance or {})
            payload = {"key": self.key, "provenance": self.provenance, "records": self.records}
            if self.record_provenance:
                payload.update(provenances=self.provenances, record_provenance=self.record_provenance)
            atomic_write_json(self.path, payload)
            self._replace = False
            clean_stale_tmp(self.path.parent, f"{self.path.name}.*.tmp")

    def _claim_path(self, image_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", image_id)[:60]
        return self.claims_dir / f"{safe}-{hashlib.sha1(image_id.encode()).hexdigest()[:8]}.claim"

    def _claim(self, todo: Sequence[str], n: int) -> list[tuple[str, int]]:
        """Claim up to ``n`` of ``todo`` (ids no other live process is computing): (id, descriptor)."""
        self.claims_dir.mkdir(parents=True, exist_ok=True)
        held = []
        for image_id in todo:
            fd = _try_claim(self._claim_path(image_id))
            if fd is not None:
                held.append((image_id, fd))
                if len(held) == n:
                    break
        return held

    def _release(self, held: list[tuple[str, int]]) -> None:
        for image_id, fd in held:
            if image_id in self.records:  # stored: the claim file is no longer needed
                self._claim_path(image_id).unlink(missing_ok=True)
            os.close(fd)

    def compute(
        self,
        ids: Sequence[str],
        fn: Callable[[list[str]], list[dict[str, Any]]],
        batch_size: int,
        provenance: dict[str, Any] | None = None,
        desc: str = "",
    ) -> list[dict[str, Any]]:
        """Records for ``ids``: stored ones are reused, missing ones computed by ``fn`` batch by batch
        (each batch claimed, then stored before the next starts), with a progress bar. Images another
        live process has claimed are left to it (waited for, or :class:`EntryBusy`, see
        :class:`ComputePolicy`); the deadline is checked before every batch."""
        policy = _POLICY.get()
        if self.missing(ids):
            self.refresh()
        todo = self.missing(ids)
        quiet = not todo or os.environ.get("TQDM_DISABLE") == "1" or policy.on_batch is not None  # the book build sets TQDM_DISABLE
        with tqdm(total=len(todo), desc=desc or self.path.stem, disable=quiet, leave=False) as bar:
            while todo:
                if policy.deadline is not None and time.time() >= policy.deadline:
                    raise DeadlineReached(f"{self.path.stem}: time is up")
                held = self._claim(todo, batch_size)
                try:
                    self.refresh()  # after claiming: what another process stored meanwhile is not recomputed
                    batch = [i for i, _ in held if i not in self.records]
                    if batch:
                        start = time.perf_counter()
                        out = fn(batch)
                        if len(out) != len(batch):
                            raise RuntimeError(f"compute function returned {len(out)} records for {len(batch)} ids")
                        self.put(dict(zip(batch, out)), provenance, seconds=(time.perf_counter() - start) / len(batch))
                        bar.update(len(batch))
                        if policy.on_batch is not None:
                            policy.on_batch(self, batch, time.perf_counter() - start)
                finally:
                    self._release(held)
                todo = self.missing(ids)
                if todo and not held:  # everything left is claimed by other live processes
                    if not policy.wait:
                        policy.busy += 1
                        raise EntryBusy(f"{self.path.stem}: {len(todo)} images are being computed by another process")
                    time.sleep(policy.poll_seconds)
                    self.refresh()
                    todo = self.missing(ids)
        return [self.records[i] for i in ids]


REPORTS = "audit"  # the folder of a profile's store that holds reports about it, not entries


class ResultsStore:
    """Stored results of one profile (``quick``, ``paper``, ...); ``force=True`` ignores stored records."""

    def __init__(self, profile: str, root: str | os.PathLike | None = None, force: bool = False) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", profile):
            raise ValueError(f"profile name must be a simple identifier, got {profile!r}")
        self.profile = profile
        self.root = Path(root) if root is not None else results_root()
        self.force = force

    @property
    def folder(self) -> Path:
        """The profile's store: ``<root>/<profile>``."""
        return self.root / self.profile

    @property
    def reports(self) -> Path:
        """Where reports about the store live (the recompute audit, the float-sensitivity measurement): not entries."""
        return self.folder / REPORTS

    def entry_paths(self) -> list[Path]:
        """Every entry file of the profile's store (``<kind>/<slug>-<hash>.json``), the reports left out."""
        return sorted(p for p in self.folder.glob("*/*.json") if p.parent.name != REPORTS)

    def entries(self) -> list[StoreEntry]:
        """Every entry of the profile's store, read from its file; a damaged file is set aside (reading it as an
        entry quarantines it) and left out."""
        out = []
        for path in self.entry_paths():
            stored, problem = entry_problem(path.read_bytes())
            if problem is None:
                out.append(StoreEntry(path, stored.get("key", {})))
            else:
                StoreEntry(path, {})
        return out

    def entry(self, kind: str, key: dict[str, Any]) -> StoreEntry:
        """The store entry of configuration ``key`` under ``kind`` (e.g. ``insdel``, ``fps``)."""
        slug = "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", str(key[k])) for k in ("model", "method") if k in key) or kind
        path = self.folder / kind / f"{slug}-{config_key(key)}.json"
        return StoreEntry(path, key, force=self.force)

    def clean_tmp(self) -> list[Path]:
        """Remove the stale temp files of killed writers anywhere in the profile's store."""
        if not self.folder.is_dir():
            return []
        return [p for d in [self.folder, *(x for x in self.folder.rglob("*") if x.is_dir())] for p in clean_stale_tmp(d)]
