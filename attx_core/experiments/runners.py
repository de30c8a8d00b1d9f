"""The computations behind the book's chapters: attribution + metric per image, stored per configuration.

Every number goes through :class:`attx_core.store.ResultsStore`: one entry per (model, weights, method,
parameters, image set, metric settings), one record per image, resumable. Every table function
returns a long DataFrame with the paper CSVs' keys (model, method, parameter, setting, metric) plus
``image`` and ``value``; ``df.attrs`` carries ``notes`` (deviations, images not computed yet) and
``provenance`` (of the first stored entry).
"""
from __future__ import annotations

import functools
import inspect
import os
import time
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

import pandas as pd
import torch
import torch.nn.functional as F

from ..methods import METHODS, attribute
from ..methods.big import BIG_L2_EPSILONS
from ..methods.registry import method_passes
from ..store import NotComputedError, ResultsStore, StoreEntry, provenance
from ..validate import require
from .resolve import IMAGE_SIZE, ResolvedModel, image_ids, image_set, keyed_by_digest, model_labels, resolve_model, weights_digest

MAP_SIZE = 56  # stored heatmaps are channel-summed |A|, average-pooled to 56x56, scaled to [0,1]
def device() -> torch.device:
    """``$ATTX_DEVICE`` when set (``attx compute --device``), else the accelerator when there is one, else the CPU."""
    chosen = os.environ.get("ATTX_DEVICE")
    if chosen:
        return torch.device(chosen)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def method_params(method: str, params: Mapping[str, Any], seed: int | None = None) -> tuple[dict[str, Any], list[str]]:
    """The method's full parameters (its defaults updated by ``params``) and notes on what was dropped.

    Parameters the method does not declare are dropped with a note (a chapter may name settings of a
    method still being written); ``seed`` is passed when the method declares one.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {', '.join(sorted(METHODS))}")
    defaults = METHODS[method].defaults
    full = dict(defaults)
    notes = []
    for name, value in params.items():
        if name in defaults:
            full[name] = value
        else:
            notes.append(f"{method}: parameter {name}={value!r} not declared by the method (ignored; runs at its default)")
    if seed is not None and "seed" in defaults:
        full["seed"] = seed
    return full, notes


EVALUATION_SET = "evaluation_set"  # a method's background= drawn from the whole named image set (Expected Gradients)


def _key_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)) for k, v in params.items()}


class Run:
    """Shared context of one chapter run: profile, image set, store, notes, provenance.

    ``n_images_per_model``: a model's own image count (else ``n_images``); ``stand_ins``: always the
    EfficientNet-Lite analogue of a paper model; ``stored_only``: compute nothing, a configuration with
    missing images is a note; ``partial``: compute nothing, use whatever images are stored (notes say n);
    ``plan``: compute nothing, use what is stored, and append every store entry read with the target ids it lacks;
    ``random_weights``: models randomly initialised (asked for explicitly; their pages decide no claim).
    ``recompute``: entry file name -> batches of its image ids: compute exactly these, each batch as one, and nothing
    of any other entry (the audit recomputes stored records this way, into a temporary store).
    The target images are the first n ids of the image set, read from its manifest where the files are absent.
    """

    def __init__(self, profile: str, images: str, n_images: int | None, seed: int, batch_size: int = 4,
                 force: bool = False, stored_only: bool = False, partial: bool = False,
                 n_images_per_model: Mapping[str, int] | None = None, stand_ins: bool = False,
                 plan: list[tuple[StoreEntry, list[str]]] | None = None, random_weights: bool = False,
                 recompute: Mapping[str, Sequence[Sequence[str]]] | None = None, **_: Any) -> None:
        self.profile, self.images, self.n_images, self.seed = profile, images, n_images, seed
        self.batch_size, self.stored_only, self.plan, self.recompute = batch_size, stored_only, plan, recompute
        self.partial = partial or plan is not None
        self.n_images_per_model, self.stand_ins, self.random_weights = dict(n_images_per_model or {}), stand_ins, random_weights
        self.store = ResultsStore(profile, force=force)
        self.notes: list[str] = []
        self.provenance: dict[str, Any] = {}
        self.models: dict[str, ResolvedModel] = {}
        self.digests: dict[str, dict[str, str]] = {}  # requested -> the key fields of a user model's weights

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def model(self, requested: str) -> ResolvedModel:
        if requested not in self.models:
            flags = {**({"stand_in": True} if self.stand_ins else {}), **({"random_weights": True} if self.random_weights else {})}
            resolved = resolve_model(requested, **flags)
            resolved.model.to(device())
            self.models[requested] = resolved
            self.digests[requested] = {"weights_sha": weights_digest(resolved.model)} if keyed_by_digest(resolved.model) else {}
            self.note(resolved.note)
        return self.models[requested]

    def ids(self, requested: str | None = None) -> tuple[list[str], list[int]]:
        """The ids and labels of the images ``requested`` runs on (its own count where the profile gives one)."""
        n = self.n_images_per_model.get(requested, self.n_images) if requested else self.n_images
        ids, labels = image_ids(self.images, n)
        if n is not None and len(ids) < n:
            self.note(f"requested {n} images, the set {self.images!r} has {len(ids)}: all of them used")
        return ids, labels

    def _stored(self, kind: str, requested: str, model: str, method: str, entry: StoreEntry,
                only: Sequence[str] | None = None) -> list[tuple[str, int, dict[str, Any]]]:
        """What an entry holds of the target images (``only``: of these of them), read from the store alone (``partial``/``plan``):
        a machine without the image files (a fresh clone rendering the committed store) shows the same numbers."""
        ids, labels = self._targets(requested, only)
        present = [i for i in ids if i in entry.records]
        if self.plan is not None:
            self.plan.append((entry, [i for i in ids if i not in entry.records]))
        if len(present) < len(ids):
            self.note(f"{kind} {model}/{method}: {len(present)} of {len(ids)} images computed")
        if present and not self.provenance:
            self.provenance = dict(entry.provenance)
        label = dict(zip(ids, labels))
        return [(i, int(label[i]), entry.records[i]) for i in present]

    def _targets(self, requested: str, only: Sequence[str] | None) -> tuple[list[str], list[int]]:
        """The target ids and labels of ``requested``, limited to ``only`` where given."""
        ids, labels = self.ids(requested)
        if only is None:
            return ids, labels
        keep = set(only)
        return [i for i in ids if i in keep], [label for i, label in zip(ids, labels) if i in keep]

    def image_set(self, requested: str | None = None):
        """The images of ``requested`` (its own count when the profile gives one)."""
        n = self.n_images_per_model.get(requested, self.n_images) if requested else self.n_images
        imgs = image_set(self.images, n)
        if n is not None and len(imgs) < n:
            self.note(f"requested {n} images, the set {self.images!r} has {len(imgs)}: all of them used")
        return imgs

    def records(self, kind: str, requested: str, method: str, params: Mapping[str, Any], extra: Mapping[str, Any],
                compute: Callable[[ResolvedModel, torch.Tensor, torch.Tensor, dict[str, Any]], list[dict[str, Any]]],
                seed: int | None = None, only: Sequence[str] | None = None) -> list[tuple[str, int, dict[str, Any]]]:
        """Records (image id, label, record) of one configuration, computed for the missing images only (``only``: of
        these target images alone)."""
        seed = self.seed if seed is None else seed
        full, dropped = method_params(method, params, seed)
        for text in dropped:
            self.note(text)
        resolved = self.model(requested)
        # the whole set, whatever this run's image count: a record's references must not depend on how far the store has grown
        pool_ids = image_ids(self.images, None)[0] if full.get("background") == EVALUATION_SET else None
        key = {"model": resolved.name, "weights": resolved.weights, **self.digests[requested], "method": method, "version": METHODS[method].version,
               "params": _key_params(full), **({"background_images": len(pool_ids)} if pool_ids else {}),
               "images": self.images, "size": IMAGE_SIZE, "seed": seed, **extra}
        entry = self.store.entry(kind, key)
        if self.partial:
            return self._stored(kind, requested, resolved.name, method, entry, only)
        ids, labels = self.ids(requested)
        wanted, wanted_labels = self._targets(requested, only)
        if self.stored_only and entry.missing(wanted):
            raise NotComputedError(f"{kind} {resolved.name}/{method}: {len(entry.missing(wanted))} of {len(wanted)} images not computed")
        imgs = self.image_set(requested)
        _check_images(self.images, imgs, ids, labels, entry.missing(wanted))
        index = {name: i for i, name in enumerate(imgs.names)}
        pool: list[torch.Tensor] = []  # the background, loaded and moved to the device on the first batch only

        def batch_fn(batch_ids: list[str]) -> list[dict[str, Any]]:
            rows = [index[i] for i in batch_ids]
            x, y = imgs.x[rows].to(device()), imgs.labels[rows].to(device())
            if pool_ids and not pool:
                pool.append(_background_pool(self.images, pool_ids).to(device()))
            return compute(resolved, x, y, {**full, "background": pool[0]} if pool else full)

        prov = provenance(device(), profile=self.profile, model=resolved.name, requested_model=requested, weights=resolved.weights,
                          images=self.images, n_images=len(ids), seed=seed, method=method,
                          method_version=METHODS[method].version, batch_size=self.batch_size)
        if self.recompute is not None:
            batches = [list(b) for b in self.recompute.get(entry.path.name, [])]
            for batch in batches:
                entry.compute(batch, batch_fn, len(batch), provenance=prov)
            return [(i, int(imgs.labels[index[i]]), entry.records[i]) for batch in batches for i in batch]
        out = entry.compute(wanted, batch_fn, self.batch_size, provenance=prov, desc=f"{kind} {resolved.name} {method}")
        if not self.provenance:
            self.provenance = dict(entry.provenance)
        return [(i, label, r) for i, label, r in zip(wanted, wanted_labels, out)]

    def attrs(self, requested_models: Sequence[str]) -> dict[str, Any]:
        """What a result frame carries besides its rows: notes, provenance, models and their analogues."""
        return dict(notes=list(self.notes), provenance=dict(self.provenance), models=list(requested_models),
                    analogues={k: v.name for k, v in self.models.items()}, profile=self.profile, random_weights=self.random_weights)

    def frame(self, rows: list[dict[str, Any]], requested_models: Sequence[str]) -> pd.DataFrame:
        df = pd.DataFrame(rows, columns=["model", "ours_model", "method", "parameter", "setting", "metric", "image", "value"])
        df.attrs.update(self.attrs(requested_models))
        return df


def _background_pool(name: str, pool_ids: list[str]) -> torch.Tensor:
    """Every image of set ``name`` in manifest order: the references Expected Gradients draws from."""
    pool = image_set(name, None)
    lacking = [i for i in pool_ids if i not in set(pool.names)]
    if lacking or list(pool.names) != pool_ids:
        raise ValueError(f"{pool.source} holds {len(pool)} of the {len(pool_ids)} images of set {name!r}; Expected Gradients draws each "
                         f"image's reference from all of them (lacking {', '.join(lacking[:3])}{', ...' if len(lacking) > 3 else ''}): "
                         "point ATTX_DATA_DIR at the shared subset")
    return pool.x


def _check_images(name: str, imgs, ids: list[str], labels: list[int], todo: list[str]) -> None:
    """The loaded images must be the manifest's first n (labels included), or, from a folder holding only some of the
    set (a GPU bundle), every image still to compute."""
    loaded = dict(zip(imgs.names, imgs.labels.tolist()))
    if list(imgs.names) == ids and [loaded[i] for i in ids] == labels:
        return
    manifest = dict(zip(*image_ids(name, None)))
    if any(manifest.get(i) != label for i, label in loaded.items()):
        raise ValueError(f"the images of set {name!r} ({imgs.source}) are not the ones its manifest (data/imagesets/{name}.csv) "
                         "lists: point ATTX_DATA_DIR at the shared subset, or name your own folder as the image set")
    lacking = [i for i in todo if i not in loaded]
    if lacking:
        raise ValueError(f"{imgs.source} holds only some images of set {name!r} and lacks {len(lacking)} this computation "
                         f"needs ({', '.join(lacking[:3])}{', ...' if len(lacking) > 3 else ''}): build the bundle again "
                         "(attx compute --bundle) or point ATTX_DATA_DIR at the shared subset")


def _timed_attribution(model, x: torch.Tensor, y: torch.Tensor, method: str, params: dict[str, Any]) -> tuple[torch.Tensor, float]:
    if x.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    attr = attribute(model, x, y, method=method, **params)
    if x.is_cuda:
        torch.cuda.synchronize()
    return attr, (time.perf_counter() - start) / x.shape[0]


COARSER_STEPS = (2, 4, 8)  # the resolution study: AUCs at these multiples of the step, from the same curves


def _substrate_scores(model, x: torch.Tensor, attr: torch.Tensor, target: torch.Tensor | None, insdel: Mapping[str, Any],
                      substrates: Mapping[str, Mapping[str, Any]]) -> tuple[torch.Tensor | None, list[dict[str, list[float]]]]:
    """(the scored class, per image ``{protocol: [insertion, deletion]}``): the AUCs of ``attr`` under each substrate
    protocol (``insdel`` updated by its settings); ``target`` None: the clean image's top-1 class."""
    from ..metrics import insertion_deletion

    found = {}
    for name, protocol in substrates.items():
        res = insertion_deletion(model, x, attr, target=target, **{**insdel, **protocol})
        target, found[name] = res.target, res
    return target, [{name: [float(r.insertion[k]), float(r.deletion[k])] for name, r in found.items()} for k in range(x.shape[0])]


