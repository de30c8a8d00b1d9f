"""The explorer chapter: AttEXplore's parameter grid and the Figure 4 maps as plain HTML and JavaScript over
precomputed maps (works in the static book, without a kernel or the photos), the stored exploration path of one
setting, and a live explorer that recomputes a map when a slider moves (needs a running kernel)."""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image

from ..attacks import path_sign, trajectory
from ..methods.attexplore import KNOBS, explorer_settings
from ..models import evaluated
from ..seeding import ImageRandom
from ..transforms import Spectrum
from .compare import labels, paper_table
from .resolve import NotComputedError
from .runners import MAP_SIZE, Run, any_model

# The setting the paper's Tables 3-5 hold fixed while each varies one knob (AttEXplore's published defaults).
PAPER_BASE = {"epsilon": 16, "samples": 20, "num_steps": 10}
# Grid axis -> the transcribed table that varies it (the grid's "samples" is SSA's N).
PAPER_AXES = {"epsilon": ("table05_epsilon", "Table 5"), "samples": ("table03_n", "Table 3"), "num_steps": ("table04_num_steps", "Table 4")}
KNOB_LABELS = {"N": "N (spectrum copies per step)", "scales": "scales (MIG's integration copies)", "neighbors": "neighbours (GRA's samples)"}
EXPLORER_LABELS = {"ssa": "SSA (AttEXplore)", "mig": "MIG", "gra": "GRA", "pgd": "PGD", "none": "none (NoAttack sign path)"}


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.6) -> np.ndarray:
    """(H,W,3) photo in [0,1] with an inferno heatmap (any size, in [0,1]) blended over its grey copy."""
    import matplotlib.cm as cm

    h, w = image.shape[:2]
    big = np.asarray(Image.fromarray((np.asarray(heat) * 255).astype(np.uint8)).resize((w, h), Image.BILINEAR), dtype=float) / 255
    grey = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    return (1 - alpha) * grey + alpha * cm.inferno(big)[..., :3]


def _bytes(values: Any) -> str:
    """A map in [0, 1] (or a tensor) as base64 of its uint8 pixels, row-major: how the pages and the path records carry maps."""
    a = np.clip(np.asarray(values, dtype=float) * 255, 0, 255).round().astype(np.uint8)
    return base64.b64encode(a.tobytes()).decode()


