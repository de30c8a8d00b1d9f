"""Baseline attribution methods: agreement with Captum, completeness, conventions, bad input."""
from __future__ import annotations

import pytest
import torch
from captum.attr import DeepLift, IntegratedGradients, LayerAttribution, LayerGradCam, Saliency
from torch import Tensor, nn

from attx_core.methods import METHODS, attribute

BASELINES = ["ig", "saliency", "smoothgrad", "fast_ig", "expected_gradients", "gradcam", "deeplift", "guided_ig", "big"]
FAST_PARAMS = {"ig": {"steps": 8}, "smoothgrad": {"n_samples": 4}, "expected_gradients": {"n_samples": 4}, "guided_ig": {"steps": 8},
               "big": {"epsilons": (0.05, 0.5), "num_steps": 3, "steps": 4}}


def probs(model: nn.Module):
    return lambda x: model(x).softmax(dim=1)


@pytest.mark.parametrize("rule", ["left", "trapezoid"])
def test_ig_agrees_with_captum(tiny_model, tiny_images, rule):
    x, y = tiny_images
    ours = attribute(tiny_model, x, y, method="ig", steps=20, rule=rule, output="logit")
    n = 20 if rule == "left" else 21  # Captum's n points: left uses 20, trapezoid the 21 ends of 20 pieces
    ref = IntegratedGradients(tiny_model).attribute(x, baselines=0.0, target=y, n_steps=n, method=f"riemann_{rule}")
    if rule == "trapezoid":  # Captum's trapezoid weights sum to (n-1)/n instead of 1
        ref = ref * n / (n - 1)
    torch.testing.assert_close(ours, ref.float(), rtol=1e-4, atol=1e-4 * float(ref.abs().max()))


@pytest.mark.parametrize("output", ["prob", "logit"])
def test_ig_completeness(tiny_model, tiny_images, output):
    x, y = tiny_images
    attr = attribute(tiny_model, x, y, method="ig", steps=200, output=output)
    with torch.no_grad():
        out = tiny_model(torch.cat([x, torch.zeros_like(x)]))
        out = out.softmax(1) if output == "prob" else out
        delta = out[:2].gather(1, y[:, None])[:, 0] - out[2:].gather(1, y[:, None])[:, 0]
    torch.testing.assert_close(attr.sum(dim=(1, 2, 3)), delta, rtol=0.01, atol=0.0)


def test_ig_tensor_baseline_agrees_with_captum(tiny_model, tiny_images):
    x, y = tiny_images
    base = torch.full((1, 3, 32, 32), 0.5)
    attr = attribute(tiny_model, x, y, method="ig", steps=10, baseline=base, rule="left", output="logit")
    ref = IntegratedGradients(tiny_model).attribute(x, baselines=base, target=y, n_steps=10, method="riemann_left")
    torch.testing.assert_close(attr, ref.float(), rtol=1e-4, atol=1e-4 * float(ref.abs().max()))


@pytest.mark.parametrize("abs_", [True, False])
def test_saliency_agrees_with_captum(tiny_model, tiny_images, abs_):
    x, y = tiny_images
    ours = attribute(tiny_model, x, y, method="saliency", abs=abs_)
    ref = Saliency(probs(tiny_model)).attribute(x, target=y, abs=abs_)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-9)


def test_smoothgrad_agrees_with_captum_saliency_on_its_noise(tiny_model, tiny_images):
    from attx_core.methods.smoothgrad import smoothgrad_noise

    x, y = tiny_images
    ours = attribute(tiny_model, x, y, method="smoothgrad", n_samples=6, std=0.15, seed=11)
    noise = smoothgrad_noise(x, 6, 0.15, 11)  # per-image draws; Captum's NoiseTunnel uses the global generator
    sal = Saliency(probs(tiny_model))
    ref = torch.stack([sal.attribute(x + noise[:, k], target=y, abs=False) for k in range(6)]).mean(0)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-9)
    assert (ours < 0).any(), "SmoothGrad must stay signed (no abs)"


@pytest.mark.parametrize("baseline", ["zeros", "half"])
def test_deeplift_agrees_with_captum(tiny_model, tiny_images, baseline):
    x, y = tiny_images
    base = torch.full((1, 3, 32, 32), 0.5) if baseline == "half" else "zeros"
    ours = attribute(tiny_model, x, y, method="deeplift", output="logit", baseline=base)
    ref = DeepLift(tiny_model).attribute(x, baselines=0.0 if baseline == "zeros" else base, target=y)
    torch.testing.assert_close(ours, ref.float(), rtol=1e-4, atol=1e-6)


def test_deeplift_prob_sums_to_probability_change(tiny_model, tiny_images):
    x, y = tiny_images
    attr = attribute(tiny_model, x, y, method="deeplift", softmax_rule="rescale")
    with torch.no_grad():
        p = tiny_model(torch.cat([x, torch.zeros_like(x)])).softmax(1)
    delta = p[:2].gather(1, y[:, None])[:, 0] - p[2:].gather(1, y[:, None])[:, 0]
    torch.testing.assert_close(attr.sum(dim=(1, 2, 3)), delta, rtol=1e-4, atol=1e-9)