def _insdel_compute(method: str, insdel: Mapping[str, Any], substrates: Mapping[str, Mapping[str, Any]] | None = None):
    from ..metrics import coarser_auc, insertion_deletion

    def compute(resolved: ResolvedModel, x, y, params):
        attr, seconds = _timed_attribution(resolved.model, x, y, method, params)
        res = insertion_deletion(resolved.model, x, attr, target=None, **insdel)
        step, pixels = int(insdel.get("step", 224)), x.shape[-2] * x.shape[-1]
        exact = [f for f in COARSER_STEPS if pixels % (step * f) == 0]
        coarse = {f: (coarser_auc(res.insertion_curve, f).tolist(), coarser_auc(res.deletion_curve, f).tolist()) for f in exact}
        other = _substrate_scores(resolved.model, x, attr, res.target, insdel, substrates)[1] if substrates else []
        return [{"insertion": float(i), "deletion": float(d), "target": int(t), "seconds": seconds,
                 **({"coarser": {str(step * f): [ins[k], dele[k]] for f, (ins, dele) in coarse.items()}} if coarse else {}),
                 **({"substrates": other[k]} if other else {})}
                for k, (i, d, t) in enumerate(zip(res.insertion.tolist(), res.deletion.tolist(), res.target.tolist()))]

    return compute


