"""A tiny CNN trained in ~1 s on a synthetic separable task (3x16x16, 3 classes: the bright channel)."""
from __future__ import annotations

from functools import lru_cache

import torch
from torch import Tensor, nn


class TinyNet(nn.Module):
    """Conv net with the metadata attacks use (feature_layer, layer(), fixed_size, num_classes)."""

    feature_layer = "features.2"
    fixed_size = False
    num_classes = 3

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(8, 3)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).mean((2, 3)))

    def layer(self, name: str) -> nn.Module:
        return self.get_submodule(name)


def make_data(n: int, seed: int) -> tuple[Tensor, Tensor]:
    """Images in [0.25, 0.75]: mid-grey noise with class k's channel brightened."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=gen)
    x = 0.4 + 0.1 * torch.rand(n, 3, 16, 16, generator=gen)
    x[torch.arange(n), y] += 0.25
    return x, y


@lru_cache(maxsize=1)
def trained_model() -> TinyNet:
    """The trained, frozen, eval-mode tiny model (cached per test session)."""
    torch.manual_seed(0)
    model = TinyNet()
    x, y = make_data(512, 0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(25):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
