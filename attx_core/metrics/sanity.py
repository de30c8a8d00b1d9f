"""Model-parameter randomisation sanity check (Adebayo et al. 2018), cascading from the logits down.

Stage 0 is the original model; stage k has the top k layers re-initialised (cumulative). At every
stage each method's map is compared with its original map by Spearman rank correlation of the
channel-summed absolute maps. A method whose maps stay similar while the model is destroyed does
not explain the model. The caller's model is deep-copied and never modified.
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Mapping, Sequence

import pandas as pd
import torch
from torch import Tensor, nn

from ..engine import model_device
from ..methods import attribute
from ..validate import check_images, check_target, require
from .robustness import spearman

MethodSpec = Callable[[nn.Module, Tensor, Tensor], Tensor] | str | tuple[str, Mapping[str, Any]]


def randomizable_layers(model: nn.Module) -> list[str]:
    """Names of the modules that own parameters, from the output (logits) back to the input."""
    names = [name for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]
    return names[::-1]


def _randomize(module: nn.Module) -> None:
    """Re-initialise every parameterised submodule: its ``reset_parameters`` or N(0, 0.01^2)."""
    for m in module.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
        else:
            for p in m.parameters(recurse=False):
                torch.nn.init.normal_(p, 0.0, 0.01)


def _run(spec: MethodSpec, model: nn.Module, x: Tensor, target: Tensor) -> Tensor:
    if callable(spec):
        return spec(model, x, target).detach()
    if isinstance(spec, str):
        return attribute(model, x, target, method=spec)
    name, params = spec
    return attribute(model, x, target, method=name, **dict(params))


def cascading_randomization(
    model: nn.Module,
    x: Tensor,
    target: Tensor | int | list[int],
    methods: Mapping[str, MethodSpec],
    seed: int = 0,
    layers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Spearman of each method's map with its original map as layers are randomised top-down.

    ``methods`` maps a display name to ``fn(model, x, target) -> map``, a registered method name, or
    ``(method name, params)``. ``layers`` (module names, top first; default every parameterised
    module, see :func:`randomizable_layers`) are re-initialised cumulatively, seeded by ``seed``.
    Returns one row per (stage, method, image): columns stage, layer, method, image, spearman (NaN where the
    randomised map is constant, e.g. once the randomised layers leave the output independent of the input).
    """
    check_images(x)
    target = check_target(target, x.shape[0], getattr(model, "num_classes", None))
    require(len(methods) > 0, "methods must name at least one attribution method")
    randomized = copy.deepcopy(model).eval()
    modules = dict(randomized.named_modules())
    layers = randomizable_layers(randomized) if layers is None else list(layers)
    unknown = [name for name in layers if name not in modules]
    require(not unknown, f"unknown layer name(s) {unknown}; see randomizable_layers(model)")
    device = model_device(randomized)
    x, target = x.to(device), target.to(device)
    cuda = sorted({p.device.index or 0 for p in randomized.parameters() if p.device.type == "cuda"})

    original = {name: _run(spec, randomized, x, target) for name, spec in methods.items()}
    rows = []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        for stage, layer in enumerate(["original", *layers]):
            if stage > 0:
                _randomize(modules[layer])
            for name, spec in methods.items():
                current = original[name] if stage == 0 else _run(spec, randomized, x, target)
                for image, rho in enumerate(spearman(original[name], current).tolist()):
                    rows.append({"stage": stage, "layer": layer, "method": name, "image": image, "spearman": rho})
    return pd.DataFrame(rows)
