"""attx_core.metrics: insertion/deletion (reference semantics), INFD vs Captum, agreement measures vs scipy."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch import Tensor, nn

from attx_core.metrics import (
    auc,
    cascading_randomization,
    infidelity,
    infidelity_perturbation,
    insertion_deletion,
    kendall_tau,
    mean_ci,
    num_points,
    randomizable_layers,
    spearman,
    topk_intersection,
)
from attx_core.metrics.insertion_deletion import pixel_keys


class LinearLogits(nn.Module):
    """Two classes with logits (-w.x, w.x): the true importance of every entry is known."""

    def __init__(self, weight: Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight[None], requires_grad=False)
        self.num_classes = 2
        self.inputs: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        self.inputs.append(x.clone())
        score = (x * self.weight).flatten(1).sum(1)
        return torch.stack([-score, score], dim=1)


def _linear_setup(size: int = 8, batch: int = 3):
    g = torch.Generator().manual_seed(1)
    weight = torch.rand(3, size, size, generator=g) * 6 / (3 * size * size)
    x = torch.rand(batch, 3, size, size, generator=g)
    return LinearLogits(weight), x, weight * x, torch.randn(batch, 3, size, size, generator=g)


@pytest.mark.parametrize("order", ["reference", "pixel"])
def test_true_importance_beats_random_and_reversed(order):
    model, x, true_map, random_map = _linear_setup()
    good = insertion_deletion(model, x, true_map, step=4, order=order)
    rand = insertion_deletion(model, x, random_map, step=4, order=order)
    bad = insertion_deletion(model, x, -true_map, step=4, order=order)
    assert (good.target == 1).all()
    assert (good.insertion > rand.insertion).all() and (good.deletion < rand.deletion).all()
    assert (bad.insertion < rand.insertion).all() and (bad.deletion > rand.deletion).all()
    # deletion starts at the clean image and insertion ends there
    assert torch.allclose(good.deletion_curve[:, 0], good.insertion_curve[:, -1])


def _reference_runs(x: np.ndarray, explanation: np.ndarray, step: int) -> tuple[list, list]:
    """The published CausalMetric loop (zeros substrate), literally: every image it scores, per mode."""
    c, h, w = x.shape
    hw = h * w
    n_steps = (hw + step - 1) // step
    salient_order = np.flip(np.argsort(explanation.reshape(-1, hw), axis=1, kind="stable"), axis=-1)
    runs = []
    for start, finish in ((np.zeros_like(x), x.copy()), (x.copy(), np.zeros_like(x))):
        seen = []
        for i in range(n_steps + 1):
            seen.append(start.copy())
            if i < n_steps:
                coords = salient_order[:, step * i : step * (i + 1)]
                start.reshape(1, 3, hw)[0, :, coords] = finish.reshape(1, 3, hw)[0, :, coords]
        runs.append(seen)
    return runs[0], runs[1]


def test_reference_order_hand_example():
    # channel rankings of pixels 0..3: [0,1,2,3], [3,2,1,0], [1,3,0,2] -> step 0 moves {0,3,1} in every channel
    explanation = torch.tensor([[4.0, 3, 2, 1], [1, 2, 3, 4], [2, 4, 1, 3]]).view(1, 3, 2, 2)
    assert pixel_keys(explanation, "reference").tolist() == [[0, 0, 1, 0]]
    model, _, _, _ = _linear_setup(size=2, batch=1)
    x = torch.arange(1, 13, dtype=torch.float32).view(1, 3, 2, 2) / 12
    insertion_deletion(model, x, explanation, step=1, batch_size=100)
    inserted_once = model.inputs[-1][1]  # insertion, point 1
    expected = x[0].clone()
    expected[:, 1, 0] = 0  # pixel 2 (row 1, col 0) not yet inserted in any channel
    assert torch.equal(inserted_once, expected)


@pytest.mark.parametrize("step", [1, 2, 4])
def test_reference_order_matches_published_loop(step):
    g = torch.Generator().manual_seed(step)
    x = torch.rand(1, 3, 3, 3, generator=g)
    explanation = torch.randn(1, 3, 3, 3, generator=g)
    model, _, _, _ = _linear_setup(size=3, batch=1)
    res = insertion_deletion(model, x, explanation, step=step, batch_size=1000)
    ours = model.inputs[-1].numpy()
    ins, dele = _reference_runs(x[0].numpy(), explanation[0].numpy(), step)
    assert res.insertion_curve.shape == (1, len(ins))
    np.testing.assert_array_equal(ours, np.stack(ins + dele))


def test_pixel_order_moves_step_pixels_in_all_channels():
    model, x, true_map, _ = _linear_setup(size=4, batch=1)
    insertion_deletion(model, x, true_map, step=3, order="pixel", batch_size=1000)
    inputs = model.inputs[-1]
    revealed = (inputs[:5] != 0).any(dim=1).flatten(1).sum(1)  # insertion points 0..4
    assert revealed.tolist() == [0, 3, 6, 9, 12]
    first = true_map.sum(1).flatten().topk(3).indices
    assert torch.equal((inputs[1] != 0).all(dim=0).flatten().nonzero()[:, 0].sort().values, first.sort().values)


def test_auc_and_number_of_points():
    assert auc(torch.tensor([0.0, 1.0, 1.0])).item() == pytest.approx(0.75)
    assert auc(torch.tensor([[1.0, 1.0], [0.0, 1.0]])).tolist() == [1.0, 0.5]
    assert num_points(224 * 224, 224) == 225 and num_points(10, 3) == 5
    model, x, true_map, _ = _linear_setup(size=5, batch=2)
    res = insertion_deletion(model, x, true_map, step=7)
    assert res.insertion_curve.shape == (2, 5) and res.deletion_curve.shape == (2, 5)
    assert torch.allclose(res.insertion, auc(res.insertion_curve))


def test_blur_substrate_and_explicit_target():
    model, x, true_map, _ = _linear_setup(size=16, batch=1)
    res = insertion_deletion(model, x, true_map, target=0, step=64, substrate="blur", batch_size=1000)
    assert res.target.tolist() == [0]
    start = model.inputs[-1][0]
    assert start.abs().sum() > 0 and not torch.allclose(start, x[0])  # blurred, not black, not the image


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"order": "channel"}, "order"),
        ({"substrate": "noise"}, "substrate"),
        ({"step": 0}, "step"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_insertion_deletion_bad_parameters(kwargs, message):
    model, x, true_map, _ = _linear_setup(size=4, batch=1)
    with pytest.raises(ValueError, match=message):
        insertion_deletion(model, x, true_map, **kwargs)


def test_insertion_deletion_bad_maps():
    model, x, true_map, _ = _linear_setup(size=4, batch=1)
    with pytest.raises(ValueError, match="shape"):
        insertion_deletion(model, x, true_map[:, :1])
    nan_map = true_map.clone()
    nan_map[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        insertion_deletion(model, x, nan_map)


def test_infidelity_equals_captum(tiny_model, tiny_images):
    from captum.metrics import infidelity as captum_infidelity

    x, target = tiny_images
    attr = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    n = 6
    ours = infidelity(tiny_model, x, attr, target, n_perturbations=n, seed=11, batch_size=4)
    g = torch.Generator().manual_seed(11)
    draws = [infidelity_perturbation(x, g) for _ in range(n)]  # draw j perturbs every image
    perturbations = torch.stack([d[0] for d in draws], dim=1).flatten(0, 1)  # captum: image-major
    perturbed = torch.stack([d[1] for d in draws], dim=1).flatten(0, 1)

    def perturb(inputs):
        assert torch.equal(inputs, x.repeat_interleave(n, dim=0))
        return perturbations, perturbed

    theirs = captum_infidelity(tiny_model, perturb, x, attr, target=target, n_perturb_samples=n, normalize=True)
    assert torch.allclose(ours, theirs.float(), rtol=1e-4, atol=1e-7)


def test_infidelity_perturbation_protocol(tiny_images):
    x, _ = tiny_images
    perturbation, perturbed = infidelity_perturbation(x, torch.Generator().manual_seed(0))
    assert ((perturbation != 0).flatten(1).sum(1) <= 32 * 32).all()
    assert torch.equal(perturbed, x - perturbation)
    assert (perturbed >= -1e-6).all() and (perturbed <= 1 + 1e-6).all()  # I in [x-1, x]


def test_infidelity_zero_for_exact_linear_explanation():
    model, x, _, random_map = _linear_setup(size=4, batch=2)
    weight_map = model.weight.expand_as(x)  # diff = w . I exactly
    exact = infidelity(model, x, weight_map, 1, n_perturbations=8)
    assert (exact < 1e-8).all() and (infidelity(model, x, random_map, 1, n_perturbations=8) > 1e-4).all()


def _maps(seed: int, shape, ties: bool):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(shape, generator=g)
    b = a + torch.randn(shape, generator=g)
    return (a.round(), b.round()) if ties else (a, b)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("shape", [(3, 3, 7, 9), (2, 1, 28, 28)])
def test_rank_measures_match_scipy(shape, ties):
    a, b = _maps(len(shape) + shape[1], shape, ties)
    sa, sb = a.abs().sum(1).flatten(1).numpy(), b.abs().sum(1).flatten(1).numpy()
    tau, rho = kendall_tau(a, b), spearman(a, b)
    for i in range(shape[0]):
        assert tau[i].item() == pytest.approx(stats.kendalltau(sa[i], sb[i]).statistic, abs=1e-12)
        assert rho[i].item() == pytest.approx(stats.spearmanr(sa[i], sb[i]).statistic, abs=1e-12)
    k = 20
    inter = topk_intersection(a, b, k)
    for i in range(shape[0]):
        top_a = set(np.argsort(-sa[i], kind="stable")[:k]) if not ties else set(torch.topk(torch.from_numpy(sa[i]), k).indices.tolist())
        top_b = set(np.argsort(-sb[i], kind="stable")[:k]) if not ties else set(torch.topk(torch.from_numpy(sb[i]), k).indices.tolist())
        assert inter[i].item() == pytest.approx(len(top_a & top_b) / k)


def test_rank_measures_identity_and_errors():
    a, _ = _maps(0, (1, 3, 224, 224), False)
    assert torch.allclose(kendall_tau(a, a), torch.ones(1, dtype=torch.float64))
    assert torch.allclose(spearman(a, -a), torch.ones(1, dtype=torch.float64))  # absolute maps
    assert topk_intersection(a, a * 2, 1000).tolist() == [1.0]
    with pytest.raises(ValueError, match="same shape"):
        kendall_tau(a, a[:, :1])
    with pytest.raises(ValueError, match="k must"):
        topk_intersection(a, a, 0)


def test_cascading_randomization(tiny_model, tiny_images):
    x, target = tiny_images
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    methods = {"saliency": "saliency", "gradient": ("saliency", {"abs": False}), "input": lambda m, x, t: x.clone()}
    df = cascading_randomization(tiny_model, x, target, methods, seed=0)
    layers = randomizable_layers(tiny_model)
    assert layers[0] == "net.fc" and list(df.layer.unique()) == ["original", *layers]
    assert len(df) == (1 + len(layers)) * len(methods) * x.shape[0]
    assert np.allclose(df[df.stage == 0].spearman, 1.0)
    last = df[df.stage == len(layers)].groupby("method").spearman.mean()
    assert last["saliency"] < 0.9 and last["input"] == pytest.approx(1.0)  # model-independent map fails the check
    assert all(torch.equal(before[k], v) for k, v in tiny_model.state_dict().items())
    again = cascading_randomization(tiny_model, x, target, {"saliency": "saliency"}, seed=0)
    assert np.allclose(again.spearman, df[df.method == "saliency"].spearman)


def test_a_constant_randomised_map_has_an_undefined_correlation(tiny_model, tiny_images):
    """A map that goes constant once the model is randomised (as every map does once a network's output no
    longer depends on its input) gets NaN, not a number that would pass or fail the check."""
    x, target = tiny_images
    calls = []

    def flat(m, x, t):  # the trained model's map, then constant maps
        calls.append(1)
        return x.clone() if len(calls) == 1 else torch.zeros_like(x)

    df = cascading_randomization(tiny_model, x, target, {"flat": flat}, seed=0, layers=["net.fc"])
    assert np.allclose(df[df.stage == 0].spearman, 1.0) and df[df.stage == 1].spearman.isna().all()


def test_mean_ci():
    mean, lo, hi = mean_ci([1.0, 2.0, 3.0, 4.0], n_boot=500)
    assert mean == 2.5 and lo < mean < hi and 1.0 <= lo and hi <= 4.0
    assert mean_ci(torch.full((5,), 0.3)) == pytest.approx((0.3, 0.3, 0.3))
    with pytest.raises(ValueError, match="alpha"):
        mean_ci([1.0, 2.0], alpha=1.5)


def test_coarser_auc_equals_the_coarser_step(tiny_model):
    """Every factor-th point of a 64-px/step curve is the 64*factor-px/step curve (32x32 images)."""
    from attx_core.metrics import coarser_auc

    g = torch.Generator().manual_seed(5)
    x, maps = torch.rand(2, 3, 32, 32, generator=g), torch.randn(2, 3, 32, 32, generator=g)
    fine = insertion_deletion(tiny_model, x, maps, step=64)
    for factor in (2, 4, 8):
        coarse = insertion_deletion(tiny_model, x, maps, step=64 * factor)
        torch.testing.assert_close(coarser_auc(fine.insertion_curve, factor), coarse.insertion)
        torch.testing.assert_close(coarser_auc(fine.deletion_curve, factor), coarse.deletion)
    with pytest.raises(ValueError, match="factor must divide"):
        coarser_auc(fine.insertion_curve, 3)
