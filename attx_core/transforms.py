"""Input transformations of transferable attacks, and the TI gradient smoothing (zennit-style parts).

A *copy transform* maps a batch (B, C, H, W) to K stacked copies (K*B, C, H, W), copy-major. With
``leaf = True`` the gradient is taken w.r.t. its output (SSA's spectrum copies, MIG's scaled copies,
GRA's neighbours); with ``leaf = False`` it is back-propagated through it (SI's x / 2^i).
:class:`Diversity` (DI) is applied last, per copy, and may change the spatial size.
All randomness comes from the :class:`~attx_core.seeding.ImageRandom` passed in: image i's draws
come from its own stream, so a transform of an image does not depend on the rest of the batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from .seeding import ImageRandom


@lru_cache(maxsize=16)
def dct_matrix(n: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """The orthonormal n x n DCT-II matrix D (D @ v is the DCT of v, D.T @ c the inverse); cached."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    d[0] /= math.sqrt(2.0)
    return d.to(device=device, dtype=dtype)


def dct2(x: Tensor) -> Tensor:
    """2-D orthonormal DCT-II over the last two dims (H, W), as two matrix products."""
    dh = dct_matrix(x.shape[-2], x.device, x.dtype)
    dw = dct_matrix(x.shape[-1], x.device, x.dtype)
    return dh @ x @ dw.T


def idct2(c: Tensor) -> Tensor:
    """Inverse of :func:`dct2` (the transpose, since the matrices are orthonormal)."""
    dh = dct_matrix(c.shape[-2], c.device, c.dtype)
    dw = dct_matrix(c.shape[-1], c.device, c.dtype)
    return dh.T @ c @ dw


@dataclass(frozen=True)
class Spectrum:
    """SSA spectrum simulation: ``copies`` samples IDCT(DCT(x + N(0, sigma^2)) * U[1-rho, 1+rho])."""

    copies: int = 20
    sigma: float = 16 / 255
    rho: float = 0.5
    leaf = True

    def __call__(self, x: Tensor, rng: ImageRandom) -> Tensor:
        noise = rng.randn(self.copies, *x.shape[1:]) * self.sigma  # image-major (B, copies, ...), contiguous
        mask = 1 - self.rho + 2 * self.rho * rng.rand(self.copies, *x.shape[1:])
        return idct2(dct2(x[:, None] + noise) * mask).transpose(0, 1).flatten(0, 1)  # copy-major


@dataclass(frozen=True)
class IntegratedScales:
    """MIG's scaled copies (i / copies) * x, i = 1..copies, of the straight path from a zero baseline.

    Differentiated through (as TransferAttack takes the gradient w.r.t. the perturbation), so copy i's
    gradient carries its factor i / copies.
    """

    copies: int = 20
    leaf = False

    def __call__(self, x: Tensor, rng: ImageRandom) -> Tensor:
        scales = torch.arange(1, self.copies + 1, device=x.device, dtype=x.dtype) / self.copies
        return (scales.view(-1, 1, 1, 1, 1) * x[None]).flatten(0, 1)


@dataclass(frozen=True)
class Neighbours:
    """GRA's sampling: the point itself (copy 0) then ``copies`` points x + U[-radius, radius]."""

    copies: int = 20
    radius: float = 3.5 * 16 / 255
    leaf = True

    def __call__(self, x: Tensor, rng: ImageRandom) -> Tensor:
        u = rng.rand(self.copies, *x.shape[1:]).transpose(0, 1)
        return torch.cat([x[None], x[None] + (2 * u - 1) * self.radius]).flatten(0, 1)


@dataclass(frozen=True)
class Scales:
    """SI scale invariance: copies x / 2^i, i = 0..copies-1 (differentiated through)."""

    copies: int = 5
    leaf = False

    def __call__(self, x: Tensor, rng: ImageRandom) -> Tensor:
        factors = 0.5 ** torch.arange(self.copies, device=x.device, dtype=x.dtype)
        return (factors.view(-1, 1, 1, 1, 1) * x[None]).flatten(0, 1)


