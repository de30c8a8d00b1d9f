"""Transferable attacks as trajectory generators: input transforms + a gradient rule + a step rule.

Every attack is an :class:`Explorer` (a composition, zennit-style) built by a few lines in
:data:`ATTACKS`. :func:`trajectory` walks any explorer and yields :class:`~attx_core.engine.Segment` s
(x_t, x_{t+1}, G_t) for :func:`~attx_core.engine.integrate`; :func:`attack` returns the last point.
Gradients of all images x all copies of a step go through :func:`~attx_core.engine.input_gradients`
at once. Steps are sign (or raw) steps of size alpha inside the Linf epsilon-ball and [0, 1].
"""
from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import Tensor, nn

from .engine import LOGIT_OBJECTIVES, Objective, Segment, input_gradients, named_objective
from .seeding import ImageRandom
from .transforms import Diversity, IntegratedScales, Neighbours, Scales, Spectrum, smooth
from .validate import check_images, check_param_types, check_target, hints_from_defaults, require

GRADIENT_RULES = ("plain", "mig", "gra", "naa")  # how an explorer turns its copies' gradients into g_t
DIRECTIONS = ("ascend", "descend")


@dataclass(frozen=True)
class Explorer:
    """An attack as data: copy transforms, DI, gradient rule (one of :data:`GRADIENT_RULES`), TI, momentum, look-ahead, start."""

    transforms: tuple = ()
    diversity: Diversity | None = None
    rule: str = "plain"
    ti_size: int = 0
    momentum: float | None = None  # None: G_t = g_t raw; else G_t = momentum * G_{t-1} + g_t / mean|g_t|
    nesterov: bool = False
    random_start: bool = False
    eta: float | None = None  # GRA decay indicator factor
    apply_indicator: bool = True  # False: GRA without its decay indicator M (a variant; every TransferAttack copy applies M)
    ensemble: int = 30  # NAA: scaled copies for the neuron-attribution weights

    def __post_init__(self) -> None:
        require(self.rule in GRADIENT_RULES, f"explorer rule must be one of {GRADIENT_RULES}, got {self.rule!r}")


@dataclass(frozen=True)
class AttackInfo:
    """A registered attack: its explorer builder, its published defaults, a description, its cost per image."""

    name: str
    build: Callable[..., Explorer] = field(repr=False)
    defaults: dict[str, Any]
    description: str
    passes: str
    published: str = ""


# Shared by every attack unless the attack's registration says otherwise (TransferAttack's conventions):
# cross-entropy of the logits, ascended (adversarial), eps 16/255, 10 steps of eps/10, sign steps. (TransferAttack
# fixes alpha = 1.6/255 whatever epsilon; we keep alpha = epsilon/num_steps so an epsilon sweep reaches its epsilon:
# the two agree at the defaults.)
COMMON = {"epsilon": 16 / 255, "num_steps": 10, "alpha": None, "use_sign": True, "seed": 3407,
          "objective": "ce", "direction": "ascend", "accumulate": False}
ATTACKS: dict[str, AttackInfo] = {}


Decorator = Callable[[Callable[..., Explorer]], Callable[..., Explorer]]


def _register(name: str, description: str, passes: str, published: str, **common: Any) -> Decorator:
    def decorate(build: Callable[..., Explorer]) -> Callable[..., Explorer]:
        own = {p.name: p.default for p in inspect.signature(build).parameters.values()}
        ATTACKS[name] = AttackInfo(name, build, {**COMMON, **common, **own}, description, passes, published)
        return build

    return decorate


TA = "Trustworthy-AI-Group/TransferAttack"


@_register("fgsm", "FGSM (Goodfellow 2015): one sign step of size epsilon", "num_steps",
           f"{TA} gradient/fgsm.py: one step, alpha = epsilon, decay 0", num_steps=1)
def _fgsm(momentum: float | None = 0.0) -> Explorer:
    return Explorer(momentum=momentum)


@_register("bim", "BIM / I-FGSM (Kurakin 2017): iterated sign steps", "num_steps",
           f"{TA} gradient/ifgsm.py: 10 steps of 1.6/255, decay 0")
