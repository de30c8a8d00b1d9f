"""Widgets for the explorer chapter: a client-side explorer of AttEXplore's parameter grid (plain HTML and
JavaScript over precomputed maps and curves: works in the static book), a selector over the Figure 4 heatmaps
(jslinked ipywidgets, no Python callback), and a live explorer that recomputes a map when a slider moves
(needs a running kernel)."""
from __future__ import annotations

import base64
import hashlib
import io
import json
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


GRID_TEMPLATE = """
<div id="ID" class="attx-grid" style="font-size: 0.9em">
  <div style="display: flex; flex-wrap: wrap; gap: 0.4em 1.2em; align-items: center; margin-bottom: 0.5em">
    <label>image <input type="range" data-axis="image" min="0" step="1"> <span data-label="image"></span></label>
    <label>explorer <select data-axis="attack"></select></label>
    <label>epsilon <input type="range" data-axis="epsilon" min="0" step="1"> <span data-label="epsilon"></span></label>
    <label>samples (N) <input type="range" data-axis="samples" min="0" step="1"> <span data-label="samples"></span></label>
    <label>num_steps <input type="range" data-axis="num_steps" min="0" step="1"> <span data-label="num_steps"></span></label>
  </div>
  <div style="display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start">
    <canvas data-view="map" width="224" height="224" style="width: 224px; height: 224px"></canvas>
    <svg data-view="curves" width="320" height="224" style="background: #fff"></svg>
  </div>
  <div data-view="status" style="margin-top: 0.3em"></div>
</div>
<script>
(function () {
  const D = DATA;
  const root = document.getElementById("ID");
  const state = {image: 0, attack: 0, epsilon: D.epsilon.length - 1, samples: D.samples.length - 1, num_steps: D.num_steps.length - 1};
  const photos = D.images.map(src => { const im = new Image(); im.src = src; im.onload = draw; return im; });
  const axes = {image: D.names, epsilon: D.epsilon.map(e => e + "/255"), samples: D.samples.map(String), num_steps: D.num_steps.map(String)};
  root.querySelectorAll("input[data-axis]").forEach(el => {
    const axis = el.dataset.axis; el.max = axes[axis].length - 1; el.value = state[axis];
    el.addEventListener("input", () => { state[axis] = +el.value; draw(); });
  });
  const select = root.querySelector("select[data-axis=attack]");
  D.attacks.forEach((a, i) => select.add(new Option(a, i)));
  select.addEventListener("change", () => { state.attack = +select.value; draw(); });
  function key() {
    const attack = D.attacks[state.attack];
    const samples = D.has_samples[attack] ? D.samples[state.samples] : "-";
    return [state.image, attack, D.epsilon[state.epsilon], samples, D.num_steps[state.num_steps]].join("|");
  }
  function drawMap(ctx, map) {
    const n = D.map_size, heat = ctx.createImageData(n, n);
    const bytes = atob(map);
    for (let i = 0; i < n * n; i++) {
      const v = bytes.charCodeAt(i);
      heat.data.set([D.lut[3 * v], D.lut[3 * v + 1], D.lut[3 * v + 2], 255], 4 * i);
    }
    const small = document.createElement("canvas"); small.width = n; small.height = n;
    small.getContext("2d").putImageData(heat, 0, 0);
    ctx.globalAlpha = 0.6; ctx.imageSmoothingEnabled = true; ctx.drawImage(small, 0, 0, 224, 224); ctx.globalAlpha = 1;
  }
  function drawCurves(svg, ins, del) {
    const w = 320, h = 224, l = 36, b = 28, t = 8, r = 8;
    const path = c => c.map((v, i) => `${l + (w - l - r) * i / (c.length - 1)},${h - b - (h - b - t) * v}`).join(" ");
    svg.innerHTML = `<rect x="${l}" y="${t}" width="${w - l - r}" height="${h - b - t}" fill="none" stroke="#999"/>` +
      `<polyline points="${path(ins)}" fill="none" stroke="#1f77b4" stroke-width="2"/>` +
      `<polyline points="${path(del)}" fill="none" stroke="#d62728" stroke-width="2"/>` +
      `<text x="${l}" y="${h - 8}" font-size="11">0</text><text x="${w - r - 40}" y="${h - 8}" font-size="11">all pixels</text>` +
      `<text x="4" y="${t + 10}" font-size="11">p=1</text><text x="4" y="${h - b}" font-size="11">0</text>` +
      `<text x="${l + 6}" y="${t + 14}" font-size="11" fill="#1f77b4">insertion</text>` +
      `<text x="${l + 6}" y="${t + 28}" font-size="11" fill="#d62728">deletion</text>`;
  }
  function draw() {
    for (const axis in axes) root.querySelector(`[data-label=${axis}]`).textContent = axes[axis][state[axis]];
    const attack = D.attacks[state.attack], cell = D.cells[key()];
    const ctx = root.querySelector("canvas").getContext("2d");
    ctx.clearRect(0, 0, 224, 224); ctx.filter = "grayscale(1)"; ctx.drawImage(photos[state.image], 0, 0, 224, 224); ctx.filter = "none";
    const status = root.querySelector("[data-view=status]");
    root.querySelector("input[data-axis=samples]").disabled = !D.has_samples[attack];
    if (!cell) { status.textContent = "not computed for this setting"; return; }
    drawMap(ctx, cell.map);
    drawCurves(root.querySelector("svg"), cell.ins, cell.del);
    status.innerHTML = `<b>${attack}</b>: insertion AUC <b>${cell.auc[0].toFixed(3)}</b>, deletion AUC <b>${cell.auc[1].toFixed(3)}</b>` +
      (D.has_samples[attack] ? "" : ` (${attack} has no sample-count knob: the samples slider does not apply)`);
    root.dataset.shown = key();
  }
  draw();
})();
</script>
"""


