"""Conformance of the baselines (IG, Guided IG, Expected Gradients, SmoothGrad, Saliency, Fast-IG,
DeepLIFT, Grad-CAM) with plain re-implementations of the published code (tests/reference/*.py, which
import nothing from attx_core): the default and every named option, on the tiny trained model and on
EfficientNet-Lite0 with real photos; Captum as an extra check where the published code called it.
Random draws (SmoothGrad noise, EG references and alphas) are attx_core's, passed to the reference.
"""
from __future__ import annotations

import warnings

import pytest
import torch
from _tiny_task import make_data, trained_model
from reference import deeplift as ref_dl
from reference import expected_gradients as ref_eg
from reference import fast_ig as ref_fig
from reference import gradcam as ref_cam
from reference import guided_ig as ref_gig
from reference import ig as ref_ig
from reference import saliency as ref_sal
from reference import smoothgrad as ref_sg
from torch import nn

from attx_core import attribute, data, models
from attx_core.methods import METHODS
from attx_core.methods.expected_gradients import eg_draws
from attx_core.methods.smoothgrad import smoothgrad_noise

CONFORMANCE = "tests/test_conformance_baselines.py"
SEED = 3407


def assert_conforms(ours: torch.Tensor, ref: torch.Tensor, rel_tol: float = 1e-4) -> None:
    """Per image: max |diff| <= rel_tol * max |ref|, or else correlation >= 0.999 (float summation order)."""
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    for i, (a, b) in enumerate(zip(ours.double(), ref.double())):
        scale = float(b.abs().max())
        assert scale > 0, f"image {i}: the reference map is zero"
        rel = float((a - b).abs().max()) / scale
        if rel <= rel_tol:
            continue
        corr = float(torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1])
        assert corr >= 0.999, f"image {i}: relative difference {rel:.2e}, correlation {corr:.6f}"


def softmax_model(model: nn.Module) -> nn.Module:
    return nn.Sequential(model, nn.Softmax(dim=-1)).eval()


@pytest.fixture(scope="module")
def task():
    x, y = make_data(3, 5)  # labels 2, 0, 1, all predicted correctly
    return trained_model(), x, y


@pytest.fixture(scope="module")
def background():
    return make_data(12, 7)[0]  # the tiny task's "image set" for Expected Gradients


@pytest.fixture(scope="module")
def photos():
    x, y = data.sample_images()
    return x[[0, 3]], y[[0, 3]]


WRONG = lambda y: (y + 1) % 3  # noqa: E731  targets the tiny model does not predict

# --- configurations: attx params -> reference params (tiny model) -------------------------------------

IG = [
    ({}, dict(n_steps=50, method="riemann_trapezoid")),
    ({"steps": 10, "rule": "trapezoid"}, dict(n_steps=10, method="trapezoid")),
    ({"steps": 10, "rule": "left"}, dict(n_steps=10, method="riemann_left")),
    ({"steps": 10, "rule": "right"}, dict(n_steps=10, method="riemann_right")),
    ({"steps": 10, "output": "logit"}, dict(n_steps=10, output="logit")),
]
GIG = [
    ({}, dict(steps=15)),
    ({"steps": 200}, dict(steps=200)),
    ({"output": "prob"}, dict(steps=15, output="prob")),
]
SAL = [({}, {}), ({"abs": False}, dict(abs=False)), ({"output": "logit"}, dict(output="logit"))]
SG = [({"n_samples": 50}, {}), ({"n_samples": 8, "output": "logit"}, dict(output="logit"))]
FIG = [  # (attx params, reference params, factor: attx = factor * B * reference; B undoes the batch mean)
    ({}, dict(loss="ce"), -1.0),
    ({"reference_bugs": True}, dict(loss="ce"), 1.0),
    ({"output": "logit"}, dict(loss="ce", output="logit"), -1.0),
    ({"loss": "score"}, dict(loss="score"), None),
    ({"loss": "score", "output": "logit"}, dict(loss="score", output="logit"), None),
]
DL = [({}, {}), ({"softmax_rule": "rescale"}, dict(softmax_rule="rescale")), ({"output": "logit"}, dict(output="logit"))]
CAM = [  # layer features.3 (TinyNet has no gradcam_layer metadata)
    ({}, dict(explain_label=False)),
    ({"explain": "label"}, dict(explain_label=True)),
    ({"normalize": False}, dict(explain_label=False, normalize=False)),
    ({"output": "logit"}, dict(explain_label=False, output="logit")),
]
EG = [{}, {"n_samples": 50}, {"output": "logit"}, {"background": "images"}]


