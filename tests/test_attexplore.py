"""AttEXplore / AttEXplore++ as one code path over the attack trajectory; MFABA and AGI."""
from __future__ import annotations

import pytest
import torch
from _tiny_task import make_data, trained_model

from attx_core import ATTACKS, METHODS, attribute
from attx_core.attacks import trajectory
from attx_core.engine import integrate
from attx_core.methods.agi import adversarial_classes
from attx_core.methods.registry import method_passes

TINY = dict(num_steps=2, N=3)


@pytest.fixture(scope="module")
def task():
    x, y = make_data(3, 2)
    return trained_model(), x, y


def test_attexplore_is_the_ssa_trajectory_integrated(task):
    model, x, y = task
    got = attribute(model, x, y, method="attexplore", **TINY)
    path = trajectory(model, x, y, "ssa", **TINY)
    assert torch.equal(got, integrate(path, sign=-1.0))
    assert torch.equal(got, attribute(model, x, y, method="attexplore", attack="ssa", **TINY))


def test_seeds(task):
    model, x, y = task
    a = attribute(model, x, y, method="attexplore", seed=5, **TINY)
    assert torch.equal(a, attribute(model, x, y, method="attexplore", seed=5, **TINY))
    assert not torch.equal(a, attribute(model, x, y, method="attexplore", seed=6, **TINY))


def test_deterministic_limit_equals_direct_computation(task):
    """N=1, sigma=0, rho=0, di_prob=0, no TI, momentum 0: G_t = g_t / mean|g_t| and, with no clip
    binding, A = -sum (x_{t+1}-x_t) G_t = alpha * sum |G_t|."""
    model, x, y = task
    model, x = model.double(), x.double()
    try:
        steps, eps = 2, 16 / 255
        params = dict(num_steps=steps, epsilon=eps, N=1, sigma=0.0, rho=0.0, di_prob=0.0, ti_size=1, momentum=0.0)
        got = attribute(model, x, y, method="attexplore", **params).double()
        alpha, xt, direct, abs_sum = eps / steps, x.clone(), torch.zeros_like(x), torch.zeros_like(x)
        for _ in range(steps):
            xr = xt.clone().requires_grad_(True)
            loss = torch.nn.functional.cross_entropy(model(xr).softmax(1).softmax(1), y, reduction="sum")  # three softmaxes
            (g,) = torch.autograd.grad(loss, xr)
            G = g / g.abs().mean(dim=(1, 2, 3), keepdim=True)
            nxt = xt - alpha * G.sign()
            direct -= (nxt - xt) * G
            abs_sum += G.abs()
            xt = nxt
        assert torch.allclose(got, direct.float().double(), rtol=1e-5, atol=1e-5)
        assert torch.allclose(got, (alpha * abs_sum).float().double(), rtol=1e-5, atol=1e-5)
    finally:
        model.float()


@pytest.mark.parametrize("name", [*sorted(ATTACKS), None])
def test_every_explorer_gives_a_finite_map(task, name):
    model, x, y = task
    small = {"naa": {"ensemble": 2}, "ssa": {"N": 3}, "mig": {"scales": 3}, "gra": {"neighbors": 2}, "sinifgsm": {"num_scales": 2}}
    a = attribute(model, x, y, method="attexplore", attack=name, attack_params=small.get(name), num_steps=2)
    assert a.shape == x.shape and torch.isfinite(a).all() and a.abs().sum() > 0


def test_presets_and_accumulation_change_the_map(task):
    model, x, y = task
    base = attribute(model, x, y, method="attexplore", **TINY)
    assert not torch.equal(base, attribute(model, x, y, method="attexplore", preset="paper", **TINY))
    old = attribute(model, x, y, method="attexplore", attack="mifgsm", accumulate=True, num_steps=3)
    fresh = attribute(model, x, y, method="attexplore", attack="mifgsm", num_steps=3)
    assert torch.isfinite(old).all() and not torch.allclose(old, fresh)
    t6 = attribute(model, x, y, method="attexplore", attack="mifgsm", preset="table6", num_steps=3)
    t6acc = attribute(model, x, y, method="attexplore", attack="mifgsm", preset="table6_accumulate", num_steps=3)
    assert not torch.allclose(t6, fresh) and not torch.allclose(t6, t6acc)