def _jpeg_uri(image: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def grid_explorer(grid: pd.DataFrame, images: np.ndarray, names: Sequence[str], samples_knobs: dict[str, str]) -> str:
    """The explorer grid (:func:`attx_core.experiments.runners.explorer_grid`) as one self-contained HTML
    block: sliders and a dropdown switch, in the browser, between precomputed heatmaps (56x56, inferno
    over a grey photo) and their insertion/deletion curves. No kernel and no widget library needed."""
    cells = {}
    for r in grid.itertuples():
        samples = "-" if pd.isna(r.samples) else int(r.samples)
        heat = np.clip(np.asarray(r.map, dtype=float) * 255, 0, 255).astype(np.uint8)
        cells[f"{list(names).index(r.image)}|{r.attack}|{r.epsilon}|{samples}|{r.num_steps}"] = {
            "map": base64.b64encode(heat.tobytes()).decode(), "ins": list(r.insertion_curve), "del": list(r.deletion_curve),
            "auc": [round(r.insertion, 4), round(r.deletion, 4)]}
    attacks = list(dict.fromkeys(grid.attack))
    data = {
        "names": list(names), "images": [_jpeg_uri(im) for im in images], "attacks": attacks,
        "epsilon": sorted({int(e) for e in grid.epsilon}), "samples": sorted({int(v) for v in grid.samples.dropna()}) or [0],
        "num_steps": sorted({int(v) for v in grid.num_steps}), "has_samples": {a: a in samples_knobs for a in attacks},
        "map_size": int(np.asarray(grid.iloc[0]["map"]).shape[0]),
        "lut": (cm.inferno(np.arange(256))[:, :3] * 255).round().astype(int).flatten().tolist(), "cells": cells,
    }
    payload = json.dumps(data, separators=(",", ":"))
    uid = hashlib.sha1(payload.encode()).hexdigest()[:8]  # deterministic: the same grid gives the same page
    return GRID_TEMPLATE.replace("ID", f"attx-grid-{uid}").replace("DATA", payload)
