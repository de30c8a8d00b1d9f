"""Your own model: models.wrap, timm:/torchvision: names, the CLI on them, and the README snippet."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from attx_core import METHODS, attribute, models
from attx_core.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _net(classes: int = 10) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, classes),
    )


def test_wrap_normalises_inside_and_carries_metadata():
    net = _net()
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    model = models.wrap(net, mean, std, 32, name="mine", class_names=[f"c{i}" for i in range(10)])
    x = torch.rand(2, 3, 32, 32)
    expected = net((x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1))
    torch.testing.assert_close(model(x), expected)
    assert model.name == "mine" and model.num_classes == 10 and model.class_names[3] == "c3"
    assert not model.training and all(not p.requires_grad for p in model.parameters())
    assert model.gradcam_layer == "7"  # the last layer with a feature map larger than 1x1 (8x8 ReLU)
    assert model.feature_layer == "7"  # the last one at stride <= 8 (8x8 at 32 px: stride 4)
    assert model.layer(model.gradcam_layer) is net[7]


def test_wrap_accepts_modules_as_layers_and_every_method_runs():
    net = _net()
    model = models.wrap(net, (0.5,) * 3, (0.5,) * 3, 32, gradcam_layer=net[4], feature_layer="1")
    assert (model.gradcam_layer, model.feature_layer) == ("4", "1")
    x, y = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)), torch.tensor([3, 7])
    small = {"ig": {"steps": 3}, "smoothgrad": {"n_samples": 2}, "guided_ig": {"steps": 3}, "big": {"num_steps": 2, "steps": 3},
             "mfaba": {"num_steps": 2}, "agi": {"num_classes": 2, "num_steps": 2}, "attexplore": {"num_steps": 2, "N": 2},
             "expected_gradients": {"background": torch.rand(2, 3, 32, 32)}}
    for method in sorted(METHODS):
        out = attribute(model, x, y, method=method, **small.get(method, {}))
        assert out.shape == x.shape and torch.isfinite(out).all(), method
    naa = attribute(model, x, y, method="attexplore", attack="naa", num_steps=2, attack_params={"ensemble": 2})
    assert torch.isfinite(naa).all()


def test_wrapped_equals_registered_tiny_cnn():
    """The same network through wrap() and through the registry gives the same maps."""
    torch.manual_seed(0)
    registered = models.load("tiny_cnn", weights=None)
    net = models.TinyCNN()
    net.load_state_dict(registered.net.state_dict())
    mine = models.wrap(net, models.IMAGENET_MEAN, models.IMAGENET_STD, 32, gradcam_layer="features.3")
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    for method, params in [("ig", {"steps": 4}), ("gradcam", {}), ("attexplore", {"num_steps": 2, "N": 2})]:
        torch.testing.assert_close(attribute(mine, x, [1, 2], method=method, **params),
                                   attribute(registered, x, [1, 2], method=method, **params))


def test_timm_and_torchvision_by_name_random_init():
    m = models.load("timm:test_resnet", weights=None)
    assert m.name == "timm:test_resnet" and m.input_size == 160 and m.weights == "random-init" and m.num_classes == 1000
    assert m.gradcam_layer == "layer4" and m.feature_layer.startswith("layer3")
    torch.testing.assert_close(m.mean.flatten(), torch.tensor(m.net.pretrained_cfg["mean"]))  # timm's normalisation
    x = torch.rand(1, 3, 64, 64)
    assert attribute(m, x, 1, method="gradcam").shape == x.shape
    vit = models.load("timm:test_vit", weights=None)
    assert vit.fixed_size and vit.gradcam_layer is None  # token model: pass gradcam_layer via wrap
    tv = models.load("torchvision:mobilenet_v3_small", weights=None)
    assert tv.input_size == 224 and tv.gradcam_layer and tv.feature_layer
    assert attribute(tv, torch.rand(1, 3, 64, 64), 5, method="saliency").abs().sum() > 0
    assert models.load("torchvision:resnet50", weights=None).name == "resnet50"  # the paper's five keep their fixes


def test_timm_cached_weights_are_used(tmp_path, monkeypatch):
    """A timm model whose weights are in the Hugging Face cache loads them offline."""
    from safetensors.torch import save_file

    torch.manual_seed(5)
    source = models.load("timm:test_resnet", weights=None)
    hub_id = source.net.pretrained_cfg["hf_hub_id"]
    repo = tmp_path / "hf" / f"models--{hub_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("abc123")
    (repo / "snapshots" / "abc123").mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in source.net.state_dict().items()}, str(repo / "snapshots" / "abc123" / "model.safetensors"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(models, "_online", lambda host, timeout=3.0: pytest.fail("no network access expected"))
    torch.manual_seed(6)
    loaded = models.load("timm:test_resnet")
    assert loaded.weights == "timm:test_resnet"
    x = torch.rand(1, 3, 64, 64)
    torch.testing.assert_close(loaded(x), source(x))


def test_uncached_weights_give_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "_online", lambda host, timeout=3.0: False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(models.WeightsUnavailableError, match=r"timm model 'test_resnet' are not cached.*weights=None"):
        models.load("timm:test_resnet")
    with pytest.raises(ValueError, match=r"torchvision 'mobilenet_v3_small' are not cached.*mobilenet_v3_small-.*weights=None"):
        models.load("torchvision:mobilenet_v3_small")


def test_state_dict_file_for_external_model(tmp_path):
    torch.manual_seed(3)
    a = models.load("timm:test_resnet", weights=None)
    path = tmp_path / "w.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in a.net.state_dict().items()}}, path)  # DDP-style checkpoint
    b = models.load("timm:test_resnet", weights=path)
    x = torch.rand(1, 3, 64, 64)
    torch.testing.assert_close(a(x), b(x))
    assert b.weights == "file:w.pth"


def test_cli_explain_timm_random_weights_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(models, "_online", lambda host, timeout=3.0: pytest.fail("no network access expected"))
    photo = tmp_path / "img.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 60, 3), dtype=np.uint8)).save(photo)
    out, saved = tmp_path / "h.png", tmp_path / "map.npy"
    assert main(["explain", str(photo), "--model", "timm:test_resnet", "--random-weights", "--method", "gradcam",
                 "--device", "cpu", "--out", str(out), "--save-map", str(saved)]) == 0
    assert out.is_file() and np.load(saved).shape == (3, 160, 160)
    assert "gradcam:" in capsys.readouterr().out


def _readme_snippet() -> str:
    text = README.read_text()
    marker = text.index("<!-- own-model-snippet")
    match = re.search(r"```python\n(.*?)```", text[marker:], re.S)
    assert match, "README's own-model snippet is missing"
    return match.group(1)


def test_readme_own_model_snippet_runs(capsys):
    code = _readme_snippet()
    assert "models.wrap(" in code and "timm:" in code and "torchvision:" in code
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["maps"].shape == (2, 3, 64, 64)
    assert namespace["model"].class_names[3] == "class 3"
    assert capsys.readouterr().out.startswith("160 layer4 ")
