"""The nets of the attributional-robustness study, and a 3-channel view for ``attribute()``.

* ``SmallCNN`` with its defaults is the Madry et al. / Chen et al. (RAR) MNIST / Fashion-MNIST net:
  conv 32@5x5, pool, conv 64@5x5, pool, fc 1024, fc classes (RAR ``MNIST/model.py``).
* ``SmallResNet`` is the GTSRB / Flower net of RAR and Sarkar et al. (``GTSRB/model.py``,
  ``Flower/model.py``): per-image standardisation, a 3x3 conv to 16 channels, three stages of
  pre-activation residual units 16-16-32-64 (GTSRB two units per stage, Flower one), leaky ReLU 0.1,
  no batch norm, global average pooling, fc. TF "SAME" padding is reproduced exactly.

Widths are parameters so the quick profile can train a narrower copy in seconds. Activations are
modules (not functional calls) so the top-k attack can swap them for softplus in a copy; the authors'
initialisation is the default (``init="authors"``).
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..validate import require
from .datasets import info
from .settings import dataset_settings

INITS = ("authors", "torch")


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


class PerImageStandardization(nn.Module):
    """``tf.image.per_image_standardization``: (x - mean) / max(std, 1/sqrt(n)) per image."""

    def forward(self, x: Tensor) -> Tensor:
        n = x[0].numel()
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        var = ((x * x).mean(dim=(1, 2, 3), keepdim=True) - mean * mean).clamp_min(1.0 / n)  # sqrt(max(v, 1/n)) = max(std, 1/sqrt(n))
        return (x - mean) / var.sqrt()


class SameConv2d(nn.Conv2d):
    """A bias-free conv with TF "SAME" padding (asymmetric for stride 2: the extra row / column at the end)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride, padding=0, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for size in (x.shape[-1], x.shape[-2]):  # F.pad order: last dim first
            total = max((math.ceil(size / self.stride[0]) - 1) * self.stride[0] + self.kernel_size[0] - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


class ResidualUnit(nn.Module):
    """The authors' ``_residual``: two 3x3 convs, leaky-ReLU pre-activation, avg-pool + zero-channel-pad shortcut."""

    def __init__(self, cin: int, cout: int, stride: int, activate_before_residual: bool, slope: float = 0.1) -> None:
        super().__init__()
        self.act1, self.act2 = nn.LeakyReLU(slope), nn.LeakyReLU(slope)
        self.conv1, self.conv2 = SameConv2d(cin, cout, 3, stride), SameConv2d(cout, cout, 3, 1)
        self.cin, self.cout, self.stride, self.before = cin, cout, stride, activate_before_residual

    def forward(self, x: Tensor) -> Tensor:
        if self.before:
            x = self.act1(x)
            orig = x
        else:
            orig = x
            x = self.act1(x)
        x = self.conv2(self.act2(self.conv1(x)))
        if self.cin != self.cout:
            orig = F.avg_pool2d(orig, self.stride, self.stride)
            pad = (self.cout - self.cin) // 2
            orig = F.pad(orig, (0, 0, 0, 0, pad, self.cout - self.cin - pad))
        return x + orig


class SmallResNet(nn.Module):
    """[0,1] images -> logits: the GTSRB / Flower ResNet (filters 16-16-32-64, ``units`` per stage)."""

    def __init__(self, in_channels: int, num_classes: int, input_size: int, filters: tuple[int, int, int, int] = (16, 16, 32, 64),
                 units: int = 1, slope: float = 0.1) -> None:
        super().__init__()
        require(units >= 1 and len(filters) == 4, "SmallResNet needs 4 filter sizes and units >= 1")
        layers: list[nn.Module] = [PerImageStandardization(), SameConv2d(in_channels, filters[0], 3)]
        for stage, stride in enumerate((1, 2, 2)):
            cin, cout = filters[stage], filters[stage + 1]
            layers.append(ResidualUnit(cin, cout, stride, activate_before_residual=stage == 0, slope=slope))
            layers += [ResidualUnit(cout, cout, 1, False, slope) for _ in range(units - 1)]
        layers += [nn.LeakyReLU(slope), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(filters[3], num_classes)
        self.in_channels, self.input_size, self.num_classes = in_channels, input_size, num_classes

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))