def _bim(momentum: float | None = 0.0) -> Explorer:
    return Explorer(momentum=momentum)


@_register("pgd", "PGD (Madry 2018): I-FGSM from a uniform random start in the ball", "num_steps",
           f"{TA} ifgsm.py with random_start=True (uniform in the Linf ball, clipped to [0, 1]); the path is integrated from x")
def _pgd(momentum: float | None = 0.0) -> Explorer:
    return Explorer(momentum=momentum, random_start=True)


@_register("mifgsm", "MI-FGSM (Dong 2018): momentum over mean-|g|-normalised gradients", "num_steps",
           f"{TA} gradient/mifgsm.py: decay 1")
def _mifgsm(momentum: float | None = 1.0) -> Explorer:
    return Explorer(momentum=momentum)


@_register("difgsm", "DI-FGSM (Xie 2019): MI-FGSM on randomly resized and padded copies", "num_steps",
           f"{TA} input_transformation/dim.py: resize_rate 1.1, diversity_prob 0.5, bilinear, resized back to 224")
def _difgsm(momentum: float | None = 1.0, di_prob: float = 0.5, di_ratio: float = 1.1) -> Explorer:
    return Explorer(diversity=Diversity(di_prob, di_ratio, resize_back=True), momentum=momentum)


@_register("tifgsm", "TI-FGSM (Dong 2019): MI-FGSM with a Gaussian-smoothed gradient (DI optional)", "num_steps",
           f"{TA} input_transformation/tim.py: MI-FGSM + 15x15 Gaussian kernel (nsig 3), no DI")
def _tifgsm(momentum: float | None = 1.0, ti_size: int = 15, di_prob: float = 0.0, di_ratio: float = 1.1) -> Explorer:
    return Explorer(diversity=Diversity(di_prob, di_ratio) if di_prob > 0 else None, ti_size=ti_size, momentum=momentum)


@_register("sinifgsm", "SI-NI-FGSM (Lin 2020): Nesterov look-ahead over scale copies x/2^i", "num_steps*num_scales",
           f"{TA} sim.py (5 scales x/2^i) + nifgsm.py (look-ahead x + alpha*decay*momentum), decay 1")
def _sinifgsm(momentum: float | None = 1.0, num_scales: int = 5) -> Explorer:
    return Explorer(transforms=(Scales(num_scales),), momentum=momentum, nesterov=True)


@_register("naa", "NAA (Zhang 2022): feature-level neuron-attribution loss on model.feature_layer", "num_steps+ensemble",
           f"{TA} advanced_objective/naa.py: weights = mean feature gradient of p_y at (i/30) x, i = 0..29; "
           "loss sum((f(x') - f(0)) * w) descended by raw sign steps (no momentum)",
           objective="prob", direction="descend")
def _naa(momentum: float | None = None, ensemble: int = 30) -> Explorer:
    return Explorer(rule="naa", momentum=momentum, ensemble=ensemble)


@_register("ssa", "SSA (Long 2022) as in AttEXplore: spectrum copies + DI + TI + momentum", "num_steps*N",
           "LMBTough/ATTEXPLORE saliency/core/ampe.py FGSMGradSSA: N=20 spectrum copies (sigma 16/255, rho 0.5), "
           "DI (bilinear, [224, 257), pad 257, p 0.5), TI 7x7, MI; cross-entropy over softmax(softmax(logits)) DESCENDED",
           objective="ce_prob2", direction="descend")
def _ssa(N: int = 20, rho: float = 0.5, sigma: float = 16 / 255, momentum: float | None = 1.0, di_prob: float = 0.5,
         di_ratio: float = 1.15, ti_size: int = 7) -> Explorer:
    return Explorer(transforms=(Spectrum(N, sigma, rho),), diversity=Diversity(di_prob, di_ratio), ti_size=ti_size, momentum=momentum)


@_register("mig", "MIG (Ma 2023): momentum over integrated gradients from a zero baseline", "num_steps*scales",
           f"{TA} gradient/mig.py: 20 scaled copies (i/20)(x+delta), gradient w.r.t. delta (factor i/20) times (x+delta), "
           "loss = softmax probability of y descended, decay 1", objective="prob", direction="descend")
