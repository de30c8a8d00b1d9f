"""Agreement between two attribution maps of the same images: top-k intersection, Kendall tau-b, Spearman.

Used for attributional robustness (Ghorbani et al. 2019; Sarkar et al. 2021) and for sanity checks.
Every measure compares per image the *saliency* ``sum_c |map_c|`` (channel-summed absolute map) and
returns a ``(B,)`` tensor. All are exact, in torch, in O(n log^2 n) time and O(n) memory per image
(n = H*W pixels), and agree with ``scipy.stats.kendalltau`` / ``spearmanr`` including ties.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ..validate import require


def saliency(attr: Tensor) -> Tensor:
    """Flatten maps (B,C,H,W) or (B,H,W) to per-image saliency (B, H*W): the channel sum of |map|."""
    require(isinstance(attr, Tensor) and attr.dim() in (3, 4), f"maps must be tensors (B,C,H,W) or (B,H,W), got {getattr(attr, 'shape', type(attr))}")
    require(bool(torch.isfinite(attr).all()), "maps contain NaN or inf values")
    s = attr.abs()
    if s.dim() == 4:
        s = s.sum(dim=1)
    return s.flatten(1)


def _pair(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    require(isinstance(a, Tensor) and isinstance(b, Tensor), "maps must be torch tensors")
    require(a.shape == b.shape, f"maps must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    return saliency(a).double(), saliency(b).double()


def topk_intersection(a: Tensor, b: Tensor, k: int) -> Tensor:
    """Fraction of a's k most salient pixels that are also among b's k most salient (Ghorbani et al.)."""
    sa, sb = _pair(a, b)
    require(isinstance(k, int) and 1 <= k <= sa.shape[1], f"k must be an int in 1..{sa.shape[1]} (pixels per map), got {k!r}")
    in_a = torch.zeros_like(sa, dtype=torch.bool).scatter_(1, sa.topk(k, dim=1).indices, True)
    in_b = torch.zeros_like(sb, dtype=torch.bool).scatter_(1, sb.topk(k, dim=1).indices, True)
    return (in_a & in_b).sum(dim=1).double() / k


def _dense_ranks(v: Tensor) -> Tensor:
    """Per row, 0-based dense ranks (equal values share a rank, no gaps)."""
    sorted_v, order = v.sort(dim=1, stable=True)
    new_value = torch.ones_like(sorted_v, dtype=torch.long)
    new_value[:, 0] = 0
    new_value[:, 1:] = (sorted_v[:, 1:] != sorted_v[:, :-1]).long()
    return torch.empty_like(order).scatter_(1, order, new_value.cumsum(dim=1))


def _group_sizes(dense: Tensor) -> Tensor:
    """Per row, how many entries share each dense rank: (B, n) counts indexed by rank."""
    rows, n = dense.shape
    offsets = torch.arange(rows, device=dense.device)[:, None] * n
    return torch.bincount((dense + offsets).flatten(), minlength=rows * n).view(rows, n)


def _tied_pairs(dense: Tensor) -> Tensor:
    """Per row, the number of pairs with equal values: sum over groups of t(t-1)/2."""
    t = _group_sizes(dense).double()
    return (t * (t - 1) / 2).sum(dim=1)


def _average_ranks(v: Tensor) -> Tensor:
    """Per row, 1-based ranks with ties given their mean rank (scipy.stats.rankdata 'average')."""
    dense = _dense_ranks(v)
    sizes = _group_sizes(dense).double()
    first = sizes.cumsum(dim=1) - sizes  # 0-based position where each group starts
    return (first + (sizes + 1) / 2).gather(1, dense)


def _inversions(v: Tensor) -> Tensor:
    """Per row, the number of pairs i < j with v[i] > v[j], by a vectorised bottom-up merge sort.

    Each pass merges sorted blocks of width w pairwise; an element of a right block is inverted with
    the left-block elements strictly greater than it, counted by a batched searchsorted.
    """
    rows, n = v.shape
    size = 1 << max(0, math.ceil(math.log2(max(n, 1))))
    top = torch.finfo(v.dtype).max if v.is_floating_point() else torch.iinfo(v.dtype).max
    pad = torch.full((rows, size - n), top, dtype=v.dtype, device=v.device)
    blocks = torch.cat([v, pad], dim=1)
    count = torch.zeros(rows, dtype=torch.float64, device=v.device)
    width = 1
    while width < size:
        pairs = blocks.view(rows, size // (2 * width), 2, width)
        left, right = pairs[:, :, 0].contiguous(), pairs[:, :, 1].contiguous()
        not_greater = torch.searchsorted(left, right, right=True)
        count += (width - not_greater).sum(dim=(1, 2)).double()
        blocks = pairs.view(rows, -1, 2 * width).sort(dim=2).values.view(rows, size)
        width *= 2
    return count


def kendall_tau(a: Tensor, b: Tensor) -> Tensor:
    """Kendall tau-b between the saliencies of a and b per image (ties handled as scipy.stats.kendalltau).

    Knight's algorithm: sort by (a, b); discordant pairs = inversions of b in that order.
    """
    sa, sb = _pair(a, b)
    ra, rb = _dense_ranks(sa), _dense_ranks(sb)
    n = sa.shape[1]
    order = (ra * n + rb).argsort(dim=1)
    discordant = _inversions(rb.gather(1, order))
    total = n * (n - 1) / 2
    x_ties, y_ties = _tied_pairs(ra), _tied_pairs(rb)
    joint_ties = _tied_pairs(_dense_ranks(ra * n + rb))
    numerator = total - x_ties - y_ties + joint_ties - 2 * discordant
    return numerator / ((total - x_ties).sqrt() * (total - y_ties).sqrt())


def spearman(a: Tensor, b: Tensor) -> Tensor:
    """Spearman rank correlation between the saliencies of a and b per image (average ranks for ties)."""
    sa, sb = _pair(a, b)
    ra, rb = _average_ranks(sa), _average_ranks(sb)
    ra, rb = ra - ra.mean(dim=1, keepdim=True), rb - rb.mean(dim=1, keepdim=True)
    return (ra * rb).sum(dim=1) / (ra.norm(dim=1) * rb.norm(dim=1))