def init_like_authors(net: nn.Module) -> nn.Module:
    """The TF initialisers: MNIST net truncated normal (std 0.1) weights and 0.1 biases; ResNet convs
    normal(0, sqrt(2 / (k*k*out))), fc uniform(+-sqrt(3 / fan_in)) with zero bias."""
    with torch.no_grad():
        if isinstance(net, SmallResNet):
            for m in net.modules():
                if isinstance(m, nn.Conv2d):
                    m.weight.normal_(0.0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
                elif isinstance(m, nn.Linear):
                    bound = math.sqrt(3.0 / m.in_features)
                    m.weight.uniform_(-bound, bound)
                    m.bias.zero_()
        else:
            for m in net.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, std=0.1, a=-0.2, b=0.2)
                    if m.bias is not None:
                        m.bias.fill_(0.1)
    return net


def make_net(dataset: str, width: float = 1.0, init: str = "authors") -> nn.Module:
    """The study's net for ``dataset`` (``SmallCNN`` for MNIST / FMNIST, ``SmallResNet`` for GTSRB with two
    units per stage and Flower-17 with one); ``width`` scales every layer (1.0 = the paper-size net);
    ``init`` = "authors" (the TF initialisers) or "torch" (PyTorch's defaults)."""
    require(init in INITS, f"init must be one of {INITS}, got {init!r}")
    require(width > 0, f"width must be > 0, got {width}")
    meta, kind = info(dataset), dataset_settings(dataset).net
    if kind == "mnist_cnn":
        scale = lambda n: max(4, round(n * width))  # noqa: E731
        net: nn.Module = SmallCNN(meta.channels, meta.num_classes, meta.size, (scale(32), scale(64)), scale(1024), kernel=5)
    else:
        even = lambda n: max(2, 2 * round(n * width / 2))  # noqa: E731  (the shortcut pads channels evenly)
        net = SmallResNet(meta.channels, meta.num_classes, meta.size, tuple(even(f) for f in (16, 16, 32, 64)),
                          units=2 if kind == "resnet_gtsrb" else 1)
    return init_like_authors(net) if init == "authors" else net


class RGBView(nn.Module):
    """Present a gray-image net as an ``attribute()``-ready model: (B,3,H,W) in, logits out.

    The three channels are averaged (so a gray image repeated 3x gives exactly the net's input, and
    each channel's attribution is the gray attribution / 3: channel-summed maps equal the gray map).
    Inputs of another size (e.g. AttEXplore's input-diversity resize) are resized back to the net's
    size, as the method code does for fixed-size models. Parameters are frozen, eval mode.
    """

    def __init__(self, net: nn.Module) -> None:
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


class LeakySoftplus(nn.Module):
    """The authors' smooth leaky ReLU: slope*x + (1 - slope)*softplus(x) (softplus sharpness ``beta``)."""

    def __init__(self, slope: float, beta: float = 1.0) -> None:
        super().__init__()
        self.slope, self.beta = slope, beta

    def forward(self, x: Tensor) -> Tensor:
        return self.slope * x + (1 - self.slope) * F.softplus(x, beta=self.beta)


def softplus_surrogate(net: nn.Module, beta: float = 1.0) -> nn.Module:
    """A frozen copy of ``net`` with every ReLU replaced by Softplus(beta) and every leaky ReLU by
    :class:`LeakySoftplus`: a smooth stand-in whose input-Hessian is non-zero, which the top-k attack
    needs (Ghorbani et al. 2019). beta = 1 is the authors' (``tf.nn.softplus``)."""
    require(beta > 0, f"beta must be > 0, got {beta}")
    twin = copy.deepcopy(net)
    for parent in twin.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.ReLU):
                setattr(parent, child_name, nn.Softplus(beta=beta))
            elif isinstance(child, nn.LeakyReLU):
                setattr(parent, child_name, LeakySoftplus(child.negative_slope, beta))
    return frozen(twin)

