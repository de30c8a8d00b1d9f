"""Shard an attribution + insertion/deletion run over processes or GPUs (``torchrun``), merge into one store entry.

Launch::

    torchrun --nproc_per_node 2 -m attx_core.distributed --method ig --model tiny_cnn --n-images 8 --profile test

(``python -m attx_core.distributed ...`` without torchrun is the single-process run.) Images are
cut into batches of ``--batch`` in order; batch k goes to rank ``k mod world``, so each batch holds
the same images as in a single-process run and seeded methods draw the same noise: the merged
records equal the single-process ones. Each rank stores its records in its own store entry (the key
plus ``shard: "<rank>of<world>"``), resumable batch by batch; after a barrier rank 0 merges the
shards into the entry of the plain key (the one a single-process run writes) and removes them.
Backend: NCCL with one GPU per rank when CUDA is available, gloo on CPU.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import time
from typing import Any, Sequence

import torch
import torch.distributed as dist

from . import data, models
from .args import OneLineParser, UsageError, name_values, positive_number
from .data import image_set_folder
from .methods import METHODS, attribute
from .methods.registry import check_params
from .metrics import insertion_deletion
from .store import ResultsStore, provenance
from .validate import require

SEED = 3407


def rank_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 outside a process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_from_env() -> torch.device:
    """Join the torchrun process group when ``WORLD_SIZE`` > 1 (nccl on GPU, gloo on CPU); return this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def shard_batches(ids: Sequence[str], batch: int, rank: int, world: int) -> list[list[str]]:
    """The batches of ``ids`` (consecutive, ``batch`` each) that ``rank`` of ``world`` computes: every world-th."""
    require(batch >= 1, f"batch must be >= 1, got {batch}")
    require(0 <= rank < world, f"rank must lie in 0..{world - 1}, got {rank}")
    batches = [list(ids[i : i + batch]) for i in range(0, len(ids), batch)]
    return batches[rank::world]


def image_records(model: models.ImageModel, x: torch.Tensor, y: torch.Tensor, method: str, params: dict[str, Any],
                  insdel: dict[str, Any]) -> list[dict[str, Any]]:
    """Per image: label, scored class, insertion and deletion AUC, and two sums of the map (a fingerprint)."""
    start = time.perf_counter()
    attr = attribute(model, x, y, method=method, **params)
    seconds = (time.perf_counter() - start) / x.shape[0]
    res = insertion_deletion(model, x, attr, **insdel)
    return [
        {
            "label": int(y[i]),
            "class": int(res.target[i]),
            "insertion": float(res.insertion[i]),
            "deletion": float(res.deletion[i]),
            "attr_sum": float(attr[i].double().sum()),
            "attr_abs_sum": float(attr[i].double().abs().sum()),
            "seconds": seconds,
        }
        for i in range(x.shape[0])
    ]


def _shard_key(key: dict[str, Any], rank: int, world: int) -> dict[str, Any]:
    return {**key, "shard": f"{rank}of{world}"}


def merge_shards(store: ResultsStore, kind: str, key: dict[str, Any], ids: Sequence[str], world: int, prov: dict[str, Any],
                 keep_shards: bool = False) -> dict[str, dict[str, Any]]:
    """Rank 0's step: gather every shard entry's records into the entry of ``key`` (ids in order)."""
    records: dict[str, dict[str, Any]] = {}
    origins: dict[str, dict[str, Any] | None] = {}
    shards = [store.entry(kind, _shard_key(key, r, world)) for r in range(world)]
    for shard in shards:
        records.update(shard.records)
        origins.update({i: shard.provenance_of(i) for i in shard.records})
    missing = [i for i in ids if i not in records]
    if missing:
        raise RuntimeError(f"shards of {kind} lack records for {len(missing)} image(s), e.g. {missing[:3]}")
    merged = store.entry(kind, key)
    merged.records = {}
    merged.provenance = {}
    merged.put({i: records[i] for i in ids}, prov, record_provenance=origins)
    if not keep_shards:
        for shard in shards:
            shard.path.unlink(missing_ok=True)
    return merged.records


