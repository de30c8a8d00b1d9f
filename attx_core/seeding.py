"""Per-image random streams, so that an image's map never depends on the batch it shares.

Image i draws from its own ``torch.Generator``, seeded by the run seed and a hash of the image's
content (its float32 bytes). The same photo therefore gets the same noise alone, in any batch, at any
chunk size; two identical images get identical draws. Draws are returned image-major ``(B, *shape)``.
The generators live on the CPU and draws move to the images' device, so a GPU run draws the same noise as
a CPU run (the maps then differ by float noise only).
"""
from __future__ import annotations

import hashlib

import torch
from torch import Tensor


def image_seed(image: Tensor, seed: int) -> int:
    """A 63-bit seed from the run ``seed`` and the content of one image (C, H, W)."""
    data = image.detach().to(device="cpu", dtype=torch.float32).contiguous().numpy().tobytes()
    digest = hashlib.sha256(int(seed).to_bytes(8, "little", signed=True) + data).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


class ImageRandom:
    """One CPU generator per image of ``x``, seeded by :func:`image_seed`; draws land on x's device.

    ``rand``/``randn``/``randint`` return ``(B, *shape)``: row i comes from image i's generator, so a
    row is the same whatever the other images are.
    """

    def __init__(self, x: Tensor, seed: int) -> None:
        self.device, self.dtype = x.device, x.dtype if x.is_floating_point() else torch.float32
        self.gens = [torch.Generator().manual_seed(image_seed(img, seed)) for img in x]

    def __len__(self) -> int:
        return len(self.gens)

    def rand(self, *shape: int) -> Tensor:
        """Uniform [0, 1) draws, (B, *shape)."""
        return torch.stack([torch.rand(shape, generator=g, dtype=self.dtype) for g in self.gens]).to(self.device)

    def randn(self, *shape: int) -> Tensor:
        """Standard normal draws, (B, *shape)."""
        return torch.stack([torch.randn(shape, generator=g, dtype=self.dtype) for g in self.gens]).to(self.device)

    def randint(self, low: int, high: int, *shape: int) -> Tensor:
        """Integer draws in [low, high), (B, *shape)."""
        return torch.stack([torch.randint(low, high, shape, generator=g) for g in self.gens]).to(self.device)
