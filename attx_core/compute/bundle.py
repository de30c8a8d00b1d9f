"""A borrowed GPU fills the store: ``attx compute --bundle FOLDER`` writes what the GPU machine needs for the next
planned computations, :mod:`attx_core.compute.gpu` runs them there and packs the new records into one folder, and
``attx compute --merge FOLDER`` folds that folder into the store.

The bundle holds the weight files of the one or two stand-ins the first planned steps need (the three do not fit
beside the repository), exactly the images those steps read (PNG copies and ``labels.csv``) and ``bundle.json``
(the steps, the chapters and models the run may touch, the commit). What travels to the GPU machine, the working
tree included, stays within ``--bundle-mib``; each step is grown, in turn, by further rounds of :data:`STEP` images
while its images fit, so a GPU that is faster than planned still has work (where it reaches a step's last round, that
step fails with one clear line and the others go on). Timed chapters (Table 2: images per second)
are left to the CPU: a GPU's timings must not mix into theirs.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import gzip
import hashlib
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator, Sequence

from .. import models
from ..chapters import PROFILES
from ..data import ImageDataError, shared_data_dir
from ..experiments.resolve import image_ids
from ..experiments.runners import EVALUATION_SET
from ..store import REPO_ROOT, ResultsStore, _canonical, git_commit
from .plan import Cell, missing
from .planner import STEP, Step, plan
from .tables import write_tables

MIB = 1024 * 1024
FORMAT = 1  # of bundle.json and of the records files a GPU run packs
MANIFEST = "bundle.json"
MAX_MODELS = 2  # stand-ins per bundle: their weight files are 18.8, 21.9 and 24.7 MB
MARGIN_MIB = 1.0  # left free for the store growing between the bundle and the run
TIMED = ("fps",)  # entry kinds whose records are timings of the machine that computed them
RECORDS = "records-{:02d}.json.gz"
MAX_RECORD_FILES = 6  # of the 8 files a device run may return: the records, run.json and run.log
RECORD_FILE_BYTES = 16 * MIB  # uncompressed JSON per records file, so each compressed one stays within 16 MiB


# --- the bundle ----------------------------------------------------------------------------------------------------


def tree_bytes(root: Path = REPO_ROOT) -> int:
    """Bytes of what the device tool sends besides carried paths: tracked files and untracked files git does not ignore."""
    listed = set()
    for extra in ([], ["--others", "--exclude-standard"]):
        out = subprocess.run(["git", "ls-files", "-z", *extra], cwd=root, capture_output=True, check=True).stdout
        listed |= {name for name in out.decode().split("\0") if name}
    return sum((root / name).lstat().st_size for name in listed if (root / name).is_file() or (root / name).is_symlink())


def _needed_ids(profile: str, cell: Cell) -> tuple[list[str], set[str], set[str]]:
    """(the image ids a cell's computations read, the store kinds and the image sets of the entries they fill): the ids
    each entry lacks, or every id of the cell where the whole set is each image's background (Expected Gradients)."""
    ids: list[str] = []
    kinds: set[str] = set()
    sets: set[str] = set()
    for entry, lacking in missing(profile, cell):
        if not lacking:
            continue
        kinds.add(entry.path.parent.name)
        sets.add(str(entry.key.get("images")))
        params = entry.key.get("params")
        if isinstance(params, dict) and params.get("background") == EVALUATION_SET:
            lacking = image_ids(str(entry.key["images"]), None)[0]  # references are drawn from the whole set
        ids += [i for i in lacking if i not in ids]
    return ids, kinds, sets


def _stand_ins(profile: str, cell: Cell) -> set[str]:
    """The networks (stand-ins) whose entries a cell still fills."""
    return {str(entry.key["model"]) for entry, lacking in missing(profile, cell) if lacking}


def _grown(cell: Cell, rounds: int) -> Cell:
    """The cell ``rounds - 1`` further planner steps along (the images a run re-planning after each step may reach)."""
    return cell if cell.limit is None else dataclasses.replace(cell, limit=cell.limit + STEP * (rounds - 1))


@dataclasses.dataclass
class Selection:
    """What a bundle holds: the planned steps, the rounds they grow by, the stand-ins' weight files and the images."""

    steps: list[Step]
    rounds: list[int]  # per step: the planner steps of STEP images its images reach
    weights: dict[str, Path]
    images: list[str]
    image_bytes: int
    requested: dict[str, str]  # the paper's model -> its stand-in

    @property
    def weight_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.weights.values())

    @property
    def only(self) -> list[str]:
        """The chapters and models the run may touch (``attx compute --only``)."""
        return sorted({f"{s.cell.chapter}:{s.cell.model}" for s in self.steps})