# --- IG -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, ref", IG)
def test_ig_conforms_tiny(task, params, ref):
    model, x, y = task
    assert_conforms(attribute(model, x, y, method="ig", **params), ref_ig.integrated_gradients(model, x, y, **ref))


def test_ig_default_is_captums_riemann_trapezoid(task, lite0, photos):
    IntegratedGradients = pytest.importorskip("captum.attr").IntegratedGradients

    model, x, y = task
    ours = attribute(model, x, y, method="ig")
    ref = IntegratedGradients(softmax_model(model)).attribute(x, target=y, baselines=None, n_steps=50, method="riemann_trapezoid")
    assert_conforms(ours, ref.float(), rel_tol=1e-5)
    xp, yp = photos[0][:1], photos[1][:1]
    ours = attribute(lite0, xp, yp, method="ig", steps=6)
    ref = IntegratedGradients(softmax_model(lite0)).attribute(xp, target=yp, n_steps=6, method="riemann_trapezoid")
    assert_conforms(ours, ref.float(), rel_tol=1e-5)
    assert_conforms(ours, ref_ig.integrated_gradients(lite0, xp, yp, n_steps=6))


# --- Guided IG ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, ref", GIG)
def test_guided_ig_conforms_tiny(task, params, ref):
    model, x, y = task
    assert_conforms(attribute(model, x, y, method="guided_ig", **params), ref_gig.guided_ig(model, x, y, **ref).float())


def test_guided_ig_conforms_lite0(lite0, photos):
    x, y = photos[0][:1], photos[1][:1]
    assert_conforms(attribute(lite0, x, y, method="guided_ig", steps=4), ref_gig.guided_ig(lite0, x, y, steps=4).float())


# --- Saliency, SmoothGrad, Fast-IG ----------------------------------------------------------------------


@pytest.mark.parametrize("params, ref", SAL)
def test_saliency_conforms(task, lite0, photos, params, ref):
    for model, x, y in (task, (lite0, *photos)):
        assert_conforms(attribute(model, x, y, method="saliency", **params), ref_sal.saliency(model, x, y, **ref))


@pytest.mark.parametrize("params, ref", SG)
def test_smoothgrad_conforms_tiny(task, params, ref):
    model, x, y = task
    noise = smoothgrad_noise(x, params["n_samples"], 0.15, SEED)
    assert_conforms(attribute(model, x, y, method="smoothgrad", **params), ref_sg.smoothgrad(model, x, y, noise, **ref))


def test_smoothgrad_conforms_lite0(lite0, photos):
    x, y = photos
    noise = smoothgrad_noise(x, 3, 0.15, SEED)
    assert_conforms(attribute(lite0, x, y, method="smoothgrad", n_samples=3), ref_sg.smoothgrad(lite0, x, y, noise))


@pytest.mark.parametrize("params, ref, factor", FIG)
def test_fast_ig_conforms(task, lite0, photos, params, ref, factor):
    for model, x, y in (task, (lite0, *photos)):
        expected = ref_fig.fast_ig(model, x, y, **ref)
        if factor is not None:  # the published loss is a batch mean: B * its gradient is the per-image one
            expected = factor * x.shape[0] * expected
        assert_conforms(attribute(model, x, y, method="fast_ig", **params), expected)


