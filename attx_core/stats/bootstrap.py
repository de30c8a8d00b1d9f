"""Summary statistics over images for metric tables."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ..validate import require


def mean_ci(values: Tensor | np.ndarray | list[float], n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """Mean over images and its percentile-bootstrap (1 - alpha) confidence interval: ``(mean, lo, hi)``."""
    v = torch.as_tensor(np.array(values, dtype=np.float64)).flatten()  # a copy: read-only arrays welcome
    require(v.numel() >= 1, "mean_ci needs at least one value")
    require(bool(torch.isfinite(v).all()), "mean_ci values contain NaN or inf")
    require(isinstance(n_boot, int) and n_boot >= 1, f"n_boot must be an integer >= 1, got {n_boot!r}")
    require(0.0 < alpha < 1.0, f"alpha must lie in (0, 1), got {alpha!r}")
    generator = torch.Generator().manual_seed(seed)
    resampled = v[torch.randint(v.numel(), (n_boot, v.numel()), generator=generator)].mean(dim=1)
    lo, hi = torch.quantile(resampled, torch.tensor([alpha / 2, 1 - alpha / 2], dtype=torch.float64))
    return float(v.mean()), float(lo), float(hi)
