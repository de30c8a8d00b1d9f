"""The same code on CUDA as on the CPU (`pytest -m gpu`; skipped without a GPU): every method and metric on
EfficientNet-Lite0, CUDA against CPU. TF32 is switched off so both sides compute in fp32."""
from __future__ import annotations

import pytest
import torch

from attx_core import execution, models
from attx_core.methods import METHODS, attribute
from attx_core.metrics import infidelity, insertion_deletion

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")]

# Small settings: seconds per method. Sign-stepping explorers amplify float differences, so their maps are
# compared by correlation, everything else by correlation too (different kernels, same maths).
SMALL = {"attexplore": {"N": 4, "num_steps": 3}, "agi": {"num_classes": 3, "num_steps": 5}, "big": {"num_steps": 5, "steps": 8},
         "ig": {"steps": 8}, "smoothgrad": {"n_samples": 8}, "guided_ig": {"steps": 8}, "mfaba": {},
         "expected_gradients": {"n_samples": 8}}
SIGN_STEPPING = {"attexplore", "agi", "big", "mfaba"}


@pytest.fixture(scope="module")
def pair():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cpu, gpu = models.load("efficientnet_lite0"), models.load("efficientnet_lite0", device="cuda")
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 224, 224, generator=g)
    return cpu, gpu, x, cpu(x).argmax(1)


def _corr(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return float(((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))).min())


@pytest.mark.parametrize("method", sorted(METHODS))
def test_method_on_cuda_matches_cpu(pair, method):
    cpu, gpu, x, y = pair
    params = {k: v for k, v in SMALL.get(method, {}).items() if k in METHODS[method].defaults}
    ref = attribute(cpu, x, y, method=method, **params)
    out = attribute(gpu, x.cuda(), y.cuda(), method=method, **params)
    assert out.device.type == "cuda" and out.shape == ref.shape
    assert _corr(ref, out.cpu()) >= (0.9 if method in SIGN_STEPPING else 0.999)


def test_metrics_on_cuda_match_cpu(pair):
    cpu, gpu, x, y = pair
    maps = attribute(cpu, x, y, method="saliency")
    ref = insertion_deletion(cpu, x, maps, step=224 * 16)
    for policy in ("eager", "compiled"):
        with execution.policy_scope(policy):
            out = insertion_deletion(gpu, x.cuda(), maps.cuda(), step=224 * 16)
        torch.testing.assert_close(out.insertion.cpu(), ref.insertion, atol=1e-3, rtol=0)
        torch.testing.assert_close(out.deletion.cpu(), ref.deletion, atol=1e-3, rtol=0)
    torch.testing.assert_close(infidelity(gpu, x.cuda(), maps.cuda(), y.cuda(), n_perturbations=8).cpu(),
                               infidelity(cpu, x, maps, y, n_perturbations=8), rtol=1e-2, atol=1e-4)


def test_robustness_training_and_attack_on_cuda_match_cpu(tmp_path, monkeypatch):
    """A tiny robustness study (train with a regularizer, NA, AA, top-k attack) on CUDA matches the CPU's."""
    import torch.nn.functional as F

    from attx_core.robust import datasets
    from attx_core.robust import evaluate as robust_eval

    g = torch.Generator().manual_seed(0)
    x, y = F.interpolate(torch.rand(64, 1, 8, 8, generator=g), size=28), torch.arange(64) % 10
    monkeypatch.setattr(datasets, "_mnist", lambda split, root: (x, y))
    tiny = robust_eval.Scale(n_train=64, epochs=1, width=0.125, n_test=32, n_attack=2, pgd_eval_steps=2,
                               train={"pgd_steps": 1, "ig_m": 4, "ig_every": 4, "batch_size": 32},
                               attack={"iterations": 2, "ig_steps": 4, "k": 20, "eval_k": 10})
    monkeypatch.setitem(robust_eval.SCALES, "tiny", tiny)
    rows = {}
    for dev in ("cpu", "cuda"):
        monkeypatch.setenv("ATTX_CHECKPOINTS", str(tmp_path / dev))
        rows[dev] = robust_eval.run_study("mnist", ["natural", "ar"], scale="tiny", progress=False, device=dev)
    for column in ("NA", "AA", "ce_final"):
        assert rows["cuda"][column].tolist() == pytest.approx(rows["cpu"][column].tolist(), abs=1e-3)
