"""DeepLIFT with the Rescale rule (Shrikumar et al. 2017), zero baseline by default.

x and the reference go through the network together; a forward hook on every elementwise nonlinearity
replaces its local derivative by the secant slope (f(x) - f(r)) / (x - r) (the derivative itself where
|x - r| < eps, as Captum). One input-gradient pass of that rewired graph gives the multipliers;
attribution = (x - r) * multiplier. Linear layers, BatchNorm (eval) and pooling keep their gradients,
max-pooling too (the gradient rule for max). Captum rescales max-pools instead, so on nets with one
(the ResNet-50 stem) maps differ from Captum's and sums miss f(x) - f(r) by a few %. Hooks see each
call of a module, so reused modules (torchvision ResNet's ``relu``) are handled. ``output="prob"``: the target logit's map times
(p_y(x) - p_y(r)) / (z_y(x) - z_y(r)), the Rescale rule on the final softmax as a function of the
target logit; it sums to p_y(x) - p_y(r). (Captum's Softmax rule subtracts a batch-wide mean and is
not reproduced; with ``output="logit"`` this agrees with ``captum.attr.DeepLift``.)
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import Tensor, nn

from ..engine import Objective, input_gradients, model_output
from .registry import register_method
from .ig import resolve_baseline

NONLINEAR = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh,
)
EPS = 1e-10


def _rescale(module: nn.Module, inputs: tuple, out: Tensor) -> Tensor:
    """Forward hook on a batch [x-half; reference-half]: same values, secant-slope derivative."""
    inp = inputs[0]
    d_in = torch.cat(2 * [inp[: inp.shape[0] // 2] - inp[inp.shape[0] // 2 :]])
    d_out = torch.cat(2 * [out[: out.shape[0] // 2] - out[out.shape[0] // 2 :]])
    small = d_in.abs() < EPS
    slope = (d_out / torch.where(small, torch.ones_like(d_in), d_in)).detach()
    return torch.where(small, out, out.detach() + (inp - inp.detach()) * slope)


@contextmanager
def rescale_hooks(model: nn.Module) -> Iterator[None]:
    """Install the Rescale hook on every elementwise nonlinearity of ``model`` for the block's duration."""
    handles = [m.register_forward_hook(_rescale) for m in model.modules() if isinstance(m, NONLINEAR)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


class _Paired(nn.Module):
    """Runs [x; reference] through the hooked model; returns logits of both halves side by side (B, 2K)."""

    def __init__(self, model: nn.Module, reference: Tensor) -> None:
        super().__init__()
        self.model, self.reference = model, reference

    def forward(self, x: Tensor) -> Tensor:
        logits = self.model(torch.cat([x, self.reference.expand_as(x)]))
        return torch.cat(logits.chunk(2), dim=1)


def _objective(output: str) -> Objective:
    def objective(paired: Tensor, target: Tensor) -> Tensor:
        z, z_ref = paired.chunk(2, dim=1)
        zy, zy_ref = z.gather(1, target[:, None])[:, 0], z_ref.gather(1, target[:, None])[:, 0]
        if output == "logit":
            return zy
        p, p_ref = model_output(z, output), model_output(z_ref, output)
        py, py_ref = p.gather(1, target[:, None])[:, 0], p_ref.gather(1, target[:, None])[:, 0]
        dz = zy - zy_ref
        small = dz.abs() < EPS
        scale = torch.where(small, py * (1 - py), (py - py_ref) / torch.where(small, torch.ones_like(dz), dz))
        return zy * scale.detach()

    return objective


@register_method("deeplift", "DeepLIFT, Rescale rule on elementwise nonlinearities, zero baseline", passes="2")
def deeplift(
    model: nn.Module, x: Tensor, target: Tensor, *, baseline: str | Tensor = "zeros", output: str = "prob"
) -> Tensor:
    """``(x - r) * m`` with m the Rescale-rule multipliers of the target score; one reference per call.

    ``baseline`` is ``"zeros"`` or one image broadcastable to (1, C, H, W) (the reference is paired
    with every image of a chunk). Costs one forward+backward of a doubled batch.
    """
    model_output(x.new_zeros(1, 1), output)  # validates output
    ref = resolve_baseline(baseline, x[:1])
    with rescale_hooks(model):
        mult, _ = input_gradients(_Paired(model, ref), x, target, _objective(output))
    return (x - ref) * mult