def _substrates_compute(method: str, insdel: Mapping[str, Any], substrates: Mapping[str, Mapping[str, Any]]):
    """The substrate scores of Table 1's map recomputed (images whose Table-1 record predates them)."""
    def compute(resolved: ResolvedModel, x, y, params):
        attr, seconds = _timed_attribution(resolved.model, x, y, method, params)
        target, scores = _substrate_scores(resolved.model, x, attr, None, insdel, substrates)
        return [{"substrates": s, "target": int(t), "seconds": seconds} for s, t in zip(scores, target.tolist())]

    return compute


def _each_config(run: Run, models: Iterable[str], configs: Iterable[tuple[str, str, str, dict[str, Any]]],
                 one: Callable[[str, str, dict[str, Any]], list[tuple[str, int, dict[str, Any]]]],
                 metrics: Callable[[dict[str, Any]], dict[str, float]]) -> list[dict[str, Any]]:
    """Rows of every (model, config); configs are (method, parameter, setting, params)."""
    rows = []
    for requested in models:
        for method, parameter, setting, params in configs:
            try:
                records = one(requested, method, params)
            except NotComputedError as err:
                run.note(str(err))
                continue
            ours = run.models[requested].name
            for image, _, rec in records:
                for metric, value in metrics(rec).items():
                    rows.append(dict(model=requested, ours_model=ours, method=method, parameter=parameter, setting=setting,
                                     metric=metric, image=image, value=value))
    return rows


