"""Conformance: attx_core's AGI, BIG and MFABA (defaults and every registered option) against plain
re-implementations of the published code in tests/reference/ (which import nothing from attx_core).

Agreement: per image, max |ours - ref| <= 1e-4 * max |ref|, or (float summation order differs between
the batched code and the per-image loops) correlation >= 0.999. On the tiny 3-class task of
tests/_tiny_task.py (AGI with 2 adversarial classes there) and on EfficientNet-Lite0 with real photos,
including misclassified ones (sample photo 3: label 990, predicted 956).
"""
from __future__ import annotations

import random

import pytest
import torch
from _tiny_task import make_data, trained_model
from reference import agi as ref_agi
from reference import big as ref_big
from reference import mfaba as ref_mfaba

from attx_core import attribute, data
from attx_core.bench import count_passes
from attx_core.methods import METHODS
from attx_core.methods.agi import adversarial_classes
from attx_core.methods.big import BIG_L2_EPSILONS

CONFORMANCE = "tests/test_conformance_agi_big_mfaba.py"


def assert_conforms(ours: torch.Tensor, ref: torch.Tensor) -> None:
    assert ours.shape == ref.shape
    for i, (a, b) in enumerate(zip(ours.double(), ref.double())):
        scale = float(b.abs().max())
        assert scale > 0, f"image {i}: the reference map is zero"
        rel = float((a - b).abs().max()) / scale
        if rel <= 1e-4:
            continue
        corr = float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])
        assert corr >= 0.999, f"image {i}: relative difference {rel:.2e}, correlation {corr:.6f}"


@pytest.fixture(scope="module")
def task():
    x, y = make_data(3, 5)  # labels 2, 0, 1, all predicted correctly
    return trained_model(), x, y


WRONG = lambda y: (y + 1) % 3  # noqa: E731  targets the model does not predict

# --- AGI ----------------------------------------------------------------------------------------------

AGI_CONFIGS = [  # (attx params, reference params); tiny model: 3 classes, 2 adversarial classes
    ({"num_steps": 6}, {"max_iter": 6}),
    ({"num_steps": 6, "step": 0.12}, {"max_iter": 6, "epsilon": 0.12}),  # rows stop at different iterations
    ({"num_steps": 20, "path": "cumulative"}, {"max_iter": 20, "cumulative": True}),
    ({"num_steps": 6, "explain": "target"}, {"max_iter": 6, "explain": "target"}),
    ({"num_steps": 6, "class_choice": "spaced"}, {"max_iter": 6, "class_choice": "spaced"}),
]


@pytest.mark.parametrize("wrong", [False, True], ids=["label", "wrong-target"])
@pytest.mark.parametrize("ours,ref", AGI_CONFIGS, ids=[str(c[0]) for c in AGI_CONFIGS])
def test_agi_conforms_tiny(task, ours, ref, wrong):
    model, x, y = task
    t = WRONG(y) if wrong else y
    got = attribute(model, x, t, method="agi", num_classes=2, **ours)
    want = ref_agi.agi(model, x, t, topk=2, num_classes=3, **{"epsilon": 0.05, **ref})
    assert_conforms(got, want)


def test_agi_classes_are_the_published_sample():
    random.seed(3407)
    ids = random.sample(list(range(0, 999)), 20)  # saliency_zoo.agi
    label = torch.tensor([ids[0], ids[5], 998, 3])
    goals = adversarial_classes(label, 20, 1000, 3407)
    want = torch.tensor([[c + 1 if c == int(p) else c for p in label] for c in ids])
    assert torch.equal(goals, want)
    spaced = adversarial_classes(torch.tensor([50, 7]), 20, 1000, 3407, "spaced")  # AGI_main.py
    assert spaced[:, 1].tolist() == list(range(0, 999, 50)) and spaced[1, 0] == -1


def test_agi_stopped_rows_cost_nothing(task):
    model, x, y = task
    with count_passes(model) as log:
        attribute(model, x, y, method="agi", num_classes=2, num_steps=20, path="cumulative")
    assert log.samples(True) < 2 * 2 * 20 * x.shape[0]  # rows leave the batch once they reach their class


# --- MFABA --------------------------------------------------------------------------------------------

MFABA_CONFIGS = [
    {},
    {"alpha": 0.01},  # the prediction flips within the 50 steps
    {"alpha": 0.01, "accumulate": True},
    {"use_sign": False},
    {"softmaxes": 1},
    {"softmaxes": 0, "alpha": 0.01},
]


@pytest.mark.parametrize("wrong", [False, True], ids=["label", "wrong-target"])
@pytest.mark.parametrize("params", MFABA_CONFIGS, ids=[str(c) for c in MFABA_CONFIGS])
def test_mfaba_conforms_tiny(task, params, wrong):
    model, x, y = task
    t = WRONG(y) if wrong else y
    assert_conforms(attribute(model, x, t, method="mfaba", **params), ref_mfaba.mfaba(model, x, t, **params))