def test_explorers_keep_their_own_defaults(task):
    """FGSM is one step of eps (not AttEXplore's 10 steps): it differs from BIM; TI keeps its 15x15 kernel."""
    model, x, y = task
    fgsm = attribute(model, x, y, method="attexplore", attack="fgsm")
    bim = attribute(model, x, y, method="attexplore", attack="bim")
    assert not torch.allclose(fgsm, bim)
    assert method_passes("attexplore", {"attack": "fgsm"}) == 1 and method_passes("attexplore", {"attack": "bim"}) == 10
    seen = []
    handle = model.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[0]))
    try:
        attribute(model, x, y, method="attexplore", attack="fgsm")
    finally:
        handle.remove()
    assert sum(seen) == x.shape[0]  # one gradient per image
    ti15 = attribute(model, x, y, method="attexplore", attack="tifgsm", num_steps=1)
    ti7 = attribute(model, x, y, method="attexplore", attack="tifgsm", ti_size=7, num_steps=1)
    assert not torch.allclose(ti15, ti7)


@pytest.mark.parametrize("direction", ["descend", "ascend"])
def test_both_directions_weigh_the_path_features_positively(task, direction):
    """The integrator's sign follows the direction: with no clip binding, A = alpha * sum_t |G_t| >= 0."""
    model, x, y = task
    a = attribute(model, x, y, method="attexplore", direction=direction, epsilon=4 / 255, **TINY)
    assert (a >= 0).all() and a.sum() > 0


def test_an_images_map_does_not_depend_on_its_batch(task):
    model, x, y = task
    both = attribute(model, x, y, method="attexplore", **TINY)
    for i in range(x.shape[0]):
        alone = attribute(model, x[i : i + 1], y[i : i + 1], method="attexplore", **TINY)
        torch.testing.assert_close(alone[0], both[i], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"attack": "nope"}, "unknown attack"),
        ({"N": 0}, "N must be"),
        ({"epsilon": -1.0}, "epsilon must be"),
        ({"di_prob": 2.0}, "di_prob"),
        ({"rho": -0.1}, "rho"),
        ({"direction": "sideways"}, "direction"),
        ({"objective": "logits"}, "objective"),
        ({"preset": "nope"}, "preset"),
        ({"attack": "fgsm", "N": 5}, "does not take"),
        ({"momentum": 1.0, "attack_params": {"momentum": 0.0}}, "not both"),
        ({"attack_params": {"bogus": 1}}, "does not take"),
        ({"bogus": 1}, "does not take"),
    ],
)
def test_bad_parameters_raise_value_error(task, params, match):
    model, x, y = task
    with pytest.raises(ValueError, match=match):
        attribute(model, x, y, method="attexplore", **params)


def test_mfaba_stops_when_prediction_flips(task):
    model, x, y = task
    a = attribute(model, x, y, method="mfaba", num_steps=50)
    assert a.shape == x.shape and torch.isfinite(a).all() and (a >= 0).all() and a.abs().sum() > 0
    wrong = (y + 1) % 3  # already not predicted: the first step is taken, then the path stops (published)
    one = attribute(model, x, wrong, method="mfaba")
    assert (one >= 0).all() and (one.flatten(1).abs().sum(1) > 0).all()
    torch.testing.assert_close(one, attribute(model, x, wrong, method="mfaba", num_steps=1))


def test_agi_classes_skip_the_target_and_map_is_finite(task):
    model, x, y = task
    goals = adversarial_classes(torch.tensor([0, 1, 2]), 2, 3, 3407)
    assert goals.shape == (2, 3) and (goals != torch.tensor([0, 1, 2])).all()
    a = attribute(model, x, y, method="agi", num_classes=2, num_steps=3)
    assert a.shape == x.shape and torch.isfinite(a).all() and a.abs().sum() > 0


def test_registry_costs():
    assert method_passes("attexplore") == 200 and method_passes("attexplore", {"N": 5, "num_steps": 4}) == 20
    assert method_passes("attexplore", {"attack": "gra"}) == 210 and method_passes("attexplore", {"attack": None}) == 10
    assert ATTACKS["ssa"].defaults["epsilon"] == 16 / 255 and METHODS["attexplore"].defaults["seed"] == 3407