def _mig(momentum: float | None = 1.0, scales: int = 20) -> Explorer:
    return Explorer(transforms=(IntegratedScales(scales),), rule="mig", momentum=momentum)


@_register("gra", "GRA (Zhu 2023): cosine-weighted neighbourhood gradient, momentum, decay indicator", "num_steps*(neighbors+1)",
           f"{TA} gradient/gra.py: 20 neighbours U[-beta*eps, beta*eps], beta 3.5, s = cos(g, mean neighbour g), "
           "decay 1, indicator M (eta 0.94) multiplies the step")
def _gra(momentum: float | None = 1.0, beta: float = 3.5, neighbors: int = 20, eta: float = 0.94, apply_indicator: bool = True,
         epsilon: float = 16 / 255) -> Explorer:
    return Explorer(transforms=(Neighbours(neighbors, beta * epsilon),), rule="gra", momentum=momentum, eta=eta, apply_indicator=apply_indicator)


def explorer_for(name: str, params: dict[str, Any]) -> tuple[Explorer, dict[str, Any]]:
    """Build the named attack's explorer; return it with the full parameter dict (its defaults filled in)."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known attacks: {', '.join(ATTACKS)}")
    info = ATTACKS[name]
    unknown = sorted(set(params) - set(info.defaults))
    if unknown:
        raise ValueError(f"attack {name!r} does not take parameter(s) {', '.join(unknown)}; it takes: {', '.join(sorted(info.defaults))}")
    check_param_types(f"attack {name!r}", {**hints_from_defaults(info.defaults), **typing.get_type_hints(info.build)}, params)
    full = {**info.defaults, **params}
    _check_params(full)
    own = inspect.signature(info.build).parameters
    return info.build(**{k: full[k] for k in own}), full


def _check_params(p: dict[str, Any]) -> None:
    require(p["epsilon"] >= 0, f"epsilon must be >= 0, got {p['epsilon']}")
    require(int(p["num_steps"]) == p["num_steps"] and p["num_steps"] >= 1, f"num_steps must be an integer >= 1, got {p['num_steps']}")
    require(p["alpha"] is None or p["alpha"] > 0, f"alpha must be > 0 (or None for epsilon/num_steps), got {p['alpha']}")
    require(p["objective"] in LOGIT_OBJECTIVES, f"objective must be one of {list(LOGIT_OBJECTIVES)}, got {p['objective']!r}")
    require(p["direction"] in DIRECTIONS, f"direction must be one of {DIRECTIONS}, got {p['direction']!r}")
    for key in ("N", "num_scales", "scales", "neighbors", "ensemble"):
        if key in p:
            require(int(p[key]) == p[key] and p[key] >= 1, f"{key} must be an integer >= 1, got {p[key]}")
    for key in ("di_prob", "rho"):
        if key in p:
            require(0 <= p[key] <= 1, f"{key} must lie in [0, 1], got {p[key]}")
    for key in ("sigma", "beta"):
        if key in p:
            require(p[key] >= 0, f"{key} must be >= 0, got {p[key]}")
    if p.get("momentum") is not None:
        require(p["momentum"] >= 0, f"momentum must be >= 0 (or None for raw gradients), got {p['momentum']}")
    if "ti_size" in p:
        require(p["ti_size"] <= 1 or p["ti_size"] % 2 == 1, f"ti_size must be odd (or 0/1 for off), got {p['ti_size']}")
    if "eta" in p:
        require(0 < p["eta"] <= 1, f"eta must lie in (0, 1], got {p['eta']}")


def path_sign(direction: str) -> float:
    """Integrator sign of a path that ascends (+1) or descends (-1) its objective: positive weight either way."""
    require(direction in DIRECTIONS, f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return 1.0 if direction == "ascend" else -1.0


# --- gradients of one step ------------------------------------------------------------------------


def copy_gradients(model: nn.Module, x: Tensor, target: Tensor, objective: Objective, explorer: Explorer, rng: ImageRandom) -> Tensor:
    """Gradients (K, B, C, H, W) w.r.t. the last leaf copies of x, averaged over later copies.

    The transforms run with autograd; every transformed sample goes through
    :func:`input_gradients` together (one call per output size); the transform part is then
    back-propagated as a vector-Jacobian product (cheap, no model involved).
    """
    batch = x.shape[0]
    with torch.enable_grad():
        leaf = z = x.detach().requires_grad_(True)
        for transform in explorer.transforms:
            if transform.leaf:  # differentiated w.r.t. its output: nothing to record
                with torch.no_grad():
                    z = transform(z, rng)
                leaf = z = z.requires_grad_(True)
            else:
                z = transform(z, rng)
        fixed = bool(getattr(model, "fixed_size", False))
        groups = explorer.diversity.groups(z, batch, rng, fixed) if explorer.diversity else [(z, None)]
        outs = [out for out, _ in groups]
        grads = [input_gradients(model, out.detach(), target.repeat(z.shape[0] // batch) if index is None else target[index % batch],
                                 objective)[0] for out, index in groups]
        grad = grads[0] if outs[0] is leaf else torch.autograd.grad(outs, leaf, grads)[0]
    later = z.shape[0] // leaf.shape[0]
    return grad.view(-1, *x.shape) / later


def _naa_objective(model: nn.Module, x: Tensor, target: Tensor, objective: Objective, ensemble: int) -> Objective:
    """NAA's feature loss sum((f(x') - f(0)) * w), w = mean feature-gradient of the objective on k/E * x."""
    layer = model.layer(model.feature_layer)
    store: dict[str, Any] = {"grads": []}

    def keep(module: nn.Module, inputs: Any, out: Tensor) -> None:
        store["feat"] = out
        if store.get("tap") and out.requires_grad:
            out.register_hook(lambda g: store["grads"].append(g.detach()))

    handle = layer.register_forward_hook(keep)
    try:
        store["tap"] = True
        scales = torch.arange(ensemble, device=x.device, dtype=x.dtype) / ensemble
        input_gradients(model, (scales.view(-1, 1, 1, 1, 1) * x[None]).flatten(0, 1), target.repeat(ensemble), objective)
        weights = torch.cat(store["grads"]).view(ensemble, x.shape[0], *store["feat"].shape[1:]).mean(0)
        store["tap"] = False
        with torch.no_grad():
            model(torch.zeros_like(x[:1]))
        base = store["feat"].detach()
    except BaseException:
        handle.remove()
        raise

    def feature_loss(logits: Tensor, index: Tensor) -> Tensor:
        return ((store["feat"] - base) * weights[index]).flatten(1).sum(1)

    feature_loss.handle = handle  # type: ignore[attr-defined]
    return feature_loss


def step_gradient(model: nn.Module, x: Tensor, target: Tensor, objective: Objective, explorer: Explorer, rng: ImageRandom) -> Tensor:
    """The attack's gradient g_t at x by its rule: plain mean, MIG's x * mean, GRA's cosine mix."""
    grads = copy_gradients(model, x, target, objective, explorer, rng)
    if explorer.rule == "mig":
        return x * grads.mean(0)
    if explorer.rule == "gra":
        g, sam = grads[0], grads[1:].mean(0)
        cos = torch.nn.functional.cosine_similarity(g.flatten(1), sam.flatten(1), dim=1).view(-1, 1, 1, 1)
        return cos * g + (1 - cos) * sam
    return grads.mean(0)


