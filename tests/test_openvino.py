"""The OpenVINO forward backend: AUCs as eager, fixed-shape chunks, conversion on large calls only, weights
followed (tests/test_execution.py), a visible fallback where a model does not convert. Skipped where ``openvino`` is not installed."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from attx_core import data, execution, models
from attx_core.methods import attribute
from attx_core.metrics import insertion_deletion

pytest.importorskip("openvino")


def _tiny(source: nn.Module) -> nn.Module:
    model = models.load("tiny_cnn", weights=None)  # its own conversions
    model.load_state_dict(source.state_dict())
    return model


def test_openvino_lite0_aucs_match_eager(lite0):
    """EfficientNet-Lite0 on 2 packaged photos: every AUC within 1e-4 of eager (5 points per curve keep it fast)."""
    x, y = data.sample_images(lite0.input_size).subset(2)
    maps = attribute(lite0, x, y, method="saliency")
    with execution.policy_scope("eager"):
        ref = insertion_deletion(lite0, x, maps, step=12544)
    with execution.policy_scope("openvino"):
        fast = insertion_deletion(lite0, x, maps, step=12544)
    torch.testing.assert_close(fast.insertion_curve, ref.insertion_curve, atol=1e-4, rtol=0)
    torch.testing.assert_close(fast.deletion_curve, ref.deletion_curve, atol=1e-4, rtol=0)
    torch.testing.assert_close(fast.target, ref.target)


def test_auto_converts_only_large_calls(tiny_model, monkeypatch):
    ov = execution.openvino()
    model = _tiny(tiny_model)
    x = torch.rand(2, 3, 32, 32)
    with execution.policy_scope("auto"):
        execution.predict(model, x, batch_size=4)
        assert model not in execution.OPENVINO and model not in execution.COMPILED
        large = execution.forward_only(model, execution.COMPILE_MIN_SAMPLES, 4)(x)
        assert model in execution.OPENVINO and model not in execution.COMPILED
        small = execution.predict(model, x, batch_size=4)  # small calls now reuse the conversion of that shape
        assert len(execution.OPENVINO.get(model).requests) == 1
        assert execution.forward_backend("cpu").startswith(f"openvino {ov.__version__.split('-')[0]} (f32, 1 inference thread")
        assert execution.forward_backend("cuda").startswith("torch.compile")  # CUDA stays on torch
    torch.testing.assert_close(large, small)
    with execution.policy_scope("eager"):
        torch.testing.assert_close(large, model(x), atol=1e-5, rtol=1e-5)


class _Unconvertible(nn.Module):
    """A classifier OpenVINO has no conversion rule for (singular values)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.linalg.svdvals(self.conv(x).flatten(2))


def test_failed_conversion_falls_back_visibly(monkeypatch, capsys):
    monkeypatch.setattr(torch, "compile", lambda net, **kw: net)  # the compiled path, without a compiler's wait
    torch.manual_seed(0)
    model = _Unconvertible().eval()
    x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    with execution.policy_scope("openvino"):
        out = execution.predict(model, x, batch_size=4)
        again = execution.predict(model, x, batch_size=4)
    with execution.policy_scope("eager"), torch.no_grad():
        ref = model(x)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(again, out)
    err = capsys.readouterr().err
    assert err.count("OpenVINO conversion failed") == 1 and "aten::linalg_svdvals" in err and "run torch.compile" in err
    assert execution.OPENVINO.get(model) is None and model in execution.COMPILED


def test_bad_precision_name(monkeypatch, tiny_model):
    monkeypatch.setenv("ATTX_OPENVINO_PRECISION", "int4")
    with pytest.raises(ValueError, match="ATTX_OPENVINO_PRECISION must be one of"):
        execution.forward_backend("cpu")
