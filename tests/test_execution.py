"""The execution policy (channels-last gradients, compiled forward-only passes) must not move results."""
from __future__ import annotations

import pytest
import torch

from attx_core import execution, models
from attx_core.engine import class_score, input_gradients
from attx_core.methods import attribute
from attx_core.metrics import insertion_deletion


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return float(((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).min())


@pytest.mark.parametrize("method, params", [("saliency", {}), ("ig", {"steps": 8}), ("attexplore", {"N": 3, "num_steps": 3})])
def test_channels_last_maps_match_eager(lite0, method, params):
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([1, 500])
    with execution.policy_scope("eager"):
        ref = attribute(lite0, x, y, method=method, **params)
    with execution.policy_scope("channels_last"):
        fast = attribute(lite0, x, y, method=method, **params)
    assert fast.is_contiguous()
    assert _corr(ref, fast) >= 0.9999


def test_gradients_come_back_nchw(tiny_model, tiny_images):
    """A caller's grad.view(...) works though the network runs channels-last."""
    x, y = tiny_images
    with execution.policy_scope("channels_last"):
        g, _ = input_gradients(tiny_model, x, y, class_score("prob"))
        xg = x.clone().requires_grad_(True)
        (g2,) = torch.autograd.grad(tiny_model(xg).sum(), xg)
    assert g.is_contiguous() and g2.is_contiguous()


@pytest.mark.parametrize("backend", ["compiled", "openvino"])
def test_forward_backend_insdel_matches_eager(tiny_model, backend):
    """AUCs of each forward backend (the compiled channels-last torch copy, OpenVINO) within 1e-4 of eager fp32;
    the padded last chunk and the neighbours change no sample's score."""
    if backend == "openvino":
        pytest.importorskip("openvino")
    model = models.load("tiny_cnn", weights=None)  # its own compiled graph / conversions
    model.load_state_dict(tiny_model.state_dict())
    g = torch.Generator().manual_seed(2)
    x, maps = torch.rand(3, 3, 32, 32, generator=g), torch.randn(3, 3, 32, 32, generator=g)
    with execution.policy_scope("eager"):
        ref = insertion_deletion(model, x, maps, step=64, batch_size=8)
    with execution.policy_scope(backend):
        fast = insertion_deletion(model, x, maps, step=64, batch_size=8)  # 2*3*17 = 102 samples: last chunk padded
        alone = insertion_deletion(model, x[1:2], maps[1:2], step=64, batch_size=8)
    torch.testing.assert_close(fast.insertion, ref.insertion, atol=1e-4, rtol=0)
    torch.testing.assert_close(fast.deletion, ref.deletion, atol=1e-4, rtol=0)
    torch.testing.assert_close(alone.insertion_curve[0], fast.insertion_curve[1], atol=1e-6, rtol=0)
    if backend == "openvino":
        assert set(execution.OPENVINO.get(model).requests) == {((8, 3, 32, 32), 1, "f32")}  # one shape, 1 thread, f32


def test_auto_compiles_only_large_calls(tiny_model, monkeypatch):
    """Without OpenVINO (the GPU machines), ``auto`` compiles a call of >= COMPILE_MIN_SAMPLES samples, then reuses it."""
    calls = []
    monkeypatch.setattr(execution, "openvino", lambda: None)
    monkeypatch.setattr(torch, "compile", lambda net, **kw: calls.append(net) or net)
    model = models.load("tiny_cnn", weights=None)
    x = torch.rand(2, 3, 32, 32)
    with execution.policy_scope("auto"):
        execution.predict(model, x, batch_size=4)
        assert calls == []
        execution.forward_only(model, execution.COMPILE_MIN_SAMPLES, 4)(x)
        assert len(calls) == 1
        execution.predict(model, x, batch_size=4)  # small calls now reuse the compiled network
        assert len(calls) == 1
        assert execution.forward_backend("cpu").startswith("torch.compile inductor")


def test_compile_failure_falls_back_visibly(tiny_model, monkeypatch, capsys):
    def broken(*_args, **_kw):
        raise RuntimeError("no C compiler")

    model = models.load("tiny_cnn", weights=None)
    model.load_state_dict(tiny_model.state_dict())
    monkeypatch.setattr(torch, "compile", lambda net, **kw: broken)
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with execution.policy_scope("compiled"):
        out = execution.predict(model, x, batch_size=4)
        again = execution.predict(model, x, batch_size=4)
    with execution.policy_scope("eager"):
        ref = model(x)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(again, out)
    assert capsys.readouterr().err.count("torch.compile failed") == 1


def test_bad_policy_names(monkeypatch, tiny_model, tiny_images):
    with pytest.raises(ValueError, match="execution policy must be one of"):
        with execution.policy_scope("fast"):
            pass
    monkeypatch.setenv("ATTX_EXECUTION", "turbo")
    with pytest.raises(ValueError, match="ATTX_EXECUTION must be one of"):
        tiny_model(tiny_images[0])


@pytest.mark.parametrize("backend", ["compiled", "openvino"])
def test_forward_backend_follows_weight_changes(tiny_model, backend):
    """The compiled channels-last copy re-syncs, and OpenVINO re-converts, when the model's weights change in place
    (training, randomisation)."""
    if backend == "openvino":
        pytest.importorskip("openvino")
    model = models.load("tiny_cnn", weights=None)
    model.load_state_dict(tiny_model.state_dict())
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    with execution.policy_scope(backend):
        before = execution.predict(model, x, batch_size=4)
        with torch.no_grad():
            next(model.parameters()).mul_(-1.0)
        after = execution.predict(model, x, batch_size=4)
    with execution.policy_scope("eager"):
        expected = model(x)
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, expected, atol=1e-5, rtol=1e-5)