@dataclass(frozen=True)
class Diversity:
    """DI input diversity, per sample: with probability ``prob`` resize (bilinear) and zero-pad.

    ``ratio`` generalises the published sizes: the random size lies in [int(min(1, ratio) * H),
    int(max(1, ratio) * H)) and the copy is padded to the larger (AttEXplore: ratio 1.15, 224 -> [224, 257),
    pad 257; the old Table-6 code: ratio 0.9, [201, 224), pad 224). ``resize_back`` resizes the padded
    copy back to H (TransferAttack's DIM); models that only accept their input size always do.
    """

    prob: float = 0.5
    ratio: float = 1.15
    resize_back: bool = False

    def groups(self, z: Tensor, batch: int, rng: ImageRandom, fixed_size: bool = False) -> list[tuple[Tensor, Tensor]]:
        """Transform each sample of z (K*B, C, H, W; image ``j % batch``'s draws); return (outputs, their
        sample indices) grouped by spatial size, samples in order. Batched: one resize per distinct size, taken
        from z by one gather and a split (per-sample slices would each fill a zero copy of z in the backward)."""
        n, h = z.shape[0], z.shape[-1]
        lo, hi = (int(h * self.ratio), h) if self.ratio < 1 else (h, int(h * self.ratio))  # the published int() sizes
        back = (self.resize_back or fixed_size) and hi != h
        draws = rng.rand(n // batch, 4).tolist()  # [image][copy] -> coin, size, top, left
        by_resize: dict[int, list[tuple[int, int, int]]] = {}  # resized size (0: untouched) -> (sample, top, left)
        out_size = []
        for j in range(n):
            copy, image = divmod(j, batch)
            coin, size, top, left = draws[image][copy]
            if coin < self.prob and hi > lo:
                rnd = lo + min(int(size * (hi - lo)), hi - lo - 1)
                by_resize.setdefault(rnd, []).append((j, int(top * (hi - rnd)), int(left * (hi - rnd))))
                out_size.append(h if back else hi)
            else:
                by_resize.setdefault(0, []).append((j, 0, 0))
                out_size.append(h)
        members_of = list(by_resize.items())
        order = [j for _, members in members_of for j, _, _ in members]
        chunks = z.index_select(0, torch.tensor(order, device=z.device)).split([len(m) for _, m in members_of])
        parts: dict[int, list[tuple[list[int], Tensor]]] = {}  # output size -> (samples, their outputs)
        for (rnd, members), part in zip(members_of, chunks):
            if rnd:
                part = F.interpolate(part, size=(rnd, rnd), mode="bilinear", align_corners=False)
                part = torch.cat([F.pad(p[None], (left, hi - rnd - left, top, hi - rnd - top)) for p, (_, top, left) in zip(part.unbind(0), members)])
                if back:
                    part = F.interpolate(part, size=(h, h), mode="bilinear", align_corners=False)
            parts.setdefault(part.shape[-1], []).append(([j for j, _, _ in members], part))
        out = []
        for size in dict.fromkeys(out_size):  # sizes in order of first appearance, samples in order within each
            index = [j for members, _ in parts[size] for j in members]
            joined = torch.cat([part for _, part in parts[size]])
            rank = sorted(range(len(index)), key=index.__getitem__)
            out.append((joined.index_select(0, torch.tensor(rank, device=z.device)), torch.tensor(sorted(index), device=z.device)))
        return out


@lru_cache(maxsize=8)
def gaussian_kernel(size: int, device: torch.device, dtype: torch.dtype, nsig: float = 3.0) -> Tensor:
    """Depthwise (3, 1, size, size) Gaussian kernel over [-nsig, nsig], summing to 1 (TI, as in TransferAttack)."""
    t = torch.linspace(-nsig, nsig, size, dtype=torch.float64)
    k1 = torch.exp(-0.5 * t**2)
    k2 = torch.outer(k1, k1)
    return (k2 / k2.sum()).to(device=device, dtype=dtype).expand(3, 1, size, size).contiguous()


def smooth(grad: Tensor, size: int) -> Tensor:
    """TI translation invariance: depthwise Gaussian smoothing of a gradient (size <= 1: unchanged)."""
    if size <= 1:
        return grad
    return F.conv2d(grad, gaussian_kernel(size, grad.device, grad.dtype), padding=size // 2, groups=grad.shape[1])