def _insdel_rows(run: Run, models: Iterable[str], configs, insdel: Mapping[str, Any], coarser: bool = False,
                 substrates: Mapping[str, Mapping[str, Any]] | None = None) -> list[dict[str, Any]]:
    def one(requested, method, params):
        return run.records("insdel", requested, method, params, {"insdel": dict(insdel)}, _insdel_compute(method, insdel, substrates))

    def metrics(record: Mapping[str, Any]) -> dict[str, float]:
        out = {"insertion": record["insertion"], "deletion": record["deletion"]}
        for step, (ins, dele) in (record.get("coarser", {}) if coarser else {}).items():
            out[f"insertion@{step}px"], out[f"deletion@{step}px"] = ins, dele
        return out

    return _each_config(run, models, configs, one, metrics)


Runner = TypeVar("Runner", bound=Callable[..., pd.DataFrame])


def any_model(runner: Runner) -> Runner:
    """Let a runner take wrapped models (:func:`attx_core.models.wrap`) beside model names in ``models``: each runs,
    is keyed and is shown under its label ``<name>@<digest>`` (:func:`~.resolve.model_label`)."""
    signature = inspect.signature(runner)

    @functools.wraps(runner)
    def call(*args: Any, **kwargs: Any) -> pd.DataFrame:
        bound = signature.bind(*args, **kwargs)
        bound.arguments["models"] = model_labels(bound.arguments["models"])
        return runner(*bound.args, **bound.kwargs)

    return call  # type: ignore[return-value]


@any_model
def insdel_table(profile: str, models: Sequence[str], methods: Mapping[str, Mapping[str, Any]], images: str,
                 n_images: int | None, seed: int, insdel: Mapping[str, Any], coarser: bool = False,
                 substrates: Mapping[str, Mapping[str, Any]] | None = None, **run_opts: Any) -> pd.DataFrame:
    """Insertion/deletion AUC per (model, method, image) (Tables 1 and 7): attribution of the label,
    scored on the model's top-1 class. ``coarser=True`` adds the stored AUCs of the same curves at coarser
    steps as metrics ``insertion@448px`` ... (the resolution study, :mod:`attx_core.experiments.resolution`).
    ``substrates`` (protocol name -> settings over ``insdel``): the records computed now also carry the same map's
    AUCs under these substrates (the substrates chapter reads them; the key and the other fields stay)."""
    run = Run(profile, images, n_images, seed, **run_opts)
    configs = [(m, "", "", dict(p)) for m, p in methods.items()]
    return run.frame(_insdel_rows(run, models, configs, insdel, coarser, substrates), models)


@any_model
def substrate_table(profile: str, models: Sequence[str], methods: Mapping[str, Mapping[str, Any]], images: str, n_images: int | None,
                    seed: int, insdel: Mapping[str, Any], substrates: Mapping[str, Mapping[str, Any]], **run_opts: Any) -> pd.DataFrame:
    """Insertion/deletion per (model, method, substrate, image) of Table 1's maps: ``zeros`` is Table 1's own AUC, each
    protocol of ``substrates`` (name -> settings over ``insdel``) is read from Table 1's record where it carries it
    (images Table 1 lacks are computed there, with them); an older record's image is scored in this runner's own
    entry (key: Table 1's configuration + the protocols), its map recomputed once. Planning names the own entry alone,
    lacking every image without a score, so each image is counted once."""
    require(bool(substrates) and "zeros" not in substrates, f"substrates must name protocols other than Table 1's zeros, got {substrates!r}")
    run = Run(profile, images, n_images, seed, **run_opts)
    rows = []
    for requested in models:
        for method, params in methods.items():
            planned, run.plan = run.plan, None  # planning counts an image once, in the own entry: where it has no substrate score
            try:
                table1 = run.records("insdel", requested, method, params, {"insdel": dict(insdel)}, _insdel_compute(method, insdel, substrates))
            except NotComputedError as err:
                run.note(str(err))
                continue
            finally:
                run.plan = planned
            scored = {i: r["substrates"] for i, _, r in table1 if set(substrates) <= set(r.get("substrates", {}))}
            try:
                own = run.records("substrates", requested, method, params, {"insdel": dict(insdel), "substrates": dict(substrates)},
                                  _substrates_compute(method, insdel, substrates), only=[i for i in run.ids(requested)[0] if i not in scored])
            except NotComputedError as err:
                run.note(str(err))
                continue
            scored.update((i, r["substrates"]) for i, _, r in own)
            ours = run.models[requested].name
            for image, _, rec in table1:
                values = {"zeros": (rec["insertion"], rec["deletion"]), **{k: scored[image][k] for k in substrates if image in scored}}
                for setting, (ins, dele) in values.items():
                    for metric, value in (("insertion", ins), ("deletion", dele)):
                        rows.append(dict(model=requested, ours_model=ours, method=method, parameter="", setting=setting, metric=metric,
                                         image=image, value=value))
    return run.frame(rows, models)