def _jpeg_uri(image: np.ndarray, size: int | None = None) -> str:
    im = Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8))
    if size:
        im = im.resize((size, size), Image.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _lut(name: str) -> list[int]:
    import matplotlib

    return (matplotlib.colormaps[name](np.arange(256))[:, :3] * 255).round().astype(int).flatten().tolist()


def colorbar(cmap: str, top: str, bottom: str, title: str, height: int = 200) -> str:
    """A vertical colour scale (CSS gradient of ``cmap``) with its end labels: every map on the page has one beside it."""
    lut = np.asarray(_lut(cmap)).reshape(256, 3)
    stops = ", ".join(f"rgb({r},{g},{b}) {100 * i / 255:.0f}%" for i, (r, g, b) in list(enumerate(lut))[::17])
    return (f'<div class="attx-colorbar" title="{html.escape(title)}" style="display:flex;gap:4px;align-items:stretch;font-size:11px">'
            f'<div style="width:12px;height:{height}px;border:1px solid #999;background:linear-gradient(to top, {stops})"></div>'
            f'<div style="display:flex;flex-direction:column;justify-content:space-between;height:{height}px;max-width:90px">'
            f"<span>{html.escape(top)}</span><span style=\"color:#555\">{html.escape(title)}</span><span>{html.escape(bottom)}</span></div></div>")


# --- the exploration path of one setting, stored -------------------------------------------------------------------------


@any_model
def exploration_path(profile: str, models: Sequence[str], images: str, n_images: int | None, seed: int,
                     path: Mapping[str, Any], **run_opts: Any) -> pd.DataFrame:
    """AttEXplore's path at one SSA setting (``path``: attexplore keywords, epsilon in 1/255, ``copies`` spectrum copies
    shown), per image: the perturbation x_t - x_0 and the running attribution after each step (56x56, uint8 base64),
    p(label) at every iterate, and the first spectrum copies of step 1 (JPEG); the last map is the grid's map."""
    setting = {k: v for k, v in path.items() if k != "copies"}
    params = {**setting, "epsilon": setting["epsilon"] / 255}
    run = Run(profile, images, n_images, seed, **run_opts)
    rows = []
    for requested in models:
        def compute(resolved, x, y, p):
            return path_records(resolved.model, x, y, p, int(path["copies"]))

        try:
            records = run.records("explorer", requested, "attexplore", params, {"path": "iterates", "map_size": MAP_SIZE}, compute)
        except NotComputedError as err:
            run.note(str(err))
            continue
        for image, label, rec in records:
            rows.append(dict(model=requested, ours_model=run.models[requested].name, **setting, image=image, label=label, **rec))
    df = pd.DataFrame(rows, columns=["model", "ours_model", *setting, "image", "label", "delta", "map", "prob", "copies"])
    df.attrs.update(run.attrs(models))
    return df


def _pooled(a: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(a[:, None], MAP_SIZE)[:, 0]


def path_records(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, p: Mapping[str, Any], copies: int) -> list[dict[str, Any]]:
    """The records of :func:`exploration_path` for a batch: the path of ``attexplore(**p)``, step by step."""
    explicit = {**{k: p[k] for k in KNOBS if p.get(k) is not None}, **(p.get("attack_params") or {}), "seed": p["seed"]}
    name, full = explorer_settings(p["attack"], p.get("preset"), explicit)
    sign, eps = path_sign(full["direction"]), float(full["epsilon"])
    total, iterates, running = None, [x.detach()], []
    with evaluated(model):
        for seg in trajectory(model, x, y, name, **full):
            term = (seg.end - seg.start) * seg.grad
            total = term if total is None else total + term
            iterates.append(seg.end.detach())
            running.append((sign * total).detach().sum(1).abs())
        with torch.no_grad():
            probs = torch.stack([model(z).softmax(-1).gather(1, y[:, None])[:, 0] for z in iterates], 1).cpu()
    maps = _pooled(torch.stack(running, 1).flatten(0, 1)).view(x.shape[0], len(running), MAP_SIZE, MAP_SIZE).cpu()
    top = torch.quantile(maps[:, -1].flatten(1), 0.99, dim=1).clamp_min(1e-30).view(-1, 1, 1, 1)
    deltas = _pooled(torch.stack([(z - x).mean(1) for z in iterates[1:]], 1).flatten(0, 1)).view_as(maps).cpu() / max(eps, 1e-12)
    spectrum = Spectrum(int(full["N"]), float(full["sigma"]), float(full["rho"]))(x.detach(), ImageRandom(x.detach(), int(full["seed"])))
    spectrum = spectrum.view(-1, *x.shape)[:copies].cpu()
    return [{"delta": [_bytes((d + 1) / 2) for d in deltas[b].clamp(-1, 1)], "map": [_bytes(m) for m in (maps[b] / top[b]).clamp(0, 1)],
             "prob": [round(float(v), 4) for v in probs[b]],
             "copies": [_jpeg_uri(c.permute(1, 2, 0).numpy(), 96) for c in spectrum[:, b]]} for b in range(x.shape[0])]


# --- the paper's trends --------------------------------------------------------------------------------------------------


def paper_trends(model: str) -> dict[str, Any]:
    """The paper's Tables 3-5 for ``model`` (Inception-v3, ResNet-50 or VGG-16) per grid axis: settings and their
    insertion/deletion AUCs, with the fixed setting they share; empty axes where the paper has no such model."""
    axes = {}
    for axis, (name, title) in PAPER_AXES.items():
        t = paper_table(name)
        t = t[t.model == model]
        if t.empty:
            continue
        wide = t.pivot_table(index="setting", columns="metric", values="value").reset_index()
        wide["x"] = wide.setting.astype(float)
        wide = wide.sort_values("x")
        axes[axis] = {"table": title, "x": [float(v) for v in wide.x], "ins": [float(v) for v in wide.insertion],
                      "del": [float(v) for v in wide.deletion], "model": str(t.paper_model.iloc[0])}
    return {"base": PAPER_BASE, "axes": axes}


def _paper_cell(paper: Mapping[str, Any], epsilon: int, samples: Any, num_steps: int) -> list[Any] | None:
    """The paper's (insertion, deletion, table) at one SSA setting, where one of its tables has exactly that setting."""
    setting = {"epsilon": epsilon, "samples": samples, "num_steps": num_steps}
    for axis, series in paper.get("axes", {}).items():
        others = all(setting[k] == v for k, v in paper["base"].items() if k != axis)
        if others and setting[axis] in series["x"]:
            i = series["x"].index(setting[axis])
            return [series["ins"][i], series["del"][i], series["table"]]
    return None


def setting_means(grid: pd.DataFrame) -> pd.DataFrame:
    """Per grid setting the mean insertion and deletion AUC over its stored images, and how many there are."""
    keyed = grid.assign(samples=grid.samples.map(lambda v: "-" if pd.isna(v) else int(v)))
    out = keyed.groupby(["attack", "epsilon", "samples", "num_steps"], sort=False).agg(
        insertion=("insertion", "mean"), deletion=("deletion", "mean"), n=("image", "nunique"))
    return out.reset_index()


def trend_summary(grid: pd.DataFrame, paper: Mapping[str, Any], attack: str = "ssa") -> str:
    """An HTML table: along each axis the paper varies, the mean AUCs of ``attack`` at the axis's ends (other settings at the
    paper's base) beside the paper's; a reader sees whether the two move the same way, without JavaScript."""
    means = setting_means(grid)
    means = means[means.attack == attack]
    rows = []
    for axis, series in paper.get("axes", {}).items():
        base = {k: v for k, v in paper["base"].items() if k != axis}
        sub = means[np.logical_and.reduce([means[k] == v for k, v in base.items()])].sort_values(axis)
        held = ", ".join(f"{k} {v}" for k, v in base.items())
        shared: list[float] = []
        if len(sub) < 2:
            ours = "not stored at two values"
        else:
            a, b = sub.iloc[0], sub.iloc[-1]
            ours = (f"{a.insertion:.3f} &rarr; {b.insertion:.3f} / {a.deletion:.3f} &rarr; {b.deletion:.3f} "
                    f"({axis} {a[axis]} &rarr; {b[axis]}; n = {int(sub.n.min())})")
            shared = [float(v) for v in (a[axis], b[axis]) if float(v) in series["x"]]
        i, j = (series["x"].index(shared[0]), series["x"].index(shared[1])) if len(shared) == 2 else (0, len(series["x"]) - 1)
        theirs = (f"{series['ins'][i]:.4f} &rarr; {series['ins'][j]:.4f} / {series['del'][i]:.4f} &rarr; {series['del'][j]:.4f} "
                  f"({axis} {series['x'][i]:g} &rarr; {series['x'][j]:g})")
        rows.append(f"<tr><td>{axis} ({held})</td><td>{ours}</td><td>{series['table']}: {theirs}</td></tr>")
    model = next(iter(paper.get("axes", {}).values()), {}).get("model", "")
    return ("<table class=\"attx-trends\" style=\"font-size:0.9em\"><thead><tr><th>setting varied (others held)</th>"
            "<th>ours: mean insertion / deletion AUC</th>"
            f"<th>paper ({html.escape(model)}): insertion / deletion</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


# --- the grid explorer ---------------------------------------------------------------------------------------------------

# The opening both pages' scripts share: the payload, a query within the block, the photos, the image slider (``state`` and
# ``draw`` are each page's own and are only read when an event fires).
_IMAGE_SLIDER_JS = """  const D = DATA;
  const root = document.getElementById("ID");
  const q = s => root.querySelector(s);
  const photos = D.images.map(src => { const im = new Image(); im.src = src; im.onload = draw; return im; });
  const slider = q("input[data-axis=image]");
  slider.max = D.names.length - 1; slider.value = 0;
  slider.addEventListener("input", () => { state.image = +slider.value; draw(); });
"""


GRID_TEMPLATE = """
<div id="ID" class="attx-grid" style="font-size:0.9em;max-width:100%">
<style>
#ID .ax-box{border:1px solid #ccc;border-radius:4px;padding:0.3em 0.6em;margin:0.3em 0;
  display:flex;flex-wrap:wrap;gap:0.3em 1.1em;align-items:center}
#ID .ax-row{display:flex;flex-wrap:wrap;gap:0.8em;align-items:flex-start;margin:0.4em 0}
#ID .ax-fig{margin:0;font-size:0.85em;width:200px;line-height:1.3}
#ID .ax-group{display:flex;flex-wrap:nowrap;gap:0.6em;align-items:flex-start}
#ID canvas{image-rendering:auto;border:1px solid #ddd}
#ID table.means{border-collapse:collapse;font-size:0.85em}
#ID table.means td,#ID table.means th{padding:1px 6px;text-align:right;border-bottom:1px solid #eee}
#ID tr.sel-a{background:#e4ecfb} #ID tr.sel-b{background:#fbe7e4}
#ID .ax-strip{display:grid;gap:2px 3px;overflow-x:auto;font-size:0.8em;align-items:center}
#ID .ax-muted{color:#666}
</style>
<div class="ax-box"><label>image <input type="range" data-axis="image" min="0" step="1"> <span data-label="image"></span></label>
  <label class="photo-toggle"><input type="checkbox" data-overlay> maps over the grey photo</label></div>
<div class="ax-box" data-set="a"><b style="color:#1f4e9c">A</b>
  <label>explorer <select data-axis="attack"></select></label>
  <label>epsilon <input type="range" data-axis="epsilon" min="0" step="1"> <span data-label="epsilon"></span></label>
  <label><span data-knob></span> <input type="range" data-axis="samples" min="0" step="1"> <span data-label="samples"></span></label>
  <label>num_steps <input type="range" data-axis="num_steps" min="0" step="1"> <span data-label="num_steps"></span></label></div>
<div class="ax-box" data-set="b"><b style="color:#a3321f">B</b>
  <label>explorer <select data-axis="attack"></select></label>
  <label>epsilon <input type="range" data-axis="epsilon" min="0" step="1"> <span data-label="epsilon"></span></label>
  <label><span data-knob></span> <input type="range" data-axis="samples" min="0" step="1"> <span data-label="samples"></span></label>
  <label>num_steps <input type="range" data-axis="num_steps" min="0" step="1"> <span data-label="num_steps"></span></label></div>
<div class="ax-row">
  <div class="ax-fig" data-view="photo" style="width:120px"><img data-view="photo" width="120" height="120" alt="the photo"><div>the photo</div></div>
  <div class="ax-group">
    <div class="ax-fig"><canvas data-view="a" width="200" height="200" style="width:200px;height:200px"></canvas><div data-caption="a"></div></div>
    <div class="ax-fig"><canvas data-view="b" width="200" height="200" style="width:200px;height:200px"></canvas><div data-caption="b"></div></div>
    SEQBAR</div>
</div>
<div class="ax-row">
  <div class="ax-group">
    <div class="ax-fig"><canvas data-view="diff" width="200" height="200" style="width:200px;height:200px"></canvas>
      <div>B &minus; A, each map scaled to its own 99th percentile: red where B weighs a pixel more, blue where A does</div></div>
    DIVBAR</div>
  <div><svg data-view="curves" width="340" height="200" style="background:#fff"></svg><div data-view="status" style="max-width:340px"></div></div>
</div>
<div style="margin:0.8em 0 0.2em;font-weight:bold;font-size:1.15em">Mean over the images as one setting of A moves</div>
<div class="ax-muted">Dots: single images; line: their mean. The paper's table (right, its model) holds the other settings at
epsilon 16/255, N 20, 10 steps; ours holds them at A's. Our AUCs are display values (15-point curves) on the stand-in model,
so compare directions, not levels.</div>
<div data-view="trends"></div>
<details open><summary><b>Every setting of explorer A: mean over its images</b></summary><div data-view="table"></div></details>
<div data-view="path"></div>
</div>
<script>
(function () {
""" + _IMAGE_SLIDER_JS + """  const at = (arr, v) => Math.max(0, arr.indexOf(v));
  const pick = d => ({attack: at(D.attacks, d.attack), epsilon: at(D.epsilon, d.epsilon),
                      samples: at(D.samples, d.samples), num_steps: at(D.num_steps, d.num_steps)});
  const state = {image: 0, overlay: false, a: pick(D.defaults.a), b: pick(D.defaults.b)};
  const toggle = q("input[data-overlay]");
  if (!photos.length) { q(".photo-toggle").style.display = "none"; q(".ax-fig[data-view=photo]").style.display = "none"; }
  toggle.addEventListener("change", () => { state.overlay = toggle.checked; draw(); });
  for (const set of ["a", "b"]) {
    const box = q(`[data-set=${set}]`), select = box.querySelector("select");
    D.attacks.forEach((a, i) => select.add(new Option(D.attack_labels[a], i)));
    select.value = state[set].attack;
    select.addEventListener("change", () => { state[set].attack = +select.value; draw(); });
    box.querySelectorAll("input[data-axis]").forEach(el => {
      const axis = el.dataset.axis; el.max = D[axis].length - 1; el.value = state[set][axis];
      el.addEventListener("input", () => { state[set][axis] = +el.value; draw(); });
    });
  }
  function setting(set) {
    const s = state[set], attack = D.attacks[s.attack];
    return {attack, epsilon: D.epsilon[s.epsilon], samples: D.knobs[attack] ? D.samples[s.samples] : "-",
            num_steps: D.num_steps[s.num_steps]};
  }
  const skey = s => [s.attack, s.epsilon, s.samples, s.num_steps].join("|");
  const label = a => D.attack_labels[a];
  const describe = s => `${label(s.attack)}, &epsilon; ${s.epsilon}/255` +
    (D.knobs[s.attack] ? `, ${D.knobs[s.attack].name} ${s.samples}` : "") + `, ${s.num_steps} steps`;
  function small(b64, lut) {
    const n = D.map_size, bytes = atob(b64), img = new ImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      const v = bytes.charCodeAt(i); img.data.set([lut[3 * v], lut[3 * v + 1], lut[3 * v + 2], 255], 4 * i);
    }
    const c = document.createElement("canvas"); c.width = n; c.height = n; c.getContext("2d").putImageData(img, 0, 0); return c;
  }
  function paint(canvas, heat, photo) {
    const ctx = canvas.getContext("2d"), w = canvas.width;
    ctx.clearRect(0, 0, w, w); ctx.imageSmoothingEnabled = true;
    if (!heat) {
      ctx.fillStyle = "#eee"; ctx.fillRect(0, 0, w, w);
      ctx.fillStyle = "#555"; ctx.font = "13px sans-serif"; ctx.fillText("not computed", 10, w / 2); return;
    }
    if (photo) { ctx.filter = "grayscale(1)"; ctx.drawImage(photo, 0, 0, w, w); ctx.filter = "none"; ctx.globalAlpha = 0.6; }
    ctx.drawImage(heat, 0, 0, w, w); ctx.globalAlpha = 1;
  }
  function difference(a, b) {
    const x = atob(a), y = atob(b); let s = "";
    for (let i = 0; i < x.length; i++) s += String.fromCharCode(Math.round((y.charCodeAt(i) - x.charCodeAt(i) + 255) / 2));
    return btoa(s);
  }
  const fmt = (v, d) => v == null ? "&ndash;" : v.toFixed(d);
  const text = (x, y, s, more) => `<text x="${x}" y="${y}" font-size="11" ${more || ""}>${s}</text>`;
  function curves(svg, a, b) {
    const w = 340, h = 200, l = 34, bo = 26, t = 8, r = 8;
    const path = c => c.map((v, i) => `${l + (w - l - r) * i / (c.length - 1)},${h - bo - (h - bo - t) * v}`).join(" ");
    let s = `<rect x="${l}" y="${t}" width="${w - l - r}" height="${h - bo - t}" fill="none" stroke="#999"/>` +
      text(l, h - 8, "0") + text(w - r - 90, h - 8, "pixels moved: all") + text(2, t + 10, "p=1") + text(2, h - bo, "0");
    for (const [cell, dash] of [[a, ""], [b, "5,3"]]) {
      if (!cell) continue;
      for (const [c, color] of [[cell.ins, "#1f77b4"], [cell.del, "#d62728"]])
        s += `<polyline points="${path(c)}" fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}"/>`;
    }
    const lx = w - r - 104, ly = h - bo - 48;  // lower right: between the deletion curve's floor and insertion's plateau
    s += text(lx, ly, "insertion", 'fill="#1f77b4"') + text(lx, ly + 14, "deletion", 'fill="#d62728"') + text(lx, ly + 28, "A solid, B dashed");
    svg.innerHTML = s;
  }
  function panel(ox, w, h, title, xs, lines) {
    const L = ox + 40, R = ox + w - 8, T = 16, B = h - 20;
    let s = text(L, 11, title);
    const vals = lines.flatMap(l => l.ys).filter(v => v != null);
    if (!vals.length) return s + text(L, h / 2, "not stored", 'fill="#777"');
    const lo = Math.min(...vals), hi = Math.max(...vals), pad = (hi - lo) * 0.12 || 0.005;
    const xlo = Math.min(...xs), xhi = Math.max(...xs);
    const X = v => xhi === xlo ? (L + R) / 2 : L + (R - L) * (v - xlo) / (xhi - xlo);
    const Y = v => B - (B - T) * (v - lo + pad) / (hi - lo + 2 * pad);
    s += `<rect x="${L}" y="${T}" width="${R - L}" height="${B - T}" fill="none" stroke="#ccc"/>` +
      text(L - 3, Y(hi) + 4, hi.toFixed(3), 'text-anchor="end" font-size="10"') +
      text(L - 3, Y(lo) + 4, lo.toFixed(3), 'text-anchor="end" font-size="10"');
    xs.forEach(x => { s += text(X(x), h - 6, x, 'text-anchor="middle"'); });
    for (const l of lines) {
      const pts = xs.map((x, i) => l.ys[i] == null ? null : [X(x), Y(l.ys[i])]).filter(p => p);
      if (l.line && pts.length > 1)
        s += `<polyline points="${pts.map(p => p.join(",")).join(" ")}" fill="none" stroke="${l.color}" stroke-width="2"/>`;
      pts.forEach(p => { s += `<circle cx="${p[0]}" cy="${p[1]}" r="${l.r}" fill="${l.color}" fill-opacity="${l.opacity}"/>`; });
    }
    return s;
  }
  const pair = (left, right) => `<svg width="340" height="130">${left}${right}</svg>`;
  function trendRow(axis, base) {
    const xs = D[axis], means = xs.map(v => D.means[skey({...base, [axis]: v})]);
    const colour = metric => metric === "ins" ? "#1f77b4" : "#d62728";
    const ours = metric => [
      ...D.names.map((_, i) => ({ys: means.map(m => m ? m[metric + "_each"][i] : null), color: colour(metric), r: 2.5, opacity: 0.35})),
      {ys: means.map(m => m ? m[metric] : null), color: colour(metric), r: 3.5, opacity: 1, line: true}];
    const knob = D.knobs[base.attack], name = axis === "samples" ? (knob ? knob.name : "samples") : axis;
    let html = `<div style="margin-top:0.5em"><b>${name}</b>${axis === "epsilon" ? " (/255)" : ""}</div>` +
      `<div class="ax-row" style="align-items:center;margin-top:0">`;
    if (axis === "samples" && !knob)
      return html + `<div class="ax-muted">${label(base.attack)} has no sample-count knob: one gradient per step.</div></div>`;
    html += pair(panel(0, 170, 130, "ours: insertion", xs, ours("ins")), panel(170, 170, 130, "deletion", xs, ours("del")));
    const p = D.paper.axes[axis];
    if (base.attack !== "ssa" || !p) {
      html += `<div class="ax-muted" style="max-width:300px">The paper's Tables 3-5 vary AttEXplore (SSA) only: ` +
        `no table for ${label(base.attack)}` + (axis === "samples" ? `'s ${name}` : "") + ".</div>";
    } else {
      const line = ys => [{ys, color: "#777", r: 3, opacity: 1, line: true}];
      html += pair(panel(0, 170, 130, `paper ${p.table}: insertion`, p.x, line(p.ins)),
                   panel(170, 170, 130, `${p.model}: deletion`, p.x, line(p.del)));
    }
    return html + "</div>";
  }
  function table(a, b) {
    const attack = a.attack, rows = [], cell = (m, v) => `<td>${m ? fmt(v, 3) : "&ndash;"}</td>`;
    for (const e of D.epsilon) for (const s of (D.knobs[attack] ? D.samples : ["-"])) for (const n of D.num_steps) {
      const k = skey({attack, epsilon: e, samples: s, num_steps: n}), m = D.means[k], p = D.paper.cells[k];
      const cls = k === skey(a) ? "sel-a" : k === skey(b) ? "sel-b" : "";
      rows.push(`<tr class="${cls}"><td>${e}/255</td><td>${s}</td><td>${n}</td>` + cell(m, m && m.ins) + cell(m, m && m.del) +
        `<td>${m ? m.n : 0}</td><td>${p ? p[0].toFixed(4) : ""}</td><td>${p ? p[1].toFixed(4) : ""}</td><td>${p ? p[2] : ""}</td></tr>`);
    }
    const knob = D.knobs[attack] ? D.knobs[attack].name : "samples";
    return `<table class="means"><thead><tr><th>epsilon</th><th>${knob}</th><th>num_steps</th><th>insertion</th>` +
      `<th>deletion</th><th>n</th><th>paper ins.</th><th>paper del.</th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table>` +
      `<div class="ax-muted">Blue row: setting A; red row: setting B. Paper columns: ${D.paper_model}, ` +
      `where one of its tables has exactly this setting.</div>`;
  }
  function strip() {
    const P = D.path, frames = P && P.frames[state.image];
    if (!P) return "";
    let s = `<div style="margin:0.8em 0 0.2em;font-weight:bold;font-size:1.15em">The path behind one map: ${describe(P.setting)}, ` +
      `${D.names[state.image]}</div>`;
    if (!frames) return s + `<div class="ax-muted">Not stored for this image.</div>`;
    const T = frames.map.length, x = t => `x<sub>${t}</sub>`;
    const cells = (list, kind) => list.map((_, t) =>
      `<canvas data-strip="${kind}" data-t="${t}" width="56" height="56" style="width:60px;height:60px"></canvas>`).join("");
    s += `<div class="ax-muted">Each step moves the image along the explorer's gradient (top row: ${x("t")} &minus; ${x(0)}, ` +
      `mean over the colour channels, in units of epsilon). The map is the running sum of (${x("t+1")} &minus; ${x("t")}) ` +
      `&times; gradient (middle row, scaled to the final map's 99th percentile: the last frame is the grid's map). ` +
      `Bottom: the model's probability of the label at ${x("t")}; AttEXplore's published path descends its loss, so it rises.</div>`;
    s += `<div class="ax-row"><div class="ax-strip" style="grid-template-columns:92px repeat(${T}, 60px)"><div>step</div>` +
      frames.map.map((_, t) => `<div style="text-align:center">${t + 1}</div>`).join("") +
      `<div>${x("t")} &minus; ${x(0)}</div>` + cells(frames.delta, "delta") + `<div>running map</div>` + cells(frames.map, "map") +
      `<div>p(label): ${frames.prob[0].toFixed(2)} at ${x(0)}</div>` +
      frames.prob.slice(1).map(v => `<div style="text-align:center">${v.toFixed(2)}</div>`).join("") +
      `</div><div style="display:flex;gap:8px">${D.bars.delta}${D.bars.seq_small}</div></div>`;
    s += `<div style="margin-top:0.3em">What the model sees at step 1: ${frames.copies.length} of the ${P.setting.samples} ` +
      `spectrum copies (x + noise, each frequency rescaled at random; DI then resizes and pads each copy)</div><div class="ax-row">` +
      frames.copies.map(src => `<img width="80" height="80" alt="spectrum copy" src=${JSON.stringify(src)}>`).join("") + "</div>";
    return s;
  }
  function draw() {
    const A = setting("a"), B = setting("b"), i = state.image;
    q("[data-label=image]").textContent = D.names[i];
    for (const set of ["a", "b"]) {
      const box = q(`[data-set=${set}]`), s = state[set], st = set === "a" ? A : B, knob = D.knobs[st.attack];
      box.querySelector("[data-label=epsilon]").textContent = D.epsilon[s.epsilon] + "/255";
      box.querySelector("[data-label=num_steps]").textContent = D.num_steps[s.num_steps];
      box.querySelector("input[data-axis=samples]").disabled = !knob;
      box.querySelector("[data-knob]").textContent = knob ? knob.label : "samples";
      box.querySelector("[data-label=samples]").innerHTML = knob ? D.samples[s.samples] :
        `<span class="ax-muted">(${label(st.attack)} has none)</span>`;
    }
    const ca = D.cells[i + "|" + skey(A)], cb = D.cells[i + "|" + skey(B)];
    const photo = photos.length && state.overlay ? photos[i] : null;
    paint(q("canvas[data-view=a]"), ca && small(ca.map, D.luts.seq), photo);
    paint(q("canvas[data-view=b]"), cb && small(cb.map, D.luts.seq), photo);
    paint(q("canvas[data-view=diff]"), ca && cb && small(difference(ca.map, cb.map), D.luts.div), null);
    if (photos.length) q("img[data-view=photo]").src = D.images[i];
    for (const [set, st, cell] of [["a", A, ca], ["b", B, cb]]) {
      const m = D.means[skey(st)];
      q(`[data-caption=${set}]`).innerHTML = `<b>${set.toUpperCase()}</b>: ${describe(st)}<br>` +
        `this image: ins ${cell ? fmt(cell.auc[0], 3) : "&ndash;"}, del ${cell ? fmt(cell.auc[1], 3) : "&ndash;"}<br>` +
        `mean of ${m ? m.n : 0} images: ins ${m ? fmt(m.ins, 3) : "&ndash;"}, del ${m ? fmt(m.del, 3) : "&ndash;"}`;
    }
    curves(q("svg[data-view=curves]"), ca, cb);
    q("[data-view=status]").innerHTML = "A good map makes insertion (blue) rise early and deletion (red) fall early. " +
      [["A", A], ["B", B]].map(([n, st]) => D.knobs[st.attack] ? "" :
        `${n}: ${label(st.attack)} has no sample-count knob (one gradient per step), so its samples slider is off. `).join("");
    q("[data-view=trends]").innerHTML = ["epsilon", "samples", "num_steps"].map(axis => trendRow(axis, A)).join("");
    q("[data-view=table]").innerHTML = table(A, B);
    q("[data-view=path]").innerHTML = strip();
    const frames = D.path && D.path.frames[i];
    if (frames) root.querySelectorAll("canvas[data-strip]").forEach(c => {
      const t = +c.dataset.t, delta = c.dataset.strip === "delta";
      paint(c, small(delta ? frames.delta[t] : frames.map[t], delta ? D.luts.div : D.luts.seq), null);
    });
    root.dataset.shown = i + "|" + skey(A);
  }
  draw();
})();
</script>
"""


def _uid(payload: str) -> str:
    return hashlib.sha1(payload.encode()).hexdigest()[:8]  # deterministic: the same data gives the same page


def grid_explorer(grid: pd.DataFrame, images: np.ndarray | None, names: Sequence[str], samples_knobs: Mapping[str, str],
                  paper: Mapping[str, Any] | None = None, path: pd.DataFrame | None = None,
                  defaults: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The explorer grid (:func:`~attx_core.experiments.runners.explorer_grid`) as one self-contained HTML block: two
    settings A and B side by side with their difference map, curves, the mean over images of every setting with the
    paper's trend beside it (:func:`paper_trends`), the stored path (:func:`exploration_path`) as a strip, and a colour
    scale on every map. ``images`` (N,H,W,3) may be None: the maps are drawn alone. No kernel and no widget library."""
    names = list(names)
    cells = {}
    for r in grid.itertuples():
        samples = "-" if pd.isna(r.samples) else int(r.samples)
        cells[f"{names.index(r.image)}|{r.attack}|{r.epsilon}|{samples}|{r.num_steps}"] = {
            "map": _bytes(r.map), "ins": list(r.insertion_curve), "del": list(r.deletion_curve), "auc": [round(r.insertion, 4), round(r.deletion, 4)]}
    paper = dict(paper or {"base": PAPER_BASE, "axes": {}})
    means, paper_cells = {}, {}
    for m in setting_means(grid).itertuples():
        key = f"{m.attack}|{m.epsilon}|{m.samples}|{m.num_steps}"
        rows = grid[(grid.attack == m.attack) & (grid.epsilon == m.epsilon) & (grid.num_steps == m.num_steps)
                    & ((grid.samples == m.samples) if m.samples != "-" else grid.samples.isna())].set_index("image")
        means[key] = {"ins": round(m.insertion, 4), "del": round(m.deletion, 4), "n": int(m.n),
                      "ins_each": [round(float(rows.insertion[n]), 4) if n in rows.index else None for n in names],
                      "del_each": [round(float(rows.deletion[n]), 4) if n in rows.index else None for n in names]}
        cell = _paper_cell(paper, m.epsilon, m.samples, m.num_steps) if m.attack == "ssa" else None
        if cell:
            paper_cells[key] = cell
    attacks = list(dict.fromkeys(grid.attack))
    samples = sorted({int(v) for v in grid.samples.dropna()}) or [0]
    base = {"attack": "ssa" if "ssa" in attacks else attacks[0], **PAPER_BASE}
    defaults = defaults or {"a": base, "b": {**base, "epsilon": max(int(e) for e in grid.epsilon)}}
    strip = None
    if path is not None and len(path):
        first = path.iloc[0]
        setting = {"attack": first.attack, "epsilon": int(first.epsilon), "samples": int(first.N), "num_steps": int(first.num_steps)}
        strip = {"setting": setting, "frames": {names.index(r.image): {"delta": r.delta, "map": r.map, "prob": r.prob, "copies": r.copies}
                                                for r in path.itertuples() if r.image in names}}
    data = {
        "names": names, "images": [] if images is None else [_jpeg_uri(im) for im in images], "attacks": attacks,
        "attack_labels": {a: EXPLORER_LABELS.get(a, a) for a in attacks},
        "epsilon": sorted({int(e) for e in grid.epsilon}), "samples": samples, "num_steps": sorted({int(v) for v in grid.num_steps}),
        "knobs": {a: {"name": samples_knobs[a], "label": KNOB_LABELS.get(samples_knobs[a], samples_knobs[a])} for a in attacks if a in samples_knobs},
        "map_size": int(np.asarray(grid.iloc[0]["map"]).shape[0]), "luts": {"seq": _lut("inferno"), "div": _lut("RdBu_r")},
        "cells": cells, "means": means, "paper": {**paper, "cells": paper_cells},
        "paper_model": next(iter(paper["axes"].values()), {}).get("model", "the paper"), "defaults": defaults, "path": strip,
        "bars": {"delta": colorbar("RdBu_r", "+epsilon", "-epsilon", "x_t - x_0", 120),
                 "seq_small": colorbar("inferno", "1", "0", "running map", 120)},
    }
    payload = json.dumps(data, separators=(",", ":"))
    bars = {"SEQBAR": colorbar("inferno", "1 = the map's 99th percentile", "0", "attribution |A|"),
            "DIVBAR": colorbar("RdBu_r", "+1: B more", "-1: A more", "B - A")}
    page = GRID_TEMPLATE
    for name, bar in bars.items():
        page = page.replace(name, bar)
    return page.replace("ID", f"attx-grid-{_uid(payload)}").replace("DATA", payload)


# --- the Figure 4 maps ---------------------------------------------------------------------------------------------------

MAPS_TEMPLATE = """
<div id="ID" class="attx-maps" style="font-size:0.9em">
<div style="display:flex;flex-wrap:wrap;gap:0.4em 1.2em;align-items:center;margin-bottom:0.5em">
  <label>image <input type="range" data-axis="image" min="0" step="1"> <span data-label="image"></span></label>
  <label class="photo-toggle"><input type="checkbox" data-overlay> maps over the grey photo</label></div>
<div style="display:flex;flex-wrap:wrap;gap:0.8em;align-items:flex-start">
  <div data-view="photo" style="font-size:0.85em">
    <canvas data-view="photo" width="160" height="160" style="width:160px;height:160px"></canvas><div>the photo</div></div>
  <div data-view="maps" style="display:flex;flex-wrap:wrap;gap:6px;max-width:440px"></div>
  BAR
</div>
</div>
<script>
(function () {
""" + _IMAGE_SLIDER_JS + """  const state = {image: 0, overlay: false};
  if (!photos.length) { q(".photo-toggle").style.display = "none"; q("div[data-view=photo]").style.display = "none"; }
  q("input[data-overlay]").addEventListener("change", e => { state.overlay = e.target.checked; draw(); });
  q("[data-view=maps]").innerHTML = D.methods.map((m, k) => `<div style="font-size:0.8em;width:104px">` +
    `<canvas data-method="${k}" width="104" height="104" style="width:104px;height:104px;border:1px solid #ddd"></canvas>` +
    `<div>${D.labels[m]}</div></div>`).join("");
  function small(b64) {
    const n = D.map_size, bytes = atob(b64), img = new ImageData(n, n);
    for (let i = 0; i < n * n; i++) { const v = bytes.charCodeAt(i); img.data.set([D.lut[3 * v], D.lut[3 * v + 1], D.lut[3 * v + 2], 255], 4 * i); }
    const c = document.createElement("canvas"); c.width = n; c.height = n; c.getContext("2d").putImageData(img, 0, 0); return c;
  }
  function draw() {
    const i = state.image, photo = photos.length ? photos[i] : null;
    q("[data-label=image]").textContent = D.names[i];
    if (photo) { const c = q("canvas[data-view=photo]").getContext("2d"); c.drawImage(photo, 0, 0, 160, 160); }
    root.querySelectorAll("canvas[data-method]").forEach(canvas => {
      const ctx = canvas.getContext("2d"), map = D.cells[i + "|" + D.methods[+canvas.dataset.method]];
      const w = canvas.width, empty = !map || !atob(map).split("").some(c => c.charCodeAt(0) > 0);
      ctx.clearRect(0, 0, w, w);
      if (empty) {  // a map that is all zero says so instead of drawing a black square
        ctx.fillStyle = "#eee"; ctx.fillRect(0, 0, w, w); ctx.fillStyle = "#555"; ctx.fillText(map ? "map all zero" : "not stored", 8, w / 2); return;
      }
      if (photo && state.overlay) { ctx.filter = "grayscale(1)"; ctx.drawImage(photo, 0, 0, w, w); ctx.filter = "none"; ctx.globalAlpha = 0.6; }
      ctx.imageSmoothingEnabled = true; ctx.drawImage(small(map), 0, 0, w, w); ctx.globalAlpha = 1;
    });
    root.dataset.shown = String(i);
  }
  draw();
})();
</script>
"""


def static_explorer(maps: pd.DataFrame, images: np.ndarray | None, names: Sequence[str]) -> str:
    """Every method's stored 56x56 map of one image at a time (a slider picks the image), with a colour scale and the
    photo beside them where ``images`` (N,H,W,3) is given; plain HTML and JavaScript, drawn from the store alone."""
    names = [n for n in names if n in set(maps.image)]
    methods = list(dict.fromkeys(maps.method))
    paper = labels("table01_insdel")
    data = {"names": names, "images": [] if images is None else [_jpeg_uri(im) for im in images], "methods": methods,
            "labels": {m: paper.get(m, m).replace(" (ours)", "") for m in methods},
            "map_size": int(np.asarray(maps.iloc[0]["map"]).shape[0]), "lut": _lut("inferno"),
            "cells": {f"{names.index(r.image)}|{r.method}": _bytes(r.map) for r in maps.itertuples() if r.image in names}}
    payload = json.dumps(data, separators=(",", ":"))
    bar = colorbar("inferno", "1 = the map's 99th percentile", "0", "attribution |A|", 230)
    return MAPS_TEMPLATE.replace("BAR", bar).replace("ID", f"attx-maps-{_uid(payload)}").replace("DATA", payload)


# --- live (needs a kernel) -----------------------------------------------------------------------------------------------


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


def live_explorer(model, x, labels, names: Sequence[str], methods: Sequence[str], insdel_step: int = 3584):
    """Recompute a map and its insertion/deletion curves when a control changes: image, method, and the
    AttEXplore(++) knobs epsilon, samples (the explorer's own: SSA's N, MIG's scales, GRA's neighbours), num_steps,
    DP (di_prob), beta and the explorer attack (each passed only where it exists). Python callbacks: only in a live
    kernel; the static HTML shows the initial state."""
    import ipywidgets as widgets

    from ..attacks import ATTACKS
    from ..methods import METHODS, attribute
    from ..methods.attexplore import NOATTACK
    from ..metrics import insertion_deletion
    from .runners import SAMPLE_KNOBS

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
            knob = SAMPLE_KNOBS.get(params["attack"] or "none")  # the samples slider drives the explorer's own count, or none
            knobs["N"].description, knobs["N"].disabled = knob or "no samples", knob is None
            if knob and knob not in accepted:
                params["attack_params"] = {knob: knobs["N"].value}
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
