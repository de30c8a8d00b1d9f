"""Input checks shared by every public entry point: one clear ValueError per problem."""
from __future__ import annotations

import torch
from torch import Tensor


def check_images(x: Tensor, name: str = "x") -> None:
    """Require a float tensor of RGB images in [0, 1], shape (B, 3, H, W), with no NaN/inf."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of images (B, 3, H, W), got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(
            f"{name} must be a float tensor in [0, 1], got dtype {x.dtype}; "
            "convert uint8 images with x.float() / 255"
        )
    if x.dim() != 4:
        raise ValueError(f"{name} must have rank 4 (B, 3, H, W), got shape {tuple(x.shape)}")
    if x.shape[1] != 3:
        hint = " (grayscale: repeat the channel, x.expand(-1, 3, -1, -1))" if x.shape[1] == 1 else ""
        raise ValueError(f"{name} must have 3 colour channels in dim 1, got shape {tuple(x.shape)}{hint}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (normalisation happens inside the model wrapper), "
            f"got values in [{lo:.3g}, {hi:.3g}]"
        )


def check_target(target: Tensor | int | list[int], batch: int, num_classes: int | None = None) -> Tensor:
    """Return target as a LongTensor of shape (batch,), raising a clear error on a mismatch."""
    if isinstance(target, int):
        target = torch.full((batch,), target, dtype=torch.long)
    elif not isinstance(target, Tensor):
        target = torch.as_tensor(target, dtype=torch.long)
    if target.is_floating_point():
        raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
    target = target.long().reshape(-1)
    if target.numel() != batch:
        raise ValueError(f"target has {target.numel()} entries but the batch has {batch} images")
    if num_classes is not None and ((target < 0) | (target >= num_classes)).any():
        raise ValueError(f"target class indices must lie in 0..{num_classes - 1}, got {target.tolist()}")
    return target


def check_attribution(attr: Tensor, x: Tensor, name: str = "attributions") -> None:
    """Require an attribution map of x's shape without NaN/inf."""
    if not isinstance(attr, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(attr).__name__}")
    if attr.shape != x.shape:
        raise ValueError(f"{name} shape {tuple(attr.shape)} differs from the images' shape {tuple(x.shape)}")
    if not torch.isfinite(attr).all():
        raise ValueError(f"{name} contains NaN or inf values")


def require(condition: bool, message: str) -> None:
    """Raise ValueError(message) unless condition holds (parameter range checks)."""
    if not condition:
        raise ValueError(message)
