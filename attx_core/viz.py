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


def save_overlay(image: Tensor, attribution: Tensor, path: str | os.PathLike, title: str = "", alpha: float = 0.55) -> None:
    """Write a PNG: the image, and the heatmap over a dimmed copy of it, side by side."""
    img = image.detach().float().cpu().permute(1, 2, 0).clamp(0, 1).numpy()
    heat = heatmap(attribution)
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.7), dpi=110)
    axes[0].imshow(img)
    axes[0].set_title("input", fontsize=9)
    axes[1].imshow(img * (1 - alpha) + alpha * 0.0)
    axes[1].imshow(heat, cmap="inferno", alpha=alpha, vmin=0, vmax=1)
    axes[1].set_title("attribution |sum_c A|", fontsize=9)
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
