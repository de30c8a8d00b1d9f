"""Widgets for the explorer chapter: a client-side selector over precomputed heatmaps (works in the
static HTML: jslink between a dropdown, a slider and ``Stack`` widgets, no Python callback) and a
live explorer that recomputes a map when a slider moves (needs a running kernel)."""
from __future__ import annotations

import io
from typing import Sequence

import ipywidgets as widgets
import matplotlib.cm as cm
import numpy as np
import pandas as pd
from PIL import Image


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """(H,W,3) photo in [0,1] with an inferno heatmap (any size, in [0,1]) blended over its grey copy."""
    h, w = image.shape[:2]
    big = np.asarray(Image.fromarray((np.asarray(heat) * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR), dtype=float) / 255
    grey = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    return (1 - alpha) * grey + alpha * cm.inferno(big)[..., :3]


def static_explorer(maps: pd.DataFrame, images: np.ndarray, names: Sequence[str]) -> widgets.Widget:
    """Pick an image (slider) and a method (dropdown); the choice is made in the browser by jslinked
    ``Stack`` widgets over precomputed PNGs, so it works in the built HTML without a kernel."""
    methods = list(dict.fromkeys(maps.method))
    method = widgets.Dropdown(options=methods, description="method")
    image = widgets.SelectionSlider(options=list(names), description="image")
    per_image = []
    for name, img in zip(names, images):
        cells = []
        for m in methods:
            cell = maps[(maps.image == name) & (maps.method == m)]
            rgb = overlay(img, np.asarray(cell.iloc[0]["map"])) if len(cell) else img
            cells.append(widgets.Image(value=_png(rgb), format="png", width=256, height=256))
        inner = widgets.Stack(cells, selected_index=0)
        widgets.jslink((method, "index"), (inner, "selected_index"))
        per_image.append(inner)
    outer = widgets.Stack(per_image, selected_index=0)
    widgets.jslink((image, "index"), (outer, "selected_index"))
    originals = widgets.Stack([widgets.Image(value=_png(img), format="png", width=256, height=256) for img in images], selected_index=0)
    widgets.jslink((image, "index"), (originals, "selected_index"))
    return widgets.VBox([widgets.HBox([image, method]), widgets.HBox([originals, outer])])


def live_explorer(model, x, labels, names: Sequence[str], methods: Sequence[str]) -> widgets.Widget:
    """Recompute a method's map for a chosen image and number of steps/samples (Python callback: only
    in a live kernel; the static HTML shows the initial state)."""
    from ..methods import METHODS, attribute

    image = widgets.Dropdown(options=[(name, i) for i, name in enumerate(names)], value=0, description="image")
    method = widgets.Dropdown(options=[m for m in methods if m in METHODS], description="method")
    steps = widgets.IntSlider(value=8, min=1, max=64, description="steps/N")
    picture = widgets.Image(format="png", width=256, height=256)

    def update(*_):
        i = image.value
        info = METHODS[method.value]
        knob = next((k for k in ("steps", "n_samples", "N", "num_steps") if k in info.defaults), None)
        params = {knob: steps.value} if knob else {}
        attr = attribute(model, x[i : i + 1], labels[i : i + 1], method=method.value, **params)[0]
        heat = attr.sum(0).abs()
        heat = (heat / heat.flatten().quantile(0.99).clamp_min(1e-12)).clamp(0, 1).numpy()
        picture.value = _png(overlay(x[i].permute(1, 2, 0).numpy(), heat))

    for w in (image, method, steps):
        w.observe(update, "value")
    update()
    return widgets.VBox([widgets.HBox([image, method, steps]), picture])