# --- DeepLIFT -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, ref", DL)
def test_deeplift_conforms_tiny(task, params, ref):
    model, x, y = task
    assert_conforms(attribute(model, x, y, method="deeplift", **params), ref_dl.deeplift_tinynet(model, x, y, **ref))


def _captum_deeplift(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """captum DeepLift one image at a time (its Softmax rule mixes the images of a batch)."""
    DeepLift = pytest.importorskip("captum.attr").DeepLift

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.cat([DeepLift(model).attribute(x[i : i + 1], baselines=None, target=y[i : i + 1]) for i in range(x.shape[0])]).detach()


def test_deeplift_is_captums_at_batch_one(task, lite0, photos, monkeypatch):
    captum_dl = pytest.importorskip("captum.attr._core.deep_lift")

    model, x, y = task
    assert_conforms(attribute(model, x, y, method="deeplift"), _captum_deeplift(softmax_model(model), x, y))
    # Lite0's activations are ReLU6, which Captum's rule table lacks; its Rescale rule is the same.
    monkeypatch.setitem(captum_dl.SUPPORTED_NON_LINEAR, nn.ReLU6, captum_dl.nonlinear)
    xp, yp = photos[0][:1], photos[1][:1]
    assert_conforms(attribute(lite0, xp, yp, method="deeplift"), _captum_deeplift(softmax_model(lite0), xp, yp))
    assert_conforms(attribute(lite0, xp, yp, method="deeplift", output="logit"), _captum_deeplift(lite0, xp, yp))


def test_deeplift_maxpool_after_relu_is_captums():
    """Captum's max-pool rule never takes effect after a ReLU module (its tensor-hook order); ours: gradient."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Conv2d(6, 8, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 3 * 3, 5)).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x, y = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 3])
    assert_conforms(attribute(net, x, y, method="deeplift", output="logit"), _captum_deeplift(net, x, y))


def test_deeplift_refuses_functional_activations(task):
    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.head = nn.Conv2d(3, 4, 3), nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))

    _, x, y = task
    with pytest.raises(ValueError, match="no nonlinearity module"):
        attribute(Functional().eval(), x, y, method="deeplift")


# --- Grad-CAM -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("params, ref", CAM)
def test_gradcam_conforms_tiny(task, params, ref):
    model, x, y = task
    ref = dict(ref)
    # explaining the label: y (a class the model does not predict has an all-zero CAM here); the prediction:
    # attx gets targets the model does not predict, which it must ignore
    target = y if ref.pop("explain_label") else WRONG(y)
    got = attribute(model, x, target, method="gradcam", layer="features.3", **params)
    expected = ref_cam.gradcam(model, model.layer("features.3"), x, y if params.get("explain") == "label" else None, **ref)
    assert torch.equal(got, got[:, :1].expand_as(got))
    assert_conforms(got[:, :1], expected)


def test_gradcam_all_zero_map_is_zero_not_nan(task):
    """The published min-max divides 0 by 0 when the ReLU'd CAM is all zero (NaN map); ours returns zeros."""
    model, x, y = task
    assert torch.isnan(ref_cam.gradcam(model, model.layer("features.3"), x[:1], WRONG(y)[:1])).all()
    got = attribute(model, x[:1], WRONG(y)[:1], method="gradcam", layer="features.3", explain="label")
    assert (got == 0).all()


def test_gradcam_conforms_lite0_and_resnet_layer3(lite0, photos):
    x, y = photos
    assert_conforms(attribute(lite0, x, y, method="gradcam")[:, :1], ref_cam.gradcam(lite0, lite0.layer("bn2"), x))
    torch.manual_seed(0)
    resnet = models.load("resnet50", weights=None)
    small = torch.nn.functional.interpolate(x, size=64, mode="bilinear", align_corners=False)
    got = attribute(resnet, small, y, method="gradcam", layer="layer3")
    assert_conforms(got[:, :1], ref_cam.gradcam(resnet, resnet.layer("layer3"), small))


# --- Expected Gradients ---------------------------------------------------------------------------------


def _eg_reference(model, x, y, bg, n_samples=1, output="prob", seed=SEED):
    idx, t = eg_draws(x, bg.shape[0], n_samples, seed)
    return ref_eg.shap_values(model, x, bg[idx], t, sparse_labels=y, output=output)


@pytest.mark.parametrize("params", EG)
def test_expected_gradients_conforms_tiny(task, background, params):
    model, x, y = task
    params = dict(params)
    params["background"] = background  # "images": the image set; the tiny task has no packaged photos
    got = attribute(model, x, y, method="expected_gradients", **params)
    ref = _eg_reference(model, x, y, background, params.get("n_samples", 1), params.get("output", "prob"))
    assert_conforms(got, ref)


def test_expected_gradients_conforms_lite0_default_background(lite0, photos):
    x, y = photos
    got = attribute(lite0, x, y, method="expected_gradients")  # background: the 20 packaged photos
    assert_conforms(got, _eg_reference(lite0, x, y, data.sample_images().x))


def test_expected_gradients_published_bug_is_not_reproduced(task, background):
    """The published call passes no labels: image 0's classes 0..B-1 are explained, the other maps are zero."""
    model, x, y = task
    x, y = x[:2], y[:2]  # (with 3 images and 3 classes image 0's probabilities would sum to 1: zero gradient)
    idx, t = eg_draws(x, background.shape[0], 1, SEED)
    published = ref_eg.shap_values(model, x, background[idx], t, sparse_labels=None)
    assert published[0].abs().sum() > 0 and (published[1:] == 0).all()
    assert (attribute(model, x, y, method="expected_gradients", background=background).flatten(1).abs().sum(1) > 0).all()


# --- batch independence (SmoothGrad, EG) ------------------------------------------------------------------


@pytest.mark.parametrize("method, params", [("smoothgrad", {"n_samples": 4}), ("expected_gradients", {"n_samples": 4})])
def test_map_does_not_depend_on_the_batch(task, lite0, method, params):
    model, x, y = task
    batch = attribute(model, x, y, method=method, **params)
    alone = attribute(model, x[1:2], y[1:2], method=method, **params)
    torch.testing.assert_close(alone[0], batch[1], rtol=0, atol=1e-6)
    xs, ys = data.sample_images().x[[2, 5, 9]], data.sample_images().labels[[2, 5, 9]]
    batch = attribute(lite0, xs, ys, method=method, n_samples=1)
    alone = attribute(lite0, xs[1:2], ys[1:2], method=method, n_samples=1)
    torch.testing.assert_close(alone[0], batch[1], rtol=0, atol=1e-6)


# --- registry cards ---------------------------------------------------------------------------------------

CONFIGS = {
    "ig": [c for c, _ in IG], "guided_ig": [c for c, _ in GIG], "saliency": [c for c, _ in SAL],
    "smoothgrad": [c for c, _ in SG], "fast_ig": [c for c, _, _ in FIG], "deeplift": [c for c, _ in DL],
    "gradcam": [c for c, _ in CAM] + [{"layer": "layer3"}], "expected_gradients": EG,
}
VERSION = {"ig": 2, "guided_ig": 2, "saliency": 1, "smoothgrad": 2, "fast_ig": 2, "deeplift": 2, "gradcam": 2, "expected_gradients": 2}


@pytest.mark.parametrize("method", sorted(CONFIGS))
def test_registry_card_and_every_option_is_tested(method):
    info = METHODS[method]
    assert info.version == VERSION[method] and info.conformance == CONFORMANCE and info.published
    for key in info.options:
        params = eval(f"dict({key})", {"images": "images"})  # noqa: S307 - our own option keys
        assert set(params) <= set(info.defaults), key
        assert any(params.items() <= c.items() for c in CONFIGS[method]), f"option {key!r} has no conformance case"