def test_mfaba_misclassified_image_gets_a_nonzero_one_step_map(task):
    model, x, y = task
    with count_passes(model) as log:
        a = attribute(model, x, WRONG(y), method="mfaba")
    assert (a.flatten(1).abs().sum(1) > 0).all()
    assert log.samples(True) == 2 * x.shape[0]  # the first step, then the forward that finds the flip
    assert (a >= 0).all()  # -(x1 - x0) * g0 = alpha * |g0| where no clip binds


# --- BIG ----------------------------------------------------------------------------------------------

BIG_CONFIGS = [
    {"num_steps": 5, "steps": 8},
    {"num_steps": 5, "steps": 8, "accumulate": True},
    {"epsilons": (0.02, 0.1, 0.2, 0.3), "num_steps": 5, "steps": 8},  # images flip at different radii
    {"norm": "l2", "epsilons": BIG_L2_EPSILONS, "num_steps": 40, "search_output": "logit", "output": "logit", "steps": 8},
    {"norm": "l2", "epsilons": (0.5, 2.0, 4.0), "num_steps": 10, "search_output": "logit", "output": "logit", "steps": 8},
    {"num_steps": 5, "steps": 8, "rule": "trapezoid"},
]


@pytest.mark.parametrize("params", BIG_CONFIGS, ids=[str(c) for c in BIG_CONFIGS])
def test_big_conforms_tiny(task, params):
    model, x, y = task
    ref = dict(params)
    ref["gradient_steps"] = ref.pop("steps")
    assert_conforms(attribute(model, x, y, method="big", **params), ref_big.big(model, x, y, **ref))


def test_reference_ig_is_captums(task):
    captum = pytest.importorskip("captum.attr")
    model, x, y = task
    base = x.flip(0)
    want = captum.IntegratedGradients(lambda z: model(z).softmax(1)).attribute(x, baselines=base, target=y, n_steps=9, method="riemann_trapezoid")
    torch.testing.assert_close(ref_big.captum_ig(model, x, base, y, 9), want, rtol=1e-4, atol=1e-7)


# --- every method: batch independence, registry card ---------------------------------------------------

SMALL = {"agi": {"num_classes": 2, "num_steps": 6, "step": 0.12}, "mfaba": {"alpha": 0.01},
         "big": {"epsilons": (0.02, 0.1, 0.3), "num_steps": 5, "steps": 8}}


@pytest.mark.parametrize("method", sorted(SMALL))
def test_map_does_not_depend_on_the_batch(task, method):
    model, x, y = task
    t = torch.tensor([y[0], WRONG(y)[1], y[2]])
    batch = attribute(model, x, t, method=method, **SMALL[method])
    alone = attribute(model, x[1:2], t[1:2], method=method, **SMALL[method])
    torch.testing.assert_close(alone[0], batch[1], rtol=0, atol=1e-6)


CONFIGS = {"agi": [c[0] for c in AGI_CONFIGS], "mfaba": MFABA_CONFIGS, "big": BIG_CONFIGS}


@pytest.mark.parametrize("method", sorted(CONFIGS))
def test_registry_card_and_every_option_is_tested(method):
    info = METHODS[method]
    assert info.version == 2 and info.conformance == CONFORMANCE and info.published
    for key in info.options:
        params = eval(f"dict({key})", {"BIG_L2_EPSILONS": BIG_L2_EPSILONS})  # noqa: S307 - our own option keys
        assert set(params) <= set(info.defaults), key
        assert any(params.items() <= c.items() for c in CONFIGS[method]), f"option {key!r} has no conformance case"


# --- EfficientNet-Lite0, real photos ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def photos():
    x, y = data.sample_images()
    return x[[0, 3]], y[[0, 3]]  # photo 3 is misclassified (label 990, predicted 956)


def test_lite0_agi(lite0, photos):
    x, y = photos
    assert_conforms(attribute(lite0, x, y, method="agi", num_classes=2, num_steps=3),
                    ref_agi.agi(lite0, x, y, max_iter=3, topk=2))


def test_lite0_mfaba(lite0, photos):
    x, y = photos
    with torch.no_grad():
        assert lite0(x).argmax(1)[1] != y[1]
    got = attribute(lite0, x, y, method="mfaba", num_steps=6)
    assert_conforms(got, ref_mfaba.mfaba(lite0, x, y, num_steps=6))
    assert got[1].abs().sum() > 0


def test_lite0_big(lite0, photos):
    x, y = photos
    assert_conforms(attribute(lite0, x, y, method="big", num_steps=3, steps=3),
                    ref_big.big(lite0, x, y, num_steps=3, gradient_steps=3))
