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


def _curve_png(insertion: np.ndarray, deletion: np.ndarray) -> bytes:
    """Insertion and deletion curves of one image as a small PNG."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.2, 2.6), dpi=80)
    frac = np.linspace(0, 1, len(insertion))
    ax.plot(frac, insertion, label=f"insertion {np.trapezoid(insertion, frac):.3f}")
    ax.plot(frac, deletion, label=f"deletion {np.trapezoid(deletion, frac):.3f}")
    ax.set(xlabel="fraction of pixels", ylabel="p(top-1)", ylim=(0, 1))
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def live_explorer(model, x, labels, names: Sequence[str], methods: Sequence[str], insdel_step: int = 3584) -> widgets.Widget:
    """Recompute a map and its insertion/deletion curves when a control changes: image, method, and the
    AttEXplore(++) knobs epsilon, N, num_steps, DP (di_prob), beta and the explorer attack (each passed
    only to methods that take it). Python callbacks: only in a live kernel; the static HTML shows the
    initial state."""
    from ..attacks import ATTACKS
    from ..methods.attexplore import NOATTACK
    from ..methods import METHODS, attribute
    from ..metrics import insertion_deletion

    style = {"description_width": "80px"}
    image = widgets.Dropdown(options=[(name, i) for i, name in enumerate(names)], value=0, description="image", style=style)
    method = widgets.Dropdown(options=[m for m in methods if m in METHODS], description="method", style=style)
    knobs = {
        "attack": widgets.Dropdown(options=["ssa", *[a for a in ATTACKS if a != "ssa"], None], description="explorer", style=style),
        "epsilon": widgets.IntSlider(value=16, min=1, max=64, description="eps x255", continuous_update=False, style=style),
        "N": widgets.IntSlider(value=5, min=1, max=60, description="N", continuous_update=False, style=style),
        "num_steps": widgets.IntSlider(value=5, min=1, max=30, description="num_steps", continuous_update=False, style=style),
        "di_prob": widgets.FloatSlider(value=0.5, min=0, max=1, step=0.1, description="DP", continuous_update=False, style=style),
        "beta": widgets.FloatSlider(value=3.5, min=0, max=8, step=0.5, description="beta (GRA)", continuous_update=False, style=style),
    }
    busy = widgets.IntProgress(value=0, min=0, max=2, description="idle", style=style)
    picture = widgets.Image(format="png", width=256, height=256)
    curves = widgets.Image(format="png", width=256, height=208)

    def update(*_):
        i, accepted = image.value, METHODS[method.value].defaults
        params = {k: w.value for k, w in knobs.items() if k in accepted}
        if method.value == "attexplore":  # only the knobs the chosen explorer has (each keeps its own defaults)
            own = ATTACKS[NOATTACK[0] if params["attack"] is None else params["attack"]].defaults
            params = {k: v for k, v in params.items() if k == "attack" or k in own}
        if "epsilon" in params:
            params["epsilon"] = params["epsilon"] / 255
        busy.description, busy.value = "attributing", 0
        attr = attribute(model, x[i : i + 1], labels[i : i + 1], method=method.value, **params)
        busy.description, busy.value = "ins/del", 1
        res = insertion_deletion(model, x[i : i + 1], attr, step=insdel_step)
        busy.description, busy.value = "done", 2
        heat = attr[0].sum(0).abs()
        heat = (heat / heat.flatten().quantile(0.99).clamp_min(1e-12)).clamp(0, 1).numpy()
        picture.value = _png(overlay(x[i].permute(1, 2, 0).numpy(), heat))
        curves.value = _curve_png(res.insertion_curve[0].numpy(), res.deletion_curve[0].numpy())

    for w in (image, method, *knobs.values()):
        w.observe(update, "value")
    update()
    controls = widgets.VBox([image, method, *knobs.values(), busy])
    return widgets.HBox([controls, widgets.VBox([picture, curves])])
