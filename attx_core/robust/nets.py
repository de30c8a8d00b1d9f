"""Small CNNs of the attributional-robustness literature, and a 3-channel view for ``attribute()``.

``SmallCNN`` with its defaults is the Madry et al. / Chen et al. (RAR) MNIST net: conv 32@5x5, pool,
conv 64@5x5, pool, fc 1024, fc classes. Widths are parameters so that the quick profile can train a
narrower copy in seconds; ``convs_per_block=2`` with 3x3 kernels is the slightly larger net used for
3-channel datasets. ReLUs are modules (not functional calls) so the top-k attack can swap them for
softplus in a copy.
"""
from __future__ import annotations

import copy

import torch.nn.functional as F
from torch import Tensor, nn

from .datasets import info


class SmallCNN(nn.Module):
    """[0,1] images -> logits: ``len(channels)`` conv blocks (each ends in 2x2 max-pool), two fc layers."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        input_size: int,
        channels: tuple[int, ...] = (32, 64),
        hidden: int = 1024,
        kernel: int = 5,
        convs_per_block: int = 1,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_channels
        for width in channels:
            for _ in range(convs_per_block):
                layers += [nn.Conv2d(c, width, kernel, padding=kernel // 2), nn.ReLU()]
                c = width
            layers.append(nn.MaxPool2d(2))
        side = input_size // 2 ** len(channels)
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c * side * side, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
        self.in_channels = in_channels
        self.input_size = input_size
        self.num_classes = num_classes

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def make_net(dataset: str, width: float = 1.0) -> SmallCNN:
    """The study's net for ``dataset``: the MNIST net for 1-channel data, a 2x(3x3 conv) per block net
    otherwise; ``width`` scales every layer (1.0 = the paper-size net)."""
    meta = info(dataset)
    scale = lambda n: max(4, round(n * width))  # noqa: E731
    if meta.channels == 1:
        return SmallCNN(1, meta.num_classes, meta.size, (scale(32), scale(64)), scale(1024), kernel=5)
    blocks = (scale(32), scale(64)) if meta.size <= 32 else (scale(32), scale(64), scale(128))
    return SmallCNN(meta.channels, meta.num_classes, meta.size, blocks, scale(256), kernel=3, convs_per_block=2)


class RGBView(nn.Module):
    """Present a gray-image net as an ``attribute()``-ready model: (B,3,H,W) in, logits out.

    The three channels are averaged (so a gray image repeated 3x gives exactly the net's input, and
    each channel's attribution is the gray attribution / 3: channel-summed maps equal the gray map).
    Inputs of another size (e.g. AttEXplore's input-diversity resize) are resized back to the net's
    size, as the method code does for fixed-size models. Parameters are frozen, eval mode.
    """

    def __init__(self, net: SmallCNN) -> None:
        super().__init__()
        self.net = net.eval().requires_grad_(False)
        self.input_size = net.input_size
        self.fixed_size = True
        self.num_classes = net.num_classes

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        if self.net.in_channels == 1:
            x = x.mean(dim=1, keepdim=True)
        return self.net(x)


def to_rgb(x: Tensor) -> Tensor:
    """Gray (B,1,H,W) -> (B,3,H,W) by repeating the channel; 3-channel input unchanged."""
    return x.expand(-1, 3, -1, -1).contiguous() if x.shape[1] == 1 else x


def frozen(net: nn.Module) -> nn.Module:
    """``net`` in eval mode with parameters frozen (evaluation only needs input gradients)."""
    return net.eval().requires_grad_(False)


def softplus_surrogate(net: nn.Module, beta: float = 10.0) -> nn.Module:
    """A frozen copy of ``net`` with every ReLU replaced by Softplus(beta): a smooth stand-in whose
    input-Hessian is non-zero, which the top-k attack needs (Ghorbani et al. 2019)."""
    twin = copy.deepcopy(net)
    for parent in twin.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, child_name, nn.Softplus(beta=beta))
    return frozen(twin)