@any_model
def ablation(profile: str, models: Sequence[str], method: str, base: Mapping[str, Any], parameter: str, values: Sequence[Any],
             images: str, n_images: int | None, seed: int, insdel: Mapping[str, Any], **run_opts: Any) -> pd.DataFrame:
    """Insertion/deletion of ``method`` over a grid of one paper parameter (Tables 3-5, 9-12);
    epsilon values are in units of 1/255 as the paper prints them."""
    run = Run(profile, images, n_images, seed, **run_opts)
    configs = [(method, parameter, str(v), {**base, parameter: v / 255 if parameter == "epsilon" else v}) for v in values]
    return run.frame(_insdel_rows(run, models, configs, insdel), models)


@any_model
def attack_explorers(profile: str, models: Sequence[str], base: Mapping[str, Any], attacks: Sequence[str], images: str,
                     n_images: int | None, seed: int, insdel: Mapping[str, Any], **run_opts: Any) -> pd.DataFrame:
    """AttEXplore's integrator over paths explored by different attacks (Table 6, AttEXplore++):
    setting ``ssa`` = AttEXplore as published, ``none`` = attack=None, no exploration (the NoAttack row)."""
    run = Run(profile, images, n_images, seed, **run_opts)
    configs = [("attexplore", "attack", a, {**base, "attack": None if a == "none" else a}) for a in attacks]
    return run.frame(_insdel_rows(run, models, configs, insdel), models)


@any_model
def seed_stability(profile: str, models: Sequence[str], method: str, params: Mapping[str, Any], seeds: Sequence[int], images: str,
                   n_images: int | None, seed: int, insdel: Mapping[str, Any], **run_opts: Any) -> pd.DataFrame:
    """Insertion/deletion of a randomised method under several seeds (AttEXplore++ randomness study)."""
    run = Run(profile, images, n_images, seed, **run_opts)
    require("seed" in method_params(method, {})[0], f"{method} takes no seed: nothing to vary")
    rows = []
    for s in seeds:
        def one(requested, m, p, s=s):
            return run.records("insdel", requested, m, p, {"insdel": dict(insdel)}, _insdel_compute(m, insdel), seed=s)

        rows += _each_config(run, models, [(method, "seed", str(s), dict(params))], one,
                             lambda r: {"insertion": r["insertion"], "deletion": r["deletion"]})
    return run.frame(rows, models)


@any_model
def fps_table(profile: str, models: Sequence[str], methods: Mapping[str, Mapping[str, Any]], images: str, n_images: int | None,
              seed: int, **run_opts: Any) -> pd.DataFrame:
    """Images attributed per second (Table 2), attribution only, after a warm-up pass; one value
    (1/seconds) per image, timed per batch of ``batch_size`` images."""
    run = Run(profile, images, n_images, seed, **run_opts)

    def one(requested, method, params):
        def compute(resolved, x, y, p):
            attribute(resolved.model, x[:1], y[:1], method="saliency")  # warm-up: first-call costs are not the method's
            _, seconds = _timed_attribution(resolved.model, x, y, method, p)
            return [{"seconds": seconds} for _ in range(x.shape[0])]

        return run.records("fps", requested, method, params, {"batch_size": run.batch_size}, compute)

    configs = [(m, "", "", dict(p)) for m, p in methods.items()]
    df = run.frame(_each_config(run, models, configs, one, lambda r: {"fps": 1.0 / r["seconds"]}), models)
    df.attrs["notes"].append(f"device: {df.attrs['provenance'].get('device', '?')}; the paper's: NVIDIA RTX6000 Ada GPU")
    return df


@any_model
def infd_table(profile: str, models: Sequence[str], methods: Mapping[str, Mapping[str, Any]], images: str, n_images: int | None,
               seed: int, n_perturbations: int = 100, **run_opts: Any) -> pd.DataFrame:
    """INFD per (model, method, image) (Table 8): attribution of the label, infidelity of its logit."""
    from ..metrics import infidelity

    run = Run(profile, images, n_images, seed, **run_opts)

    def one(requested, method, params):
        def compute(resolved, x, y, p):
            attr, _ = _timed_attribution(resolved.model, x, y, method, p)
            return [{"infd": float(v)} for v in infidelity(resolved.model, x, attr, y, n_perturbations=n_perturbations, seed=run.seed).tolist()]

        return run.records("infd", requested, method, params, {"n_perturbations": n_perturbations}, compute)

    configs = [(m, "", "", dict(p)) for m, p in methods.items()]
    return run.frame(_each_config(run, models, configs, one, lambda r: {"infd": r["infd"]}), models)


