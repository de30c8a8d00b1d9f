"""The fixed denominator of insertion/deletion timings: a plain eager batched loop of the paper's protocol.

Per curve and image, every point's image is built by masking with the published channel-union order (a pixel
moves, in all channels, once any channel ranks it among the first ``i * step``), the images are forwarded in
chunks of 8, eager, no compile; the score is the softmax probability of the clean image's top-1 class and the
AUC RISE's normalised trapezoid. It is kept unchanged so that speed-ups over it stay comparable across
versions of the library; ``forward`` swaps in another forward (e.g. OpenVINO's) to time that part alone.
``attx bench`` times it against ``insertion_deletion`` (``store_insdel`` in its JSON).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

CHUNK = 8


@torch.no_grad()
def plain_insertion_deletion(model: nn.Module, x: Tensor, maps: Tensor, step: int = 224,
                             forward: Callable[[Tensor], Tensor] | None = None) -> tuple[Tensor, Tensor]:
    """Insertion and deletion AUCs (B,) of ``maps`` for images x (B, 3, H, W): zeros substrate, eager chunks of 8."""
    forward = model if forward is None else forward
    b, c, h, w = x.shape
    points = math.ceil(h * w / step) + 1
    target = torch.cat([forward(x[i : i + CHUNK]) for i in range(0, b, CHUNK)]).argmax(dim=1)
    order = np.flip(np.argsort(maps.detach().cpu().numpy().reshape(b, c, h * w), axis=-1, kind="stable"), axis=-1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(h * w)[None, None], axis=-1)
    key = torch.from_numpy(ranks.min(axis=1)).view(b, 1, 1, h, w)  # first point at which the pixel moves, x step
    thresholds = (torch.arange(points) * step).view(points, 1, 1, 1)
    aucs = []
    for insertion in (True, False):
        per_image = []
        for j in range(b):
            moved = key[j] < thresholds  # (points, 1, H, W)
            images = torch.where(moved == insertion, x[j], torch.zeros_like(x[j]))
            scores = torch.cat([forward(images[i : i + CHUNK]).softmax(dim=1)[:, target[j]] for i in range(0, points, CHUNK)])
            per_image.append((scores.sum() - scores[0] / 2 - scores[-1] / 2) / (points - 1))
        aucs.append(torch.stack(per_image))
    return aucs[0], aucs[1]