# --- the one trajectory generator ------------------------------------------------------------------


def trajectory(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    attack: str | Explorer = "ssa",
    **params: Any,
) -> Iterator[Segment]:
    """Yield Segment(x_t, x_{t+1}, G_t) of the attack path from x (the gradient G_t chose the step).

    Keywords are the attack's parameters (see ``ATTACKS[name].defaults``), its published values unless
    given: ``objective`` (a name in :data:`~attx_core.engine.LOGIT_OBJECTIVES`), ``direction`` (ascend or
    descend it), ``accumulate`` (True reproduces old reference code that never zeroed the input
    gradient, so each step uses the running sum of all gradients so far). Randomness is per image
    (:class:`~attx_core.seeding.ImageRandom`). An :class:`Explorer` may be passed directly; then only
    the common parameters apply.
    """
    if isinstance(attack, Explorer):
        explorer, p = attack, {**COMMON, **params}
        _check_params(p)
    else:
        explorer, p = explorer_for(attack, params)
    side = max(x.shape[-2:])
    require(explorer.ti_size <= 2 * side + 1, f"ti_size={explorer.ti_size} is wider than twice the images ({side} pixels): "
            f"the smoothing kernel would cover every image whole and cost ~{3 * explorer.ti_size**2 * 4 / 2**30:.3g} GiB; "
            f"use at most {2 * side + 1}")
    objective = named_objective(p["objective"])
    eps, steps = float(p["epsilon"]), int(p["num_steps"])
    alpha = eps / steps if p["alpha"] is None else float(p["alpha"])
    sgn = path_sign(p["direction"])
    x0 = x.detach()
    rng = ImageRandom(x0, int(p["seed"]))
    lower, upper = (x0 - eps).clamp(0, 1), (x0 + eps).clamp(0, 1)
    rule_target = target
    if explorer.rule == "naa":
        objective = _naa_objective(model, x0, target, objective, explorer.ensemble)
        rule_target = torch.arange(x0.shape[0], device=x0.device)
    cur = x0
    if explorer.random_start:
        cur = torch.maximum(torch.minimum(x0 + (2 * rng.rand(*x0.shape[1:]) - 1) * eps, upper), lower)
    start, momentum, acc = x0, torch.zeros_like(x0), torch.zeros_like(x0)
    indicator = torch.full_like(x0, 1 / explorer.eta) if explorer.eta else None
    try:
        for _ in range(steps):
            probe = cur + sgn * alpha * (explorer.momentum or 0.0) * momentum if explorer.nesterov else cur
            g = step_gradient(model, probe, rule_target, objective, explorer, rng)
            if p["accumulate"]:
                acc = acc + g
                g = acc
            g = smooth(g, explorer.ti_size)
            if explorer.momentum is None:
                new = g
            else:
                norm = g.abs().mean(dim=(1, 2, 3), keepdim=True).clamp_min(torch.finfo(g.dtype).tiny)
                new = explorer.momentum * momentum + g / norm
            step = alpha * (new.sign() if p["use_sign"] else new)
            if indicator is not None:
                indicator = indicator * torch.where(new.sign() == momentum.sign(), 1.0, explorer.eta)
                if explorer.apply_indicator:
                    step = indicator * step
            momentum = new
            nxt = torch.maximum(torch.minimum(cur + sgn * step, upper), lower)
            yield Segment(start, nxt, new)
            start = cur = nxt
    finally:
        if explorer.rule == "naa":
            objective.handle.remove()  # type: ignore[attr-defined]