def _small_map(attr: torch.Tensor) -> list[list[float]]:
    a = attr.sum(0).abs()[None, None]
    a = F.adaptive_avg_pool2d(a, MAP_SIZE)[0, 0]
    top = torch.quantile(a.flatten(), 0.99)
    a = (a / top).clamp(0, 1) if top > 0 else torch.zeros_like(a)
    return [[round(v, 3) for v in row] for row in a.tolist()]


@any_model
def heatmap_grid(profile: str, models: Sequence[str], methods: Mapping[str, Mapping[str, Any]], images: str, n_images: int | None,
                 seed: int, **run_opts: Any) -> pd.DataFrame:
    """Heatmaps (channel-summed |A|, 56x56, [0,1]) per (model, method, image) for Figure 4 and the explorer;
    one row per map, the map in column ``map``."""
    run = Run(profile, images, n_images, seed, **run_opts)
    rows = []
    for requested in models:
        for method, params in methods.items():
            def compute(resolved, x, y, p, method=method):
                attr, _ = _timed_attribution(resolved.model, x, y, method, p)
                return [{"map": _small_map(a)} for a in attr.cpu()]

            try:
                records = run.records("maps", requested, method, params, {"map_size": MAP_SIZE}, compute)
            except NotComputedError as err:
                run.note(str(err))
                continue
            for image, label, rec in records:
                rows.append(dict(model=requested, ours_model=run.models[requested].name, method=method, image=image, label=label, map=rec["map"]))
    df = pd.DataFrame(rows, columns=["model", "ours_model", "method", "image", "label", "map"])
    df.attrs.update(run.attrs(models))
    return df


# The explorer grid's "samples" axis is each explorer's own sample-count knob (SSA's N, MIG's scales, GRA's neighbours);
# explorers without one have no samples axis.
SAMPLE_KNOBS = {"ssa": "N", "mig": "scales", "gra": "neighbors"}


