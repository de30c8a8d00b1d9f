"""Heatmaps for attribution maps: channel-summed magnitude, percentile-clipped, over the image."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch import Tensor  # noqa: E402


def heatmap(attribution: Tensor, percentile: float = 99.0) -> np.ndarray:
    """(3,H,W) or (H,W) map -> (H,W) array in [0,1]: |sum over channels|, clipped at a percentile."""
    a = attribution.detach().float().cpu()
    a = a.sum(0) if a.dim() == 3 else a
    a = a.abs().numpy()
    top = np.percentile(a, percentile)
    return np.clip(a / top, 0.0, 1.0) if top > 0 else np.zeros_like(a)


SAVE_FORMATS = (".png", ".pdf", ".svg", ".jpg", ".jpeg")


def save_overlay(image: Tensor, attribution: Tensor, path: str | os.PathLike, title: str = "", alpha: float = 0.55,
                 percentile: float = 99.0) -> None:
    """Write an image file (PNG, PDF, SVG or JPEG by the suffix): the image, and the heatmap over a dimmed
    copy of it, side by side, with a colour bar (|sum over channels| relative to its ``percentile``-th percentile)."""
    img = image.detach().float().cpu().permute(1, 2, 0).clamp(0, 1).numpy()
    heat = heatmap(attribution, percentile)
    fig, axes = plt.subplots(1, 2, figsize=(7.6, 3.7), dpi=110, gridspec_kw={"width_ratios": [1, 1.08]})
    axes[0].imshow(img)
    axes[0].set_title("input", fontsize=9)
    axes[1].imshow(img * (1 - alpha) + alpha * 0.0)
    shown = axes[1].imshow(heat, cmap="inferno", alpha=alpha, vmin=0, vmax=1)
    axes[1].set_title("attribution |sum_c A|", fontsize=9)
    for ax in axes:
        ax.axis("off")
    bar = fig.colorbar(shown, ax=axes[1], fraction=0.046, pad=0.03)
    bar.solids.set_alpha(1.0)
    bar.set_label(f"|A| / its {percentile:g}th percentile (clipped)", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