def select(profile: str, only: Sequence[str] | None, room: int) -> Selection:
    """The planned steps a bundle of at most ``room`` bytes serves, in the planner's order: steps of at most
    :data:`MAX_MODELS` stand-ins (the first steps decide which), untimed, with a model, on the profile's image set; each
    grown in turn by further rounds of :data:`STEP` images while they fit. One clear error when no step fits."""
    folder = shared_data_dir()
    sizes: dict[str, int] = {}

    def image_size(image_id: str) -> int:
        if image_id not in sizes:
            path = folder / image_id
            if not path.is_file():
                raise ImageDataError(f"image {image_id} of the planned steps is not in {folder} (set ATTX_DATA_DIR to the shared subset)")
            sizes[image_id] = path.stat().st_size
        return sizes[image_id]

    images = PROFILES[profile]["images"]
    weights: dict[str, Path] = {}
    requested: dict[str, str] = {}
    chosen: list[Step] = []
    for step in plan(profile, only):
        if any(dataclasses.replace(c.cell, limit=None) == dataclasses.replace(step.cell, limit=None) for c in chosen):
            continue  # a later stage of a chosen cell: the rounds below grow it
        ids, kinds, sets = _needed_ids(profile, step.cell)
        nets = _stand_ins(profile, step.cell)
        if step.cell.model is None or kinds & set(TIMED) or sets != {images} or not nets:
            continue  # no network, timings, or another image set than the profile's (the explorer's packaged photos)
        try:
            files = {net: weights.get(net) or models.weights_file(net) for net in nets}
        except models.WeightsUnavailableError:
            continue
        trial = {**weights, **files}
        need = sum(p.stat().st_size for p in trial.values()) + sum(image_size(i) for i in {*_ids(chosen, profile, 1), *ids})
        if len(trial) > MAX_MODELS or need > room:
            continue
        weights, chosen = trial, [*chosen, step]
        requested.update({step.cell.model: net for net in nets})
    if not chosen:
        raise ValueError(f"not even the first planned step of profile {profile!r} fits in {room / MIB:.1f} MiB beside the working "
                         "tree (or nothing is planned that a GPU may compute): raise --bundle-mib or make the tree smaller")
    room -= sum(p.stat().st_size for p in weights.values())
    own = [_needed_ids(profile, step.cell)[0] for step in chosen]
    ids = dict.fromkeys(i for needed in own for i in needed)
    rounds = [1] * len(chosen)
    growing = [step.cell.limit is not None for step in chosen]
    while any(growing):  # one round more for each step in turn, in the planner's order, while its images fit
        for k, step in enumerate(chosen):
            if growing[k]:
                needed = _needed_ids(profile, _grown(step.cell, rounds[k] + 1))[0]
                extra = [i for i in needed if i not in ids]
                growing[k] = set(needed) != set(own[k]) and sum(map(image_size, [*ids, *extra])) <= room  # else: at its count
                if growing[k]:
                    ids.update(dict.fromkeys(extra))
                    own[k], rounds[k] = needed, rounds[k] + 1
    order = {i: n for n, i in enumerate(image_ids(images, None)[0])}
    ordered = sorted(ids, key=order.__getitem__)
    return Selection(chosen, rounds, weights, ordered, sum(map(image_size, ordered)), requested)


def _ids(steps: Sequence[Step], profile: str, rounds: int) -> list[str]:
    seen: dict[str, None] = {}
    for step in steps:
        seen.update(dict.fromkeys(_needed_ids(profile, _grown(step.cell, rounds))[0]))
    return list(seen)