def run_sharded(
    method: str,
    model_name: str,
    n_images: int,
    profile: str,
    *,
    params: dict[str, Any] | None = None,
    images: str = "sample",
    batch: int = 4,
    insdel: dict[str, Any] | None = None,
    kind: str = "dist_insdel",
    root: str | os.PathLike | None = None,
    weights: str | None = "auto",
    force: bool = False,
    keep_shards: bool = False,
) -> dict[str, dict[str, Any]]:
    """Records per image id of ``method`` on ``model_name``, this rank's share computed here, merged by rank 0.

    Works unchanged in one process (world 1: it writes the merged entry directly). Returns the merged
    records on every rank. ``weights=None`` builds the model with seeded random weights (same on all ranks).
    """
    require(method in METHODS, f"unknown method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    require(n_images >= 1, f"n_images must be >= 1, got {n_images}")
    params = dict(params or {})
    device = init_from_env()
    rank, world = rank_world()
    torch.manual_seed(SEED)  # random-weight models must be identical on every rank
    model = models.load(model_name, weights=weights, device=device)
    default_step = max(1, model.input_size**2 // 14)  # 15 curve points (3584 pixels at 224, the quick profile's)
    insdel = {"step": default_step, "substrate": "zeros", "order": "reference", **{k: v for k, v in (insdel or {}).items() if v is not None}}
    imageset = data.load_image_set(images, size=model.input_size, n=n_images)
    ids = [f"{i:05d}-{name}" for i, name in enumerate(imageset.names)]
    index = {name: i for i, name in enumerate(ids)}
    key = dict(model=model.name, weights=model.weights, method=method, params=params, images=images,
               n_images=len(ids), batch=batch, insdel=insdel, seed=SEED)
    store = ResultsStore(profile, root=root, force=force)
    prov = provenance(device, profile=profile, model=model.name, weights=model.weights, images=imageset.source,
                      n_images=len(ids), seed=SEED, world_size=world, backend=dist.get_backend() if world > 1 else "none")
    merged = store.entry(kind, key)
    if not merged.missing(ids):
        return {i: merged.records[i] for i in ids}
    entry = merged if world == 1 else store.entry(kind, _shard_key(key, rank, world))

    def compute(batch_ids: list[str]) -> list[dict[str, Any]]:
        rows = torch.tensor([index[i] for i in batch_ids])
        return image_records(model, imageset.x[rows].to(device), imageset.labels[rows].to(device), method, params, insdel)

    for batch_ids in shard_batches(ids, batch, rank, world):
        entry.compute(batch_ids, compute, batch_size=len(batch_ids), provenance={**prov, "rank": rank}, desc=f"rank {rank}")
    if world == 1:
        return {i: entry.records[i] for i in ids}
    dist.barrier()
    if rank == 0:
        merge_shards(store, kind, key, ids, world, prov, keep_shards)
    dist.barrier()
    stored = ResultsStore(profile, root=root).entry(kind, key).records  # re-read: a forced entry starts empty
    return {i: stored[i] for i in ids}


PROG = "python -m attx_core.distributed"


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m attx_core.distributed`` (usage errors on one line, exit status 2)."""
    p = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--method", required=True)
    p.add_argument("--model", default=models.DEFAULT_MODEL)
    p.add_argument("--n-images", default="8")
    p.add_argument("--profile", default="quick")
    p.add_argument("--images", default="sample", help="'sample', 'val-subset' or a folder with labels.csv")
    p.add_argument("--batch", default="4", help="images per attribute call (the unit of sharding)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="method parameter (repeatable)")
    p.add_argument("--insdel-step", default=None, help="pixels per insertion/deletion step (default: 15 curve points)")
    p.add_argument("--kind", default="dist_insdel", help="store kind (folder under the profile)")
    p.add_argument("--root", default=None, help="results root (default $ATTX_RESULTS or data/results)")
    p.add_argument("--random-weights", action="store_true", help="seeded random init (automatic for models without pretrained weights)")
    p.add_argument("--threads", default=None, help="torch threads per rank (default: cores / local ranks)")
    p.add_argument("--force", action="store_true", help="recompute instead of reusing stored records")
    p.add_argument("--keep-shards", action="store_true", help="keep the per-rank entries after merging")
    return p


def checked_args(args: argparse.Namespace) -> dict[str, Any]:
    """Every argument checked before a process group starts or a model loads; raises :class:`UsageError`."""
    if args.model not in models.MODELS:
        raise UsageError(f"unknown model {args.model!r}; known models: {', '.join(sorted(models.MODELS))}")
    params = name_values("--param", args.param)
    counts = {name: positive_number(f"--{name.replace('_', '-')}", getattr(args, name), integer=True)
              for name in ("n_images", "batch", "insdel_step", "threads")}
    try:
        check_params(args.method, params)
        image_set_folder(args.images)
        store = ResultsStore(args.profile, root=args.root)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.kind):
        raise UsageError(f"--kind must be a simple folder name, got {args.kind!r}")
    if store.root.exists() and not store.root.is_dir():
        raise UsageError(f"--root {str(store.root)!r} is a file, not a folder")
    return {"params": params, **counts}


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: run this rank's shard, merge on rank 0, print a summary there. Argument errors are one line on
    rank 0's stderr (exit status 2 on every rank) before any process group starts; later errors one line per rank."""
    rank_env = int(os.environ.get("RANK", "0") or 0)
    try:
        with contextlib.redirect_stderr(io.StringIO()) if rank_env else contextlib.nullcontext():
            args = build_parser().parse_args(argv)
        checked = checked_args(args)
    except UsageError as err:
        if rank_env == 0:
            print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except SystemExit as done:  # -h, or argparse's one-line usage error (printed by rank 0)
        return done.code if isinstance(done.code, int) else 2
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(checked["threads"] or max(1, (os.cpu_count() or 1) // local_world))
    random = args.random_weights or models.MODELS[args.model].load_pretrained is None
    start = time.perf_counter()
    try:
        records = run_sharded(
            args.method, args.model, checked["n_images"], args.profile, params=checked["params"], images=args.images,
            batch=checked["batch"], insdel={"step": checked["insdel_step"]}, kind=args.kind, root=args.root,
            weights=None if random else "auto", force=args.force, keep_shards=args.keep_shards,
        )
    except (ValueError, RuntimeError, OSError) as err:
        print(f"{PROG}: error (rank {rank_world()[0]}): {' '.join(str(err).split()) or type(err).__name__}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    rank, world = rank_env, int(os.environ.get("WORLD_SIZE", "1"))
    if rank == 0:
        ins = sum(r["insertion"] for r in records.values()) / len(records)
        dele = sum(r["deletion"] for r in records.values()) / len(records)
        print(f"{args.method} on {args.model}: {len(records)} images over {world} process(es) in "
              f"{time.perf_counter() - start:.1f} s; insertion {ins:.4f}, deletion {dele:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
