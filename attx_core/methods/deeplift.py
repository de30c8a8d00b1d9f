"""DeepLIFT with the Rescale rule (Shrikumar et al. 2017), zero baseline by default, as Captum's ``DeepLift``.

The paper's code (``saliency/core/deeplift.py``) runs ``captum.attr.DeepLift`` on the softmax model
(Normalize -> network -> Softmax), ``baselines=None`` (zeros), target = label; ResNet-50 is swapped for
a copy with one ReLU module per use (``resnet_modified.py``). What Captum does, reproduced here:

- x and the reference go through the network together; a forward hook on every elementwise
  nonlinearity module replaces its local derivative by the secant slope (f(x) - f(r)) / (x - r) (the
  derivative itself where |x - r| < eps). Hooks see each call of a module, so reused modules
  (torchvision ResNet's ``relu``) need no rewritten network. Nonlinearities are found by their module
  type: functional ones (``F.relu``) cannot be hooked. torchvision's Inception-v3 uses ``F.relu``, so
  the published Inception-v3 DeepLIFT rescaled no ReLU at all (about input x gradient); ``attx_core``'s
  Inception-v3 uses ReLU modules instead (``models.py``), and a model where no nonlinearity is hooked
  raises ``ValueError`` rather than silently returning input x gradient.
- max-pooling keeps its gradient. Captum registers a max-pool rule, but its tensor hooks let a
  preceding hooked nonlinearity read the max-pool's input gradient before the rule replaces it, so
  wherever a max-pool follows a ReLU module (every max-pool of VGG16 and ResNet-50) the rule has no
  effect: the plain gradient is what the published code computed there (checked against Captum in
  the conformance tests).
- the final Softmax (``output="prob"``): Captum's rule is the secant slope of the target probability
  on the target logit, m = (p_y(x) - p_y(r)) / (z_y(x) - z_y(r)), minus the mean of those multipliers
  over all entries of its (2 x batch, classes) gradient. Over a batch of B images that mean mixes the
  images (m_i summed over the batch, / (B K)); here it is taken per image, i.e. Captum at batch size 1:
  logit multipliers m (onehot_y - 1/K). ``softmax_rule="rescale"`` drops the mean (maps then sum to
  p_y(x) - p_y(r)). ``output="logit"`` explains the target logit (no softmax rule).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import torch
from torch import Tensor, nn

from ..engine import OUTPUTS, Objective, input_gradients, model_output
from ..validate import require, require_choice
from .ig import check_baseline, resolve_baseline
from .registry import register_method

NONLINEAR = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh,
)
EPS = 1e-10  # Captum's eps
SOFTMAX_RULES = ("captum", "rescale")


def _rescale(module: nn.Module, inputs: tuple, out: Tensor) -> Tensor:
    """Forward hook on a batch [x-half; reference-half]: same values, secant-slope derivative."""
    inp = inputs[0]
    d_in = torch.cat(2 * [inp[: inp.shape[0] // 2] - inp[inp.shape[0] // 2 :]])
    d_out = torch.cat(2 * [out[: out.shape[0] // 2] - out[out.shape[0] // 2 :]])
    small = d_in.abs() < EPS
    slope = (d_out / torch.where(small, torch.ones_like(d_in), d_in)).detach()
    return torch.where(small, out, out.detach() + (inp - inp.detach()) * slope)


@contextmanager
def rescale_hooks(model: nn.Module) -> Iterator[list[int]]:
    """Install the Rescale hook on every elementwise nonlinearity module of ``model`` for the block.

    Yields a one-element list counting the calls of hooked nonlinearities during the block.
    """
    calls = [0]

    def counted(module: nn.Module, inputs: tuple, out: Tensor) -> Tensor:
        calls[0] += 1
        return _rescale(module, inputs, out)

    handles = [m.register_forward_hook(counted) for m in model.modules() if isinstance(m, NONLINEAR)]
    try:
        yield calls
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


def _objective(output: str, softmax_rule: str) -> Objective:
    """Target score whose logit gradient is the softmax rule's multipliers (see the module docstring)."""

    def objective(paired: Tensor, target: Tensor) -> Tensor:
        z, z_ref = paired.chunk(2, dim=1)
        zy, zy_ref = z.gather(1, target[:, None])[:, 0], z_ref.gather(1, target[:, None])[:, 0]
        if output == "logit":
            return zy
        p, p_ref = model_output(z, output), model_output(z_ref, output)
        py, py_ref = p.gather(1, target[:, None])[:, 0], p_ref.gather(1, target[:, None])[:, 0]
        dz = zy - zy_ref
        small = dz.abs() < EPS
        scale = torch.where(small, py * (1 - py), (py - py_ref) / torch.where(small, torch.ones_like(dz), dz)).detach()
        if softmax_rule == "captum":
            return scale * (zy - z.mean(dim=1))
        return zy * scale

    return objective


def _check(p: dict[str, Any]) -> None:
    require_choice("output", p["output"], OUTPUTS)
    require_choice("softmax_rule", p["softmax_rule"], SOFTMAX_RULES)
    check_baseline(p["baseline"])


@register_method(
    "deeplift",
    "DeepLIFT as Captum runs it (Rescale on nonlinearity modules, softmax rule), zero baseline",
    passes="2",
    version=2,
    published="saliency/core/deeplift.py: captum DeepLift(softmax model).attribute(x, target=y, baselines=None) (zero "
    "baseline; ResNet-50 via resnet_modified.py). Captum's Softmax rule mixes a batch's images (not reproduced: per "
    "image, = Captum at batch 1); on torchvision Inception-v3 (F.relu) it rescaled no ReLU (not reproduced: ReLU modules).",
    options={
        "softmax_rule='rescale'": "softmax multiplier (p_y(x)-p_y(r))/(z_y(x)-z_y(r)) on the target logit only: maps sum to p_y(x)-p_y(r)",
        "output='logit'": "explains the target logit (no softmax rule); equals captum DeepLift on the logit model",
    },
    conformance="tests/test_conformance_baselines.py",
    check=_check,
)
def deeplift(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    *,
    baseline: str | Tensor = "zeros",
    output: str = "prob",
    softmax_rule: str = "captum",
) -> Tensor:
    """``(x - r) * m`` with m the DeepLIFT multipliers of the target score; one reference per call.

    ``baseline`` is ``"zeros"`` or one image broadcastable to (1, C, H, W) (the reference is paired
    with every image of a chunk). Costs one forward+backward of a doubled batch. Raises ``ValueError``
    when the model has no hookable nonlinearity module (functional activations only).
    """
    ref = resolve_baseline(baseline, x[:1])
    with rescale_hooks(model) as calls:
        mult, _ = input_gradients(_Paired(model, ref), x, target, _objective(output, softmax_rule))
    require(
        calls[0] > 0,
        "deeplift: no nonlinearity module was called in the forward pass (activations applied functionally, e.g. "
        "F.relu, cannot be hooked); the result would be input x gradient. Use nn.ReLU modules, or method='fast_ig'.",
    )
    return (x - ref) * mult