def write_bundle(profile: str, folder: Path, chosen: Selection, tree: int, limit_mib: float) -> dict[str, Any]:
    """Write the bundle into ``folder`` (an earlier bundle there is replaced); returns its manifest."""
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "weights").mkdir(parents=True)
    (folder / "images").mkdir()
    for net, path in chosen.weights.items():
        shutil.copyfile(path, folder / "weights" / f"{net}.pth")
    names, labels = image_ids(PROFILES[profile]["images"], None)
    label = dict(zip(names, labels))
    for image_id in chosen.images:
        shutil.copyfile(shared_data_dir() / image_id, folder / "images" / image_id)
    (folder / "images" / "labels.csv").write_text("file,label\n" + "".join(f"{i},{label[i]}\n" for i in chosen.images))
    manifest = {
        "format": FORMAT, "profile": profile, "commit": git_commit(),
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "only": chosen.only, "steps": [{"step": str(s), "rounds": r} for s, r in zip(chosen.steps, chosen.rounds)], "step_images": STEP,
        "models": chosen.requested,
        "weights": {net: {"file": f"weights/{net}.pth", "bytes": p.stat().st_size, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                    for net, p in chosen.weights.items()},
        "images": {"set": PROFILES[profile]["images"], "folder": "images", "ids": chosen.images},
        "tree_bytes": tree, "limit_mib": limit_mib,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def folder_bytes(folder: Path) -> int:
    """Bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_command(folder: Path, minutes: float = 7.0) -> tuple[str, list[str]]:
    """The device tool's ``command`` and ``carry`` for a bundle inside the repository."""
    rel = folder.resolve().relative_to(REPO_ROOT)
    return f"bash bench/gpu_fill.sh {shlex.quote(str(rel))} {minutes:g}", [str(rel)]


def bundle_command(profile: str, folder: str, only: Sequence[str] | None = None, limit_mib: float = 64.0) -> int:
    """``attx compute --bundle``: write the bundle, say what it holds and print the device tool's command."""
    path = Path(folder).resolve()
    inside = path.is_relative_to(REPO_ROOT)
    if inside and subprocess.run(["git", "check-ignore", "-q", str(path / MANIFEST)], cwd=REPO_ROOT).returncode != 0:
        raise ValueError(f"{folder} is inside the repository but not ignored by git: it would travel twice (add it to .gitignore, e.g. _bundle/)")
    if path.exists() and any(path.iterdir()) and not (path / MANIFEST).is_file():
        raise ValueError(f"{folder} is not empty and holds no {MANIFEST}: not overwriting it; name a new folder or an earlier bundle's")
    if profile not in PROFILES or PROFILES[profile].get("images") != "val-subset":
        raise ValueError(f"profile {profile!r} does not run on the shared val subset: only its images can travel in a bundle")
    tree = tree_bytes()
    room = int((limit_mib - MARGIN_MIB) * MIB) - tree
    chosen = select(profile, only, room)
    manifest = write_bundle(profile, path, chosen, tree, limit_mib)
    total = tree + folder_bytes(path)
    weights = ", ".join(f"{net} {w['bytes'] / MIB:.1f} MiB" for net, w in manifest["weights"].items())
    print(f"attx compute: bundle {folder}: {len(chosen.steps)} planned step(s) for {', '.join(chosen.only)}; weights {weights}; "
          f"{len(chosen.images)} images ({chosen.image_bytes / MIB:.1f} MiB); with the working tree ({tree / MIB:.1f} MiB) "
          f"{total / MIB:.1f} of {limit_mib:g} MiB")
    for step, rounds in zip(chosen.steps, chosen.rounds):
        print(f"  {step}  [images for {rounds} step(s) of {STEP}]")
    if inside:
        command, carry = run_command(path)
        print("device tool (run): " + json.dumps({"command": command, "carry": carry, "timeout_s": 540}))
        print("then: attx compute --merge <files_at>/gpu-run")
    else:
        print("the bundle is outside the repository: copy it into an ignored folder of the repository to carry it")
    return 0


def read_manifest(folder: Path) -> dict[str, Any]:
    """A bundle's manifest, checked against its files: one clear error for a missing or changed file."""
    path = folder / MANIFEST
    if not path.is_file():
        raise ValueError(f"{folder} is not a bundle: it has no {MANIFEST} (write one with attx compute --bundle)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: bundle format {manifest.get('format')!r}, this code reads {FORMAT}: build the bundle again")
    for net, spec in manifest["weights"].items():
        file = folder / spec["file"]
        if not file.is_file() or hashlib.sha256(file.read_bytes()).hexdigest() != spec["sha256"]:
            raise ValueError(f"bundle {folder}: the weights of {net} ({spec['file']}) are missing or changed")
    lacking = [i for i in manifest["images"]["ids"] if not (folder / manifest["images"]["folder"] / i).is_file()]
    if lacking:
        raise ValueError(f"bundle {folder} lacks {len(lacking)} of its images ({', '.join(lacking[:3])}): build it again")
    return manifest


# --- the records a GPU run packs, and their merge -----------------------------------------------------------------


def _full_provenance(stored: dict[str, Any], image_id: str) -> dict[str, Any] | None:
    ref = (stored.get("record_provenance") or {}).get(image_id)
    if ref is None or ref.get("provenance") not in (stored.get("provenances") or {}):
        return None
    return {**stored["provenances"][ref["provenance"]], "date": ref.get("date")}


def new_records(run_store: Path, store: Path, commit: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(entry name ``<kind>/<file>``, key, records, provenance per record) of every record ``run_store`` holds that
    ``store`` (the same profile's store before the run) does not; a provenance without a commit gets ``commit``."""
    for path in sorted(run_store.glob("*/*.json")):
        name = f"{path.parent.name}/{path.name}"
        stored = json.loads(path.read_text())
        before = store / name
        old = set(json.loads(before.read_text())["records"]) if before.is_file() else set()
        new = {i: r for i, r in stored["records"].items() if i not in old}
        if not new:
            continue
        prov = {}
        for image_id in new:
            own = _full_provenance(stored, image_id) or {}
            prov[image_id] = {**own, "commit": commit} if own.get("commit", "unknown") == "unknown" else own
        yield name, stored["key"], new, prov


def pack(run_store: Path, store: Path, out: Path, profile: str, commit: str) -> tuple[list[Path], int, list[str]]:
    """Write the new records of a run into at most :data:`MAX_RECORD_FILES` gzipped JSON files in ``out``, each at most
    :data:`RECORD_FILE_BYTES` of JSON. Returns (files, records packed, entries with records left out for want of room)."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    chunk: dict[str, dict[str, Any]] = {}
    size, count, left_out = 0, 0, set()

    def flush() -> None:
        if chunk:
            path = out / RECORDS.format(len(files) + 1)
            path.write_bytes(gzip.compress(json.dumps({"format": FORMAT, "profile": profile, "entries": list(chunk.values())}).encode()))
            files.append(path)
            chunk.clear()

    for name, key, records, prov in new_records(run_store, store, commit):
        for image_id, record in records.items():
            grows = len(json.dumps([image_id, record, prov[image_id]]))
            if chunk and size + grows > RECORD_FILE_BYTES:
                flush()
                size = 0
            if len(files) == MAX_RECORD_FILES:
                left_out.add(name)
                continue
            part = chunk.setdefault(name, {"name": name, "key": key, "records": {}, "provenance": {}})
            part["records"][image_id], part["provenance"][image_id] = record, prov[image_id]
            size, count = size + grows, count + 1
    flush()
    return files, count, sorted(left_out)


def _provenance_ok(prov: dict[str, Any]) -> bool:
    """Whether a record's provenance names its device and torch, and the CUDA version where the device is a GPU."""
    return bool(prov.get("device") and prov.get("torch") and (prov.get("cuda") or str(prov["device"]).startswith("cpu")))


def _read_records_file(path: Path, profile: str, store: ResultsStore) -> list[dict[str, Any]]:
    """The entries of one records file, checked: its profile, each key against the entry of the same name (its file
    name and, where the store has it, the stored key) and each record's provenance."""
    try:
        payload = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a records file of a GPU run ({err})") from None
    if payload.get("format") != FORMAT or payload.get("profile") != profile:
        raise ValueError(f"{path}: records of profile {payload.get('profile')!r} (format {payload.get('format')!r}), "
                         f"not of profile {profile!r} (format {FORMAT})")
    for part in payload["entries"]:
        kind, _, file = part["name"].partition("/")
        if not re.fullmatch(r"[a-z_]+", kind):
            raise ValueError(f"{path}: entry {part['name']!r} is not <kind>/<file> of a store: nothing merged")
        entry = store.entry(kind, part["key"])
        if entry.path.name != file:
            raise ValueError(f"{path}: the key of {part['name']} does not match its name (it names {kind}/{entry.path.name}): "
                             "nothing merged")
        stored = json.loads(entry.path.read_text()) if entry.path.is_file() else None
        if stored is not None and _canonical(stored.get("key")) != _canonical(part["key"]):
            raise ValueError(f"{path}: the key of {part['name']} does not match the store entry of that name: nothing merged")
        bare = [i for i in part["records"] if not _provenance_ok(part["provenance"].get(i) or {})]
        if bare:
            raise ValueError(f"{path}: {len(bare)} record(s) of {part['name']} lack a provenance naming the GPU, CUDA and torch "
                             f"({', '.join(bare[:3])}): nothing merged")
    return payload["entries"]


def _untimed(record: dict[str, Any]) -> Any:
    """A record without its timing (``seconds``: the machine's, not the method's)."""
    return _canonical({k: v for k, v in record.items() if k != "seconds"})


def merge(profile: str, folder: Path) -> tuple[int, int, int, int]:
    """Fold a GPU run's records into the store, each with its own provenance, never replacing a stored record; every
    file is checked before anything is merged. Returns (records merged, entries touched, duplicates, duplicates that
    differ from the stored record)."""
    files = sorted(folder.glob(RECORDS.replace("{:02d}", "*")))
    if not files:
        raise ValueError(f"{folder} holds no {RECORDS.format(1).replace('01', 'NN')} files of a GPU run")
    store = ResultsStore(profile)
    parts = [part for path in files for part in _read_records_file(path, profile, store)]
    merged, touched, dupes, differ = 0, set(), 0, 0
    for part in parts:
        kind = part["name"].partition("/")[0]
        entry = store.entry(kind, part["key"])
        held = entry._claim(list(part["records"]), len(part["records"]))  # no worker computes these ids meanwhile
        try:
            entry.refresh()
            ours = {i: part["records"][i] for i, _ in held if i not in entry.records}
            if ours:
                first = part["provenance"][next(iter(ours))]
                entry.put(ours, provenance=first, record_provenance={i: part["provenance"][i] for i in ours})
                merged += len(ours)
                touched.add(part["name"])
        finally:
            entry._release(held)
        kept = {i: r for i, r in part["records"].items() if i not in ours}  # stored already, or being stored by a worker
        entry.refresh()
        dupes += len(kept)
        differ += sum(i in entry.records and _untimed(r) != _untimed(entry.records[i]) for i, r in kept.items())
    return merged, len(touched), dupes, differ


def merge_command(profile: str, folder: str) -> int:
    """``attx compute --merge``: fold a GPU run's records into the store, say what was merged and what was kept, and write
    the tables again (the GPU run writes none)."""
    path = Path(folder)
    if (path / "gpu-run").is_dir() and not any(path.glob("records-*")):
        path = path / "gpu-run"
    merged, entries, dupes, differ = merge(profile, path)
    print(f"attx compute: merged {merged} record(s) into {entries} store entr{'y' if entries == 1 else 'ies'} of profile {profile}"
          + (f"; {dupes} already stored, kept as stored ({differ} of them differ from the GPU's beyond timings)" if dupes else ""))
    if merged:
        written = write_tables(profile)
        print(f"attx compute: {len(written)} table(s) written to {ResultsStore(profile).folder / 'tables'}")
    summary = path / "run.json"
    if summary.is_file():
        run = json.loads(summary.read_text())
        print(f"attx compute: the GPU run: {run.get('device', '?')}, {run.get('records', '?')} record(s) in {run.get('compute_seconds', 0):.0f} s "
              f"({run.get('stopped', '?')}); smoke test {run.get('smoke', {}).get('verdict', '?')}"
              + "".join(f"\n  failed: {f}" for f in run.get("failed", [])))
    return 0