def grid_configs(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every AttEXplore configuration of the explorer grid: (attack, epsilon in 1/255, samples, num_steps),
    ``samples`` None for an explorer without a sample-count knob (one configuration, not one per value)."""
    configs = []
    for attack in grid["attacks"]:
        knob = SAMPLE_KNOBS.get(attack)
        for eps in grid["epsilon"]:
            for samples in (grid["samples"] if knob else [None]):
                for steps in grid["num_steps"]:
                    configs.append({"attack": attack, "epsilon": eps, "samples": samples, "num_steps": steps})
    return configs


@any_model
def explorer_grid(profile: str, models: Sequence[str], images: str, n_images: int | None, seed: int,
                  grid: Mapping[str, Sequence[Any]], insdel: Mapping[str, Any], **run_opts: Any) -> pd.DataFrame:
    """AttEXplore over the explorer grid (:func:`grid_configs`) for the static explorer: per configuration and
    image the 56x56 display map and the insertion/deletion curves (``insdel`` step) with their AUCs."""
    from ..attacks import ATTACKS
    from ..metrics import insertion_deletion

    run = Run(profile, images, n_images, seed, **run_opts)
    rows = []
    for requested in models:
        for cfg in grid_configs(grid):
            params = {"attack": None if cfg["attack"] == "none" else cfg["attack"], "epsilon": cfg["epsilon"] / 255,
                      "num_steps": cfg["num_steps"]}
            knob = SAMPLE_KNOBS.get(cfg["attack"])
            if knob in METHODS["attexplore"].defaults:
                params[knob] = cfg["samples"]
            elif knob and cfg["samples"] != ATTACKS[cfg["attack"]].defaults[knob]:  # at its default: the entry keyed without it
                params["attack_params"] = {knob: cfg["samples"]}

            def compute(resolved, x, y, p):
                attr, _ = _timed_attribution(resolved.model, x, y, "attexplore", p)
                res = insertion_deletion(resolved.model, x, attr, target=None, **insdel)
                return [{"map": _small_map(a), "insertion": float(i), "deletion": float(d),
                         "insertion_curve": [round(v, 4) for v in ic], "deletion_curve": [round(v, 4) for v in dc]}
                        for a, i, d, ic, dc in zip(attr.cpu(), res.insertion.tolist(), res.deletion.tolist(),
                                                   res.insertion_curve.tolist(), res.deletion_curve.tolist())]

            try:
                records = run.records("explorer", requested, "attexplore", params, {"insdel": dict(insdel), "map_size": MAP_SIZE}, compute)
            except NotComputedError as err:
                run.note(str(err))
                continue
            for image, label, rec in records:
                rows.append(dict(model=requested, ours_model=run.models[requested].name, **cfg, image=image, label=label, **rec))
    columns = ["model", "ours_model", "attack", "epsilon", "samples", "num_steps", "image", "label", "map", "insertion",
               "deletion", "insertion_curve", "deletion_curve"]
    df = pd.DataFrame(rows, columns=columns)
    df.attrs.update(run.attrs(models))
    return df


@any_model
def sanity_check(profile: str, models: Sequence[str], methods: Mapping[str, Mapping[str, Any]], stages: int, images: str,
                 n_images: int | None, seed: int, **run_opts: Any) -> pd.DataFrame:
    """Cascading model-parameter randomisation (Adebayo et al. 2018): Spearman of each method's map with
    its original map as the top ``stages`` parameterised blocks are re-initialised, per image."""
    from ..metrics import cascading_randomization

    run = Run(profile, images, n_images, seed, **run_opts)
    available = {}
    for m, p in methods.items():
        full, dropped = method_params(m, p, seed)
        available[m] = full
        for text in dropped:
            run.note(text)
    rows = []
    for requested in models:
        resolved = run.model(requested)
        layers = _top_blocks(resolved.model, stages)

        def compute(res, x, y, _p):
            df = cascading_randomization(res.model, x, y, {m: (m, p) for m, p in available.items()}, seed=run.seed, layers=layers)
            return [{"rows": df[df.image == i].drop(columns="image").to_dict("records")} for i in range(x.shape[0])]

        if not available:
            break
        key = {"methods": {m: _key_params(p) for m, p in available.items()}, "layers": layers}
        records = run.records("sanity", requested, next(iter(available)), {}, key, compute)
        for image, _, rec in records:
            for r in rec["rows"]:
                rows.append(dict(model=requested, ours_model=resolved.name, image=image, **r))
    df = pd.DataFrame(rows)
    df.attrs.update(run.attrs(models))
    return df


def _top_blocks(model, stages: int) -> list[str]:
    """The top ``stages`` parameterised children of the network, output first, its block list expanded
    (e.g. classifier, conv_head, blocks.6, blocks.5, ...), as module names of the ImageModel."""
    names = []
    for name, child in reversed(list(model.net.named_children())):
        if isinstance(child, torch.nn.Sequential) and len(child) > 1:
            names += [f"net.{name}.{i}" for i in reversed(range(len(child)))]
        elif any(True for _ in child.parameters()) and "norm" not in type(child).__name__.lower():
            names.append(f"net.{name}")
    return names[:stages]


def ablation_section(cfg: Mapping[str, Any], section: str) -> dict[str, Any]:
    """Keyword arguments of :func:`ablation` for one table of an ablation chapter's settings."""
    spec = cfg["sections"][section]
    kwargs = {k: v for k, v in cfg.items() if k != "sections"}
    kwargs["base"] = {**cfg["base"], **spec.get("base", {})}
    kwargs.update(parameter=spec["parameter"], values=spec["values"])
    return kwargs


# Published code vs corrected: (variant, method, published params, corrected params).
PUBLISHED_VARIANTS = (
    ("AttEXplore loss: three softmaxes (published) vs one (the paper's formula)", "attexplore", {"objective": "ce_prob2"}, {"objective": "ce"}),
    ("AttEXplore path: descend the loss (published) vs ascend (the SSA attack's direction)", "attexplore",
     {"direction": "descend"}, {"direction": "ascend"}),
    ("Table-6 rows: never-zeroed input gradients (old code) vs fresh (MI-FGSM row)", "attexplore",
     {"attack": "mifgsm", "preset": "table6_accumulate"}, {"attack": "mifgsm", "preset": "table6"}),
    ("Table-6 rows: never-zeroed input gradients (old code) vs fresh (NoAttack row)", "attexplore",
     {"attack": None, "preset": "table6_accumulate"}, {"attack": None, "preset": "table6"}),
    ("AGI: every step from the original image (published) vs a cumulative walk", "agi", {"path": "published"}, {"path": "cumulative"}),
    ("AGI: explains the prediction (published) vs the label", "agi", {"explain": "prediction"}, {"explain": "target"}),
    ("BIG: the group's Linf search (tables) vs the original L2 search", "big", {}, {"norm": "l2", "epsilons": BIG_L2_EPSILONS,
                                                                              "num_steps": 40, "search_output": "logit", "output": "logit"}),
    ("MFABA: never-zeroed input gradients (published) vs fresh", "mfaba", {"accumulate": True}, {"accumulate": False}),
    ("Guided IG: 15 steps on the logits (the paper's wrapper) vs 200 (the library's default)", "guided_ig", {"steps": 15}, {"steps": 200}),
    ("IG: Captum's 50-point riemann_trapezoid (published) vs a 51-point trapezoid", "ig", {"rule": "riemann_trapezoid"}, {"rule": "trapezoid"}),
    ("Expected Gradients: one reference per image (published, k = 1) vs 50", "expected_gradients",
     {"background": EVALUATION_SET, "n_samples": 1}, {"background": EVALUATION_SET, "n_samples": 50}),
    ("Fast-IG: flipped sign (published) vs correct sign", "fast_ig", {"reference_bugs": True}, {"reference_bugs": False}),
    ("Grad-CAM: explains the prediction (published) vs the label", "gradcam", {"explain": "predicted"}, {"explain": "label"}),
)
ORDER_VARIANT = "insertion/deletion ranking: union of channel ranks (published) vs channel-summed pixels"
PUBLISHED_VS_CORRECTED = (*(v for v, *_ in PUBLISHED_VARIANTS), ORDER_VARIANT)
"""Every variant :func:`published_vs_corrected` compares, as its frame's ``parameter`` names it."""


@any_model
def published_vs_corrected(profile: str, models: Sequence[str], images: str, n_images: int | None, seed: int,
                           insdel: Mapping[str, Any], base: Mapping[str, Any] | None = None,
                           variants: Sequence[str] = PUBLISHED_VS_CORRECTED, **run_opts: Any) -> pd.DataFrame:
    """Insertion/deletion of each published-code behaviour against its corrected version, plus the
    metric's own reference ("union of channels") vs pixel ordering for AttEXplore; ``base`` = AttEXplore's
    settings; ``variants``: the ones to run (of :data:`PUBLISHED_VS_CORRECTED`; the planner runs only the open
    claims'). Rows: parameter = the variant, setting = 'published' or 'corrected'."""
    unknown = [v for v in variants if v not in PUBLISHED_VS_CORRECTED]
    require(not unknown, f"unknown published-vs-corrected variant(s) {unknown}; known: {list(PUBLISHED_VS_CORRECTED)}")
    run = Run(profile, images, n_images, seed, **run_opts)
    rows = []
    for variant, method, published, corrected in PUBLISHED_VARIANTS:
        if variant not in variants:
            continue
        extra = dict(base or {}) if method == "attexplore" else {}
        configs = [(method, variant, "published", {**extra, **published}), (method, variant, "corrected", {**extra, **corrected})]
        rows += _insdel_rows(run, models, configs, insdel)
    for setting, order in (("published", "reference"), ("corrected", "pixel")) if ORDER_VARIANT in variants else ():
        configs = [("attexplore", ORDER_VARIANT, setting, dict(base or {}))]
        rows += _insdel_rows(run, models, configs, {**insdel, "order": order})
    return run.frame(rows, models)


def robustness_study(profile: str, datasets: Sequence[str], objectives: Sequence[str], robust_scale: str, seed: int = 0,
                     eps: float = 8 / 255, force: bool = False, stored_only: bool = False, partial: bool = False,
                     plan: list[tuple[StoreEntry, list[str]]] | None = None, **_: Any) -> pd.DataFrame:
    """Attributional robustness (Sarkar et al. 2021) via :func:`attx_core.robust.run_study`, one stored
    record per (dataset, objective); a missing dataset becomes a note. ``partial``/``plan`` as for :class:`Run`."""
    from ..robust import DatasetMissing, run_study

    store = ResultsStore(profile, force=force)
    from ..robust import VERSION

    entry = store.entry("robustness", {"model": "robust", "method": robust_scale, "version": VERSION, "seed": seed, "eps": eps})
    notes, rows = [], []
    for dataset in datasets:
        ids = [f"{dataset}/{o}" for o in objectives]
        if partial or plan is not None:
            rows += [entry.records[i] for i in ids if i in entry.records]
            if plan is not None:
                plan.append((entry, entry.missing(ids)))
            continue
        if stored_only and entry.missing(ids):
            notes.append(f"{dataset}: not computed")
            continue

        def compute(batch: list[str], dataset=dataset) -> list[dict[str, Any]]:
            frame = run_study(dataset, [b.split("/", 1)[1] for b in batch], scale=robust_scale, seed=seed, eps=eps, progress=False,
                              device=device())
            return frame.to_dict("records")

        prov = provenance(device(), profile=profile, model=f"robust SmallCNN ({robust_scale})", weights="trained here",
                          images=dataset, n_images=None, seed=seed)
        try:
            rows += entry.compute(ids, compute, batch_size=1, provenance=prov, desc=f"robustness {dataset}")
        except DatasetMissing as err:
            notes.append(f"{dataset}: dataset not available ({err})")
        except NotComputedError as err:
            notes.append(str(err))
    df = pd.DataFrame(rows)
    df.attrs.update(notes=notes, provenance=dict(entry.provenance), profile=profile)
    return df


def passes_per_image(method: str, params: Mapping[str, Any]) -> float:
    """Forward+backward passes per image of ``method`` with ``params``, from the registry's formula
    (NaN when the method is missing or declares no formula)."""
    if method not in METHODS:
        return float("nan")
    full, _ = method_params(method, params)
    try:
        passes = method_passes(method, full)
    except (NameError, TypeError, SyntaxError, ValueError):
        return float("nan")
    return float("nan") if passes is None else passes


def fps_at_paper_settings(ours: pd.DataFrame, used: Mapping[str, Mapping[str, Any]], paper: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Measured FPS under the settings ``used`` and the FPS predicted at the ``paper`` settings by scaling
    with the registry's passes per image (time is proportional to passes for these methods)."""
    rows = []
    for (model, method), g in ours.groupby(["model", "method"]):
        fps = float(len(g) / (1.0 / g["value"]).sum())
        p_used, p_paper = passes_per_image(method, used.get(method, {})), passes_per_image(method, paper.get(method, {}))
        rows.append({"model": model, "method": method, "passes used": p_used, "passes (paper settings)": p_paper,
                     "FPS measured": fps, "FPS predicted at paper settings": fps * p_used / p_paper})
    return pd.DataFrame(rows)