def test_gradcam_agrees_with_captum(tiny_model, tiny_images):
    x, y = tiny_images
    ours = attribute(tiny_model, x, y, method="gradcam", explain="label", normalize=False)  # layer: features.3
    layer = tiny_model.layer(tiny_model.gradcam_layer)
    cam = LayerGradCam(probs(tiny_model), layer).attribute(x, target=y, relu_attributions=True)
    ref = LayerAttribution.interpolate(cam, (32, 32), interpolate_mode="bilinear")
    torch.testing.assert_close(ours, ref.expand(-1, 3, -1, -1), rtol=1e-4, atol=1e-9)
    assert (ours >= 0).all() and ours.abs().sum() > 0


def test_gradcam_batch_equals_single_images(tiny_model, tiny_images):
    x, y = tiny_images
    batch = attribute(tiny_model, x, y, method="gradcam", output="logit")
    single = torch.cat([attribute(tiny_model, x[i : i + 1], y[i : i + 1], method="gradcam", output="logit") for i in range(2)])
    torch.testing.assert_close(batch, single)


class TinyTokenNet(nn.Module):
    """ViT-shaped toy: 4x4 patches of a 32x32 image -> 64 tokens + class token -> (B, 65, D) -> head."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 16, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, 16))
        self.block = nn.Sequential(nn.Linear(16, 16), nn.GELU())
        self.head = nn.Linear(16, 10)

    def forward(self, x: Tensor) -> Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = self.block(torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1))
        return self.head(tokens.mean(dim=1))


class ChannelLast(nn.Module):
    """Identity that returns an NHWC view (timm/Swin-style layout) for Grad-CAM to detect."""

    def forward(self, x: Tensor) -> Tensor:
        return x.permute(0, 2, 3, 1)


class TinyNHWCNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.ReLU())
        self.nhwc = ChannelLast()
        self.head = nn.Linear(6, 10)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.nhwc(self.conv(x)).mean(dim=(1, 2)))


def test_gradcam_token_model_matches_manual_grid(tiny_images):
    torch.manual_seed(0)
    net = TinyTokenNet().eval()
    x, _ = tiny_images
    y = torch.tensor([1, 4])
    cam = attribute(net, x, y, method="gradcam", layer=net.block, output="logit", explain="label", normalize=False)
    assert cam.shape == x.shape and cam.dtype == torch.float32
    acts = []
    handle = net.block.register_forward_hook(lambda m, i, o: acts.append(o))
    score = net(x).gather(1, y[:, None]).sum()
    handle.remove()
    (g,) = torch.autograd.grad(score, acts[0])
    grid = lambda t: t[:, 1:].transpose(1, 2).reshape(2, 16, 8, 8)  # noqa: E731  (drop class token)
    manual = torch.relu((grid(g).mean(dim=(2, 3), keepdim=True) * grid(acts[0])).sum(1, keepdim=True))
    manual = nn.functional.interpolate(manual, size=(32, 32), mode="bilinear", align_corners=False)
    torch.testing.assert_close(cam, manual.expand(-1, 3, -1, -1).detach())


def test_gradcam_detects_channel_last(tiny_images):
    torch.manual_seed(0)
    net = TinyNHWCNet().eval()
    x, y = tiny_images[0], torch.tensor([1, 2])
    nchw = attribute(net, x, y, method="gradcam", layer=net.conv, output="logit")
    nhwc = attribute(net, x, y, method="gradcam", layer=net.nhwc, output="logit")
    torch.testing.assert_close(nhwc, nchw)
    assert nchw.abs().sum() > 0


def test_fast_ig_sign(tiny_model, tiny_images):
    x, y = tiny_images
    grad = attribute(tiny_model, x, y, method="saliency", abs=False)
    fast = attribute(tiny_model, x, y, method="fast_ig", loss="score")
    torch.testing.assert_close(fast, x * grad)
    torch.testing.assert_close(attribute(tiny_model, x, y, method="fast_ig", loss="score", reference_bugs=True), -fast)


def test_fast_ig_equals_ig_on_bias_free_relu_net(tiny_images):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 5, bias=False)).eval()
    x, y = tiny_images[0], torch.tensor([0, 3])
    fast = attribute(net, x, y, method="fast_ig", loss="score", output="logit")
    ig = attribute(net, x, y, method="ig", steps=4, rule="right", output="logit")  # grad at 0 is undefined
    torch.testing.assert_close(fast, ig, rtol=1e-4, atol=1e-6)


def test_expected_gradients_uses_per_image_targets(tiny_model):
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    mixed = attribute(tiny_model, x, [3, 7, 9], method="expected_gradients", n_samples=5)
    for i, t in enumerate([3, 7, 9]):
        same = attribute(tiny_model, x, [t, t, t], method="expected_gradients", n_samples=5)
        torch.testing.assert_close(mixed[i], same[i])
    other = attribute(tiny_model, x, [7, 7, 7], method="expected_gradients", n_samples=5)
    assert not torch.allclose(mixed[0], other[0])


def test_expected_gradients_background_and_seed(tiny_model, tiny_images):
    x, y = tiny_images
    bg = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    a = attribute(tiny_model, x, y, method="expected_gradients", n_samples=5, background=bg)
    b = attribute(tiny_model, x, y, method="expected_gradients", n_samples=5, background=bg)
    c = attribute(tiny_model, x, y, method="expected_gradients", n_samples=5, background=bg, seed=1)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    alone = attribute(tiny_model, x[:1], y[:1], method="expected_gradients")  # fixed background: a batch of one works
    assert alone.abs().sum() > 0


@pytest.mark.parametrize("method", BASELINES)
def test_every_method_returns_float32_of_x_shape(tiny_model, tiny_images, method):
    x, y = tiny_images
    attr = attribute(tiny_model, x, y, method=method, **FAST_PARAMS.get(method, {}))
    assert attr.dtype == torch.float32 and attr.shape == x.shape
    assert torch.isfinite(attr).all() and attr.abs().sum() > 0


def test_every_baseline_declares_its_cost():
    for name in BASELINES:
        assert METHODS[name].passes, name


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "no_such_method"}, "known methods: .*ig"),
        ({"method": "ig", "stepz": 3}, "does not take parameter.*stepz"),
        ({"method": "ig", "steps": 0}, "steps"),
        ({"method": "smoothgrad", "n_samples": 0}, "n_samples"),
        ({"method": "expected_gradients", "n_samples": 0}, "n_samples"),
        ({"method": "guided_ig", "steps": 0}, "steps"),
        ({"method": "guided_ig", "fraction": 1.5}, "fraction"),
        ({"method": "ig", "baseline": "ones"}, "baseline"),
        ({"method": "ig", "baseline": torch.zeros(2, 3, 5, 5)}, "broadcast"),
        ({"method": "ig", "output": "logits"}, "output"),
        ({"method": "gradcam", "layer": "no.such.layer"}, "no submodule"),
        ({"method": "big", "epsilons": (0.3, 0.1)}, "epsilons must increase"),
        ({"method": "big", "num_steps": 0}, "num_steps"),
    ],
)
def test_bad_parameters_raise_value_error(tiny_model, tiny_images, kwargs, match):
    x, y = tiny_images
    with pytest.raises(ValueError, match=match):
        attribute(tiny_model, x, y, **kwargs)


@pytest.mark.parametrize(
    "x, target, match",
    [
        (torch.full((2, 3, 32, 32), 1.5), [1, 2], r"\[0, 1\]"),
        (torch.full((2, 3, 32, 32), float("nan")), [1, 2], "NaN"),
        (torch.rand(3, 32, 32), [1], "rank 4"),
        (torch.rand(2, 3, 32, 32), [1, 2, 3], "3 entries but the batch has 2"),
    ],
)
def test_bad_images_and_targets_raise_value_error(tiny_model, x, target, match):
    with pytest.raises(ValueError, match=match):
        attribute(tiny_model, x, target, method="ig")


def test_guided_ig_is_nearly_complete(tiny_model, tiny_images):
    x, y = tiny_images
    attr = attribute(tiny_model, x, y, method="guided_ig", steps=50, output="logit")
    with torch.no_grad():
        z = tiny_model(torch.cat([x, torch.zeros_like(x)]))
    delta = z[:2].gather(1, y[:, None])[:, 0] - z[2:].gather(1, y[:, None])[:, 0]
    torch.testing.assert_close(attr.sum(dim=(1, 2, 3)), delta, rtol=0.05, atol=0.0)


def test_big_picks_smallest_flipping_epsilon_per_image(tiny_model):
    from attx_core.methods.big import boundary_points, search

    x = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        y = tiny_model(x).argmax(1)
    epsilons = (0.02, 0.035, 0.04, 0.3)  # this net flips its 4 images at 0.035, 0.045, 0.035, 0.04
    points = boundary_points(tiny_model, x, y, epsilons, num_steps=5)
    chosen = []
    for i in range(4):
        for eps in epsilons:
            adv = search(tiny_model, x[i : i + 1], y[i : i + 1], eps, 5)
            if tiny_model(adv).argmax(1).item() != y[i].item():
                break
        chosen.append(eps)
        torch.testing.assert_close(points[i : i + 1], adv)
    assert len(set(chosen)) > 1, f"test should exercise different epsilons per image, got {chosen}"


def test_big_is_complete_from_its_boundary_point(tiny_model):
    from attx_core.methods.big import boundary_points

    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        y = tiny_model(x).argmax(1)
    attr = attribute(tiny_model, x, y, method="big", epsilons=(0.02, 0.3), num_steps=5, steps=100, output="logit", rule="trapezoid")
    start = boundary_points(tiny_model, x, y, (0.02, 0.3), 5)
    with torch.no_grad():
        z, z0 = tiny_model(x), tiny_model(start)
    delta = z.gather(1, y[:, None])[:, 0] - z0.gather(1, y[:, None])[:, 0]
    assert (z0.argmax(1) != y).all()
    torch.testing.assert_close(attr.sum(dim=(1, 2, 3)), delta, rtol=0.01, atol=0.0)
