"""Attacks as trajectory generators: effect, constraints, rules (MIG, GRA, SINI), errors."""
from __future__ import annotations

import pytest
import torch
from _tiny_task import make_data, trained_model

from attx_core import ATTACKS, attack
from attx_core.attacks import Explorer, step_gradient, trajectory
from attx_core.engine import class_score
from attx_core.seeding import ImageRandom
from attx_core.transforms import IntegratedScales, dct2, idct2

EPS = 16 / 255


@pytest.fixture(scope="module")
def task():
    x, y = make_data(6, 1)
    return trained_model(), x, y


def true_prob(model, x, y):
    return model(x).softmax(1).gather(1, y[:, None])[:, 0]


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_lowers_true_prob_inside_ball(task, name):
    model, x, y = task
    x_adv = attack(model, x, y, name)
    assert (x_adv - x).abs().max() <= EPS + 1e-6
    assert x_adv.min() >= 0 and x_adv.max() <= 1
    assert (true_prob(model, x_adv, y) < true_prob(model, x, y)).all()


def test_every_attack_named_in_the_brief_is_registered():
    assert set(ATTACKS) == {"fgsm", "bim", "pgd", "mifgsm", "difgsm", "tifgsm", "sinifgsm", "naa", "ssa", "mig", "gra"}


def test_attack_epsilon_zero_returns_input(task):
    model, x, y = task
    assert torch.equal(attack(model, x, y, "pgd", epsilon=0.0), x)


def test_dct_is_orthonormal_and_invertible():
    z = torch.rand(2, 3, 8, 8, dtype=torch.float64)
    assert torch.allclose(idct2(dct2(z)), z, atol=1e-12)
    assert torch.allclose(dct2(z).square().sum(), z.square().sum())


def test_mig_step_gradient_is_integrated_gradient_from_zero(task):
    """TransferAttack differentiates w.r.t. the perturbation: copy i's gradient carries its factor i/20."""
    model, x, y = task
    objective = class_score("prob")
    got = step_gradient(model, x, y, objective, Explorer(transforms=(IntegratedScales(20),), rule="mig"), ImageRandom(x, 0))
    total = torch.zeros_like(x)
    for i in range(1, 21):
        xi = (i / 20 * x).requires_grad_(True)
        (g,) = torch.autograd.grad(objective(model(xi), y).sum(), xi)
        total += i / 20 * g
    assert torch.allclose(got, x * total / 20, rtol=1e-4, atol=1e-7)


def _second_step(model, x, y, apply_indicator):
    segs = list(trajectory(model, x, y, "gra", epsilon=1.0, num_steps=2, alpha=1.6 / 255, apply_indicator=apply_indicator))
    return (segs[1].end - segs[1].start).abs(), segs


def test_gra_applies_decay_indicator_and_bug_flag_does_not(task):
    model, x, y = task
    alpha, eta = 1.6 / 255, 0.94
    step, segs = _second_step(model, x, y, True)
    flipped = segs[1].grad.sign() != segs[0].grad.sign()
    assert flipped.any()
    assert torch.allclose(step[flipped], torch.full_like(step[flipped], alpha * eta), atol=1e-6)
    assert torch.allclose(step[~flipped], torch.full_like(step[~flipped], alpha), atol=1e-6)
    bug_step, _ = _second_step(model, x, y, False)
    assert torch.allclose(bug_step, torch.full_like(bug_step, alpha), atol=1e-6)


def test_sinifgsm_evaluates_five_scales_per_step(task):
    model, x, y = task
    seen = []
    handle = model.register_forward_hook(lambda m, i, o: seen.append(i[0]))
    try:
        attack(model, x, y, "sinifgsm", num_steps=1)
    finally:
        handle.remove()
    batch = torch.cat(seen)
    assert batch.shape[0] == 5 * x.shape[0]
    ratios = batch.view(5, *x.shape).flatten(1).norm(dim=1) / batch.view(5, *x.shape)[0].flatten().norm()
    assert torch.allclose(ratios, 0.5 ** torch.arange(5.0), rtol=1e-5)


def test_trajectory_does_not_compute_a_final_gradient(task):
    model, x, y = task
    calls = []
    handle = model.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    try:
        segs = list(trajectory(model, x, y, "bim", num_steps=3))
    finally:
        handle.remove()
    assert len(segs) == 3 and sum(calls) == 3 * x.shape[0]


def test_pgd_path_starts_at_clean_input(task):
    model, x, y = task
    segs = list(trajectory(model, x, y, "pgd", num_steps=2))
    assert torch.equal(segs[0].start, x) and torch.equal(segs[1].start, segs[0].end)


def test_seeded_attack_is_deterministic(task):
    model, x, y = task
    assert torch.equal(attack(model, x, y, "ssa", N=2, seed=1), attack(model, x, y, "ssa", N=2, seed=1))


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("nope", {}, "unknown attack"),
        ("pgd", {"N": 3}, "does not take"),
        ("ssa", {"N": 0}, "N must be"),
        ("pgd", {"epsilon": -0.1}, "epsilon must be"),
        ("difgsm", {"di_prob": 1.5}, "di_prob"),
        ("tifgsm", {"ti_size": 4}, "ti_size"),
        ("pgd", {"objective": "hinge"}, "objective must be"),
        ("pgd", {"direction": "ascend"}, "always moves against"),
    ],
)
def test_bad_attack_arguments_raise_value_error(task, name, params, match):
    model, x, y = task
    with pytest.raises(ValueError, match=match):
        attack(model, x, y, name, **params)


def test_direction_is_validated(task):
    model, x, y = task
    with pytest.raises(ValueError, match="direction"):
        next(trajectory(model, x, y, "bim", direction="up"))