def adversarial_direction(objective: str) -> str:
    """The direction that lowers confidence in the target: ascend a cross-entropy, descend a score."""
    return "ascend" if objective.startswith("ce") else "descend"


def attack(model: nn.Module, x: Tensor, target: Tensor | int | list[int], name: str = "pgd", **params: Any) -> Tensor:
    """Adversarial examples of x by the named attack: the last point of its trajectory.

    Always moves against ``target`` (the attack's objective ascended if it is a cross-entropy,
    descended if it is a score), inside the Linf ``epsilon`` ball around x and [0, 1], whatever
    direction the attack explores in as an AttEXplore explorer. Unknown names/params raise ValueError.

    Example::

        >>> x_adv = attack(model, x, y, "pgd", epsilon=8/255, num_steps=10)
    """
    check_images(x)
    target = check_target(target, x.shape[0], getattr(model, "num_classes", None)).to(x.device)
    require(name in ATTACKS, f"unknown attack {name!r}; known attacks: {', '.join(ATTACKS)}")
    require("direction" not in params, "attack() always moves against the target; use trajectory() to choose a direction")
    objective = params.get("objective", ATTACKS[name].defaults["objective"])
    last = x.detach()
    for seg in trajectory(model, x, target, name, direction=adversarial_direction(str(objective)), **params):
        last = seg.end
    return last
