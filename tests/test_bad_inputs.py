"""The bad-input matrix: every mistake a new user makes gets ONE clear message naming the problem.

API cases raise ``ValueError`` whose message matches a pattern naming the problem. CLI cases exit with
status 2, print exactly one line on stderr (no traceback), and argument errors are reported before any
model is loaded (``models.load`` is replaced by a function that fails the test).
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import attx_core
from attx_core import attribute, data, models, store
from attx_core.cli import main
from attx_core.methods import METHODS, registry
from attx_core.metrics import insertion_deletion

CUDA = torch.cuda.is_available()


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def x2():
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="module")
def token_model():
    """A wrapped MLP: no feature maps at all, so no Grad-CAM or NAA layer can be found."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10))
    return models.wrap(net, mean=0.5, std=0.25, input_size=16, fixed_size=True)


def _png(path, size=(40, 40)):
    arr = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


def _labels(folder, text):
    (folder / "labels.csv").write_text(text)


# --- API: attribute() -------------------------------------------------------------------------------

T = torch.tensor
API_ATTRIBUTE = [
    # (id, kwargs for attribute beyond model/x, regex the message must match)
    ("target-float-whole", dict(target=3.0), r"got the float 3\.0"),
    ("target-float-frac", dict(target=2.5), r"float 2\.5"),
    ("target-bool", dict(target=True), r"bool True"),
    ("target-list-bool", dict(target=[1, True]), r"bool value"),
    ("target-string", dict(target="cat"), r"string 'cat'"),
    ("target-none", dict(target=None), r"got None"),
    ("target-float-tensor", dict(target=T([1.0, 2.0])), r"dtype torch\.float32"),
    ("target-bool-tensor", dict(target=T([True, False])), r"bool tensor"),
    ("target-list-floats", dict(target=[1.0, 2.0]), r"float value"),
    ("target-numpy-float", dict(target=np.float64(4.0)), r"float"),
    ("target-out-of-range", dict(target=[1, 1000]), r"0\.\.999.*1000"),
    ("target-negative", dict(target=-1), r"0\.\.999"),
    ("target-count", dict(target=[1, 2, 3]), r"3 entries but the batch has 2"),
    ("method-unknown", dict(target=1, method="attexplorer"), r"unknown method 'attexplorer'"),
    ("param-unknown", dict(target=1, method="ig", n_steps=5), r"does not take parameter\(s\) n_steps"),
    ("param-int-frac", dict(target=1, method="ig", steps=2.5), r"steps must be an integer, got float 2\.5"),
    ("param-int-whole-float", dict(target=1, method="ig", steps=4.0), r"steps must be an integer, got float 4\.0"),
    ("param-int-bool", dict(target=1, method="ig", steps=True), r"steps must be an integer, got bool"),
    ("param-float-string", dict(target=1, method="smoothgrad", std="0.1"), r"std must be a number, got str"),
    ("param-dict-int", dict(target=1, method="attexplore", attack_params=3), r"attack_params must be a dict or None, got int"),
    ("param-list-string", dict(target=1, method="big", epsilons="abc"), r"epsilons must be a list of numbers"),
    ("param-bool-string", dict(target=1, method="saliency", abs="yes"), r"abs must be a bool"),
    ("param-inner-type", dict(target=1, method="attexplore", attack_params={"epsilon": "big"}),
     r"attack 'ssa': parameter epsilon must be a number, got str 'big'"),
    ("progress-not-bool", dict(target=1, method="saliency", progress="yes"), r"progress must be True, False or None"),
]


@pytest.mark.parametrize("case", API_ATTRIBUTE, ids=[c[0] for c in API_ATTRIBUTE])
def test_attribute_bad_arguments(case, tiny_model, x2):
    _, kwargs, pattern = case
    kwargs = dict(kwargs)
    target = kwargs.pop("target")
    method = kwargs.pop("method", "saliency")
    with pytest.raises(ValueError, match=pattern):
        attribute(tiny_model, x2, target, method=method, **kwargs)


API_IMAGES = [
    ("empty-batch", lambda: torch.rand(0, 3, 32, 32), r"empty batch"),
    ("uint8", lambda: (torch.rand(2, 3, 32, 32) * 255).byte(), r"dtype torch\.uint8.*x\.float\(\) / 255"),
    ("rank3", lambda: torch.rand(3, 32, 32), r"rank 4.*x\[None\]"),
    ("channels-last", lambda: torch.rand(2, 32, 32, 3), r"3 colour channels.*permute"),
    ("grayscale", lambda: torch.rand(2, 1, 32, 32), r"3 colour channels.*grayscale"),
    ("range-255", lambda: torch.rand(2, 3, 32, 32) * 255, r"\[0, 1\]"),
    ("nan", lambda: torch.full((2, 3, 32, 32), float("nan")), r"NaN"),
    ("numpy", lambda: np.zeros((2, 3, 32, 32), np.float32), r"torch\.Tensor.*from_numpy"),
    ("zero-width", lambda: torch.rand(2, 3, 32, 0), r"height and width"),
]


@pytest.mark.parametrize("case", API_IMAGES, ids=[c[0] for c in API_IMAGES])
def test_attribute_bad_images(case, tiny_model):
    _, make, pattern = case
    with pytest.raises(ValueError, match=pattern):
        attribute(tiny_model, make(), 1, method="saliency")


def test_model_none_and_string(x2):
    with pytest.raises(ValueError, match=r"model is None"):
        attribute(None, x2, [1, 2], method="saliency")
    with pytest.raises(ValueError, match=r"nn\.Module.*models\.load\(name\)"):
        attribute("tiny_cnn", x2, [1, 2], method="saliency")


def test_images_smaller_than_lite0_can_see(lite0):
    with pytest.raises(ValueError, match=r"8x8 pixels, smaller than the 32x32 that model 'efficientnet_lite0' needs"):
        attribute(lite0, torch.rand(1, 3, 8, 8), 1, method="saliency")


def test_fixed_size_model_refuses_other_sizes(token_model):
    with pytest.raises(ValueError, match=r"32x32 pixels but model 'custom' only accepts 16x16"):
        attribute(token_model, torch.rand(1, 3, 32, 32), 1, method="saliency")


def test_missing_layer_metadata_is_named(token_model):
    x = torch.rand(1, 3, 16, 16)
    with pytest.raises(ValueError, match=r"no gradcam_layer metadata"):
        attribute(token_model, x, 1, method="gradcam")
    with pytest.raises(ValueError, match=r"no layer metadata.*feature_layer=None.*models\.wrap"):
        attribute(token_model, x, 1, method="attexplore", attack="naa", num_steps=1, attack_params={"ensemble": 1})


def test_float64_images_are_converted(tiny_model, x2):
    ref = attribute(tiny_model, x2, [1, 2], method="ig", steps=4)
    out = attribute(tiny_model, x2.double(), [1, 2], method="ig", steps=4)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref)


def test_integer_targets_of_every_kind_are_accepted(tiny_model, x2):
    ref = attribute(tiny_model, x2, torch.tensor([1, 2]), method="saliency")
    for target in ([1, 2], (1, 2), np.array([1, 2]), [np.int64(1), np.int64(2)], torch.tensor([1, 2], dtype=torch.int32)):
        torch.testing.assert_close(attribute(tiny_model, x2, target, method="saliency"), ref)


# --- API: models ------------------------------------------------------------------------------------


def test_load_bad_names():
    with pytest.raises(ValueError, match=r"non-empty string.*None"):
        models.load(None)
    with pytest.raises(ValueError, match=r"unknown model 'resnet5O'.*timm:<name>"):
        models.load("resnet5O")
    with pytest.raises(ValueError, match=r"unknown timm model 'no_such_net'"):
        models.load("timm:no_such_net")
    with pytest.raises(ValueError, match=r"unknown torchvision classifier 'resnet5'.*did you mean"):
        models.load("torchvision:resnet5")


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_load_on_unavailable_device():
    with pytest.raises(ValueError, match=r"device 'cuda' is not available: CUDA is not available"):
        models.load("tiny_cnn", weights=None, device="cuda")


def test_load_on_unknown_device():
    with pytest.raises(ValueError, match=r"unknown device 'gpu'"):
        models.load("tiny_cnn", weights=None, device="gpu")


def test_weights_that_are_not_a_checkpoint(tmp_path):
    garbage = tmp_path / "w.pth"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ValueError, match=r"w\.pth' is not a PyTorch checkpoint"):
        models.load("tiny_cnn", weights=garbage)
    tensor = tmp_path / "t.pth"
    torch.save(torch.zeros(3), tensor)
    with pytest.raises(ValueError, match=r"holds a Tensor, not a state dict"):
        models.load("tiny_cnn", weights=tensor)
    other = tmp_path / "other.pth"
    torch.save(nn.Linear(2, 2).state_dict(), other)
    with pytest.raises(ValueError, match=r"does not fit model 'tiny_cnn': .*missing key"):
        models.load("tiny_cnn", weights=other)
    with pytest.raises(ValueError, match=r"is a directory"):
        models.load("tiny_cnn", weights=tmp_path)
    with pytest.raises(ValueError, match=r"weights must be 'auto', None or a path"):
        models.load("tiny_cnn", weights=3)
    assert issubclass(models.WeightsUnavailableError, ValueError)


def test_wrap_bad_arguments():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 5))
    good = dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), input_size=16)
    with pytest.raises(ValueError, match=r"net must be a torch\.nn\.Module"):
        models.wrap(None, **good)
    with pytest.raises(ValueError, match=r"0-255 values"):
        models.wrap(net, mean=(123.7, 116.3, 103.5), std=(58.4, 57.1, 57.4), input_size=16)
    with pytest.raises(ValueError, match=r"std must be positive"):
        models.wrap(net, mean=(0.5, 0.5, 0.5), std=(0.5, 0.0, 0.5), input_size=16)
    with pytest.raises(ValueError, match=r"mean must be 3 numbers"):
        models.wrap(net, mean=(0.5, 0.5), std=(0.5, 0.5, 0.5), input_size=16)
    with pytest.raises(ValueError, match=r"input_size must be a positive integer"):
        models.wrap(net, **{**good, "input_size": 2.5})
    with pytest.raises(ValueError, match=r"gradcam_layer 'layer4' is not a submodule.*0, 1, 2"):
        models.wrap(net, **good, gradcam_layer="layer4")
    with pytest.raises(ValueError, match=r"class_names has 3 names but the network returns 5 logits"):
        models.wrap(net, **good, class_names=["a", "b", "c"])

    class TupleNet(nn.Module):
        def forward(self, x):
            return x.mean((2, 3)), x

    with pytest.raises(ValueError, match=r"must return a logits tensor.*tuple"):
        models.wrap(TupleNet(), **good)
    with pytest.raises(ValueError, match=r"net failed on a \(1, 3, 16, 16\) input"):
        models.wrap(nn.Linear(7, 2), **good)


# --- API: data --------------------------------------------------------------------------------------


def test_labels_conflicting_duplicate(tmp_path):
    _png(tmp_path / "a.png")
    _labels(tmp_path, "file,label\na.png,1\na.png,2\n")
    with pytest.raises(ValueError, match=r"'a\.png' is listed twice with different labels \(1 on line 2, 2 on line 3\)"):
        data.load_folder(tmp_path)


def test_labels_identical_duplicate(tmp_path):
    _png(tmp_path / "a.png")
    _labels(tmp_path, "file,label\na.png,1\na.png,1\n")
    with pytest.raises(ValueError, match=r"'a\.png' is listed twice \(lines 2 and 3\)"):
        data.load_folder(tmp_path)


def test_labels_row_without_label(tmp_path):
    _png(tmp_path / "a.png")
    _png(tmp_path / "b.png")
    _labels(tmp_path, "file,label\na.png,1\nb.png\n")
    with pytest.raises(ValueError, match=r"line 3: file 'b\.png' has no label"):
        data.load_folder(tmp_path)
    _labels(tmp_path, "file,label\na.png,1\nb.png,\n")
    with pytest.raises(ValueError, match=r"line 3: file 'b\.png' has no label"):
        data.load_folder(tmp_path)


def test_labels_row_without_file(tmp_path):
    _png(tmp_path / "a.png")
    _labels(tmp_path, "file,label\n,5\n")
    with pytest.raises(ValueError, match=r"line 2: no file name"):
        data.load_folder(tmp_path)


def test_labels_non_integer(tmp_path):
    _png(tmp_path / "a.png")
    _labels(tmp_path, "file,label\na.png,dog\n")
    with pytest.raises(ValueError, match=r"line 2: label 'dog' for file 'a\.png' is not a class index \(an integer\) or a synset id"):
        data.load_folder(tmp_path)


def test_mixed_sizes_with_size_none(tmp_path):
    _png(tmp_path / "a.png", (40, 30))
    _png(tmp_path / "b.png", (50, 50))
    _labels(tmp_path, "file,label\na.png,1\nb.png,2\n")
    with pytest.raises(ValueError, match=r"different sizes \(a\.png 30x40, b\.png 50x50\).*pass size=N"):
        data.load_folder(tmp_path, size=None)
    assert data.load_folder(tmp_path, size=16).x.shape == (2, 3, 16, 16)


def test_read_image_bad_size_and_directory(tmp_path):
    path = _png(tmp_path / "a.png")
    for size in (0, 2.5, True, "224"):
        with pytest.raises(ValueError, match=r"size must be a positive integer"):
            data.read_image(path, size)
    with pytest.raises(ValueError, match=r"is a directory, not an image file"):
        data.read_image(tmp_path)


# --- kind 1: image loaders give the pixels and labels the files hold -------------------------------


def _class_folders(root, names):
    for name in names:
        (root / name).mkdir(parents=True)
        _png(root / name / "x.png")
    return root


def test_imagenet_val_class_folders_get_their_synset_index(tmp_path):
    root = _class_folders(tmp_path, ["n01440764", "n01443537", "n15075141", ".ipynb_checkpoints"])
    assert data.load_imagenet_val(root, size=16).labels.tolist() == [0, 1, 999]  # a subset, a hidden folder ignored


def test_imagenet_val_refuses_folders_that_are_not_synsets(tmp_path):
    root = _class_folders(tmp_path, ["n01440764", "cats", "n99999999"])
    with pytest.raises(ValueError, match=r"named by ImageNet synset.*2 are not: cats, n99999999"):
        data.load_imagenet_val(root, size=16)


def test_imagenet_val_suffix_case_and_other_files(tmp_path):
    root = _class_folders(tmp_path, ["n01440764"])
    _png(root / "n01440764" / "y.Jpeg")
    (root / "n01440764" / "notes.txt").write_text("hello")
    (root / "n01440764" / ".DS_Store").write_bytes(b"")
    with pytest.warns(UserWarning, match=r"skipped 1 file\(s\) that are not images \(notes\.txt\)"):
        images = data.load_imagenet_val(root, size=16)
    assert images.names == ["x.png", "y.Jpeg"]


def test_ground_truth_synsets_and_a_bad_line(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    _png(flat / "a.png")
    _png(flat / "b.png")
    gt = tmp_path / "gt.txt"
    gt.write_text("n15075141\n7\n")
    assert data.load_imagenet_val(flat, size=16, ground_truth=gt).labels.tolist() == [999, 7]
    gt.write_text("n15075141\nseven\n")
    with pytest.raises(ValueError, match=r"gt\.txt line 2: label 'seven' is not a class index"):
        data.load_imagenet_val(flat, size=16, ground_truth=gt)
    gt.write_text("n00000001\n7\n")
    with pytest.raises(ValueError, match=r"gt\.txt line 1: 'n00000001' is not an ImageNet-1k synset"):
        data.load_imagenet_val(flat, size=16, ground_truth=gt)


def test_labels_csv_with_a_bom_and_synset_labels(tmp_path):
    _png(tmp_path / "a.png")
    (tmp_path / "labels.csv").write_text("\ufefffile,label\na.png,n01443537\n", encoding="utf-8")
    assert data.load_folder(tmp_path, size=16).labels.tolist() == [1]


def test_16_bit_and_float_images_keep_their_range(tmp_path):
    gray16 = tmp_path / "g16.png"
    Image.fromarray(np.full((40, 40), 16384, np.uint16)).save(gray16)
    assert Image.open(gray16).mode == "I;16"
    torch.testing.assert_close(data.read_image(gray16, 16), torch.full((3, 16, 16), 16384 / 65535))
    tiff = tmp_path / "f.tif"
    Image.fromarray(np.full((40, 40), 0.3, np.float32)).save(tiff)
    torch.testing.assert_close(data.read_image(tiff, 16), torch.full((3, 16, 16), 0.3))
    Image.fromarray(np.full((40, 40), 200.0, np.float32)).save(tiff)
    with pytest.raises(ValueError, match=r"f\.tif: float pixel values in \[200, 200\]; float images must hold intensities in \[0, 1\]"):
        data.read_image(tiff, 16)


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 tall: left half black, right half white
    arr[:, 20:] = 255
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # the camera was turned: display rotated 90 degrees clockwise
    path = tmp_path / "phone.jpg"
    img.save(path, exif=exif, quality=100)
    x = data.read_image(path, None)
    assert x.shape == (3, 40, 20)  # upright: 20 wide, 40 tall
    assert x[:, :15].mean() < 0.1 and x[:, 25:].mean() > 0.9  # black on top, white below


def test_decompression_bomb_is_one_error(tmp_path, monkeypatch, capsys):
    path = _png(tmp_path / "huge.png", (100, 100))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 100x100 stands in for 20000x20000
    with pytest.raises(ValueError, match=r"huge\.png is too large to decode safely.*downscale it"):
        data.read_image(path)
    _one_line_error(capsys, r"huge\.png is too large to decode safely", ["explain", str(path), *TINY, "--out", str(tmp_path / "h.png")])


@pytest.mark.parametrize("kind", ["gray16", "float"])
def test_explain_runs_on_16_bit_and_float_images(kind, tmp_path, capsys):
    path = tmp_path / ("g16.png" if kind == "gray16" else "f.tif")
    ramp = np.linspace(0, 1, 48 * 48, dtype=np.float32).reshape(48, 48)
    Image.fromarray((ramp * 65535).astype(np.uint16) if kind == "gray16" else ramp).save(path)
    assert main(["explain", str(path), *TINY, "--out", str(tmp_path / "h.png")]) == 0
    assert (tmp_path / "h.png").is_file()
    capsys.readouterr()


# --- kind 2: user models ---------------------------------------------------------------------------


def _bn_net(classes: int = 10) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes))


def test_train_mode_model_is_explained_in_eval_mode_and_left_as_it_was(x2):
    model = models.wrap(_bn_net(), mean=0.5, std=0.25, input_size=32)
    expected = attribute(model, x2, [1, 2], method="ig", steps=4)
    model.train()
    model.net[3].eval()  # a module the user left in eval mode stays so
    modes = [m.training for m in model.modules()]
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.warns(RuntimeWarning, match=r"is in training mode: explained in eval mode"):
        got = attribute(model, x2, [1, 2], method="ig", steps=4)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    assert [m.training for m in model.modules()] == modes
    for k, v in model.state_dict().items():
        assert torch.equal(v, buffers[k]), k  # batch-norm running statistics and counters untouched


class _Head(nn.Module):
    """A raw network (not wrapped) whose output is ``post`` applied to 10 logits."""

    def __init__(self, post, classes: int = 10):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, classes))
        self.post = post

    def forward(self, x):
        return self.post(self.body(x))


USER_MODELS = [
    ("probabilities", lambda z: z.softmax(1), 10, r"returns probabilities \(each row is >= 0 and sums to 1\), not logits: remove its final softmax"),
    ("one-logit", lambda z: z, 1, r"returns one logit per image \(a binary classifier\).*torch\.cat\(\[torch\.zeros_like\(z\), z\], dim=1\)"),
    ("tuple", lambda z: (z, z.detach()), 10,
     r"must return a logits tensor \(B, classes\), it returned a tuple of 2 items: return the logits \(e\.g\. out\[0\]\)"),
    ("dict", lambda z: {"logits": z, "features": z}, 10, r"returned a dict with keys \['logits', 'features'\]: return the logits entry"),
    ("nan-logits", lambda z: z * float("nan"), 10, r"returned NaN or inf logits"),
]


@pytest.mark.parametrize("method", ["saliency", "ig", "agi"])
@pytest.mark.parametrize("case", USER_MODELS, ids=[c[0] for c in USER_MODELS])
def test_models_that_do_not_return_logits_are_named(case, method, x2):
    _, post, classes, pattern = case
    params = dict(ig=dict(steps=3), agi=dict(num_steps=2, num_classes=1)).get(method, {})
    with pytest.raises(ValueError, match=pattern):
        attribute(_Head(post, classes), x2, [0, 0], method=method, **params)


@pytest.mark.parametrize("case", USER_MODELS[:2], ids=[c[0] for c in USER_MODELS[:2]])
def test_wrap_refuses_probabilities_and_one_logit(case):
    _, post, classes, pattern = case
    with pytest.raises(ValueError, match=pattern.replace("returns", "net returns", 1)):
        models.wrap(_Head(post, classes), mean=0.5, std=0.25, input_size=16)


def test_target_beyond_the_class_count_of_a_raw_network(x2):
    with pytest.raises(ValueError, match=r"target class indices must lie in 0\.\.9 \(model '_Head' returns 10 logits\), got \[1, 50\]"):
        attribute(_Head(lambda z: z), x2, [1, 50], method="saliency")


def test_nan_weights_are_named():
    model = models.load("tiny_cnn", weights=None)
    with torch.no_grad():
        model.net.fc.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"model parameter 'net\.fc\.weight' contains NaN or inf values: the weights are damaged"):
        attribute(model, torch.rand(1, 3, 32, 32), 1, method="ig", steps=3)


def test_nan_scores_on_a_curve_raise_instead_of_a_nan_auc():
    """A network that gives NaN only on masked images (a finite map, finite logits on the photo) still gets no AUC."""
    net = _Head(lambda z: z, 10)
    model = nn.Sequential()
    model.forward = lambda x: net(x) * torch.where((x == 0).any(dim=(1, 2, 3)), float("nan"), 1.0)[:, None]
    x = torch.rand(2, 3, 16, 16) * 0.9 + 0.1
    with pytest.raises(ValueError, match=r"insertion_deletion: the model returned NaN or inf scores on the curves of image\(s\) \[0, 1\]"):
        insertion_deletion(model, x, torch.rand(2, 3, 16, 16), target=[0, 1], step=64)


# --- kind 3: extreme parameters -------------------------------------------------------------------

NAN = float("nan")
EXTREME = [
    # (method, params, regex): refused before any pass, naming the parameter
    ("smoothgrad", dict(std=float("inf")), r"method 'smoothgrad': parameter std must be finite, got inf"),
    ("smoothgrad", dict(std=1e30), r"method 'smoothgrad': std must lie in \[0, 1\]"),
    ("agi", dict(step=float("inf")), r"parameter step must be finite"),
    ("big", dict(epsilons=[float("inf")]), r"parameter epsilons\[0\] must be finite"),
    ("ig", dict(baseline=torch.full((1, 3, 32, 32), NAN)), r"parameter baseline contains NaN or inf"),
    ("attexplore", dict(attack_params={"sigma": NAN}), r"parameter attack_params\['sigma'\] must be finite"),
    ("attexplore", dict(attack_params={"N": "ten"}), r"attack 'ssa': parameter N must be an integer, got str 'ten'"),
    ("smoothgrad", dict(seed=2**63), r"parameter seed must be a 64-bit integer \(-2\*\*63 \.\. 2\*\*63 - 1\), got 9223372036854775808"),
    ("attexplore", dict(seed=2**63), r"parameter seed must be a 64-bit integer"),
    ("smoothgrad", dict(n_samples=10**12), r"would run 1e\+12 forward\+backward passes per image.*more than the 1e\+08 .*lower n_samples"),
    ("attexplore", dict(num_steps=10**9), r"would run 2e\+10 forward\+backward passes per image.*lower num_steps"),
    ("ig", dict(output="probs"), r"method 'ig': output must be one of \('prob', 'logit'\), got 'probs'"),
]


@pytest.mark.parametrize("case", EXTREME, ids=[f"{c[0]}-{next(iter(c[1]))}-{i}" for i, c in enumerate(EXTREME)])
def test_extreme_parameters_are_refused_by_name(case, tiny_model, x2, monkeypatch):
    method, params, pattern = case
    monkeypatch.setattr(registry, "_progress", lambda *a: pytest.fail("work started before the parameters were checked"))
    with pytest.raises(ValueError, match=pattern):
        attribute(tiny_model, x2, [1, 2], method=method, **params)


def test_ti_kernel_wider_than_the_images_is_refused(tiny_model, x2):
    with pytest.raises(ValueError, match=r"ti_size=1000001 is wider than twice the images \(32 pixels\).*~1\.12e\+04 GiB; use at most 65"):
        attribute(tiny_model, x2, [1, 2], method="attexplore", ti_size=10**6 + 1)


def test_batches_larger_than_memory_run_in_groups(tiny_model, monkeypatch):
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    whole = attribute(tiny_model, x, [1, 2, 3, 4, 5], method="ig", steps=4)
    per_image = 5 * x[0].numel() * 4 * registry.COPIES  # steps + 1 samples per image
    monkeypatch.setattr(registry, "available_memory", lambda device: 2 * per_image / registry.MEMORY_SHARE)
    assert registry.images_per_call("ig", {"steps": 4}, x) == 2
    torch.testing.assert_close(attribute(tiny_model, x, [1, 2, 3, 4, 5], method="ig", steps=4), whole, rtol=0, atol=0)
    monkeypatch.setattr(registry, "available_memory", lambda device: per_image)
    pattern = r"method 'ig' would hold ~.* GiB for one \(3, 32, 32\) image \(steps \+ 1 = 5 image-sized samples at once\); .* free: lower steps"
    with pytest.raises(ValueError, match=pattern):
        attribute(tiny_model, x, [1, 2, 3, 4, 5], method="ig", steps=4)


def test_long_work_prints_progress_lines_when_stderr_is_not_a_terminal(tiny_model, x2, capsys, monkeypatch):
    monkeypatch.setattr(registry, "PROGRESS_LOG_SECONDS", 0.0)
    attribute(tiny_model, x2, [1, 2], method="ig", steps=3)
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines and lines[-1].startswith("attx: ig (2 images): 6/6 passes (100.0%),") and "elapsed" in lines[-1]


def test_attx_chunk_that_is_not_a_number_is_named(tiny_model, x2, monkeypatch):
    for text in ("abc", "0", "-3"):
        monkeypatch.setenv("ATTX_CHUNK", text)
        with pytest.raises(ValueError, match=rf"variable ATTX_CHUNK must be a positive integer \(samples per forward/backward chunk\), got '{text}'"):
            attribute(tiny_model, x2, [1, 2], method="saliency")


CLI_RANGES = [
    (["--method", "smoothgrad", "--param", "std=-1"], r"method 'smoothgrad': std must lie in \[0, 1\]"),
    (["--method", "ig", "--param", "steps=0"], r"method 'ig': steps must be an integer >= 1"),
    (["--method", "agi", "--param", "step=-1"], r"method 'agi': step must be > 0"),
    (["--method", "mfaba", "--param", "softmaxes=3"], r"method 'mfaba': softmaxes must be 0"),
    (["--method", "smoothgrad", "--param", "std=NaN"], r"parameter std must be finite, got nan"),
    (["--method", "attexplore", "--param", 'attack_params={"N": "ten"}'], r"parameter N must be an integer, got str 'ten'"),
    (["--method", "attexplore", "--param", "num_steps=1000000000"], r"would run 2e\+10 forward\+backward passes per image"),
    (["--method", "smoothgrad", "--param", "seed=9223372036854775808"], r"parameter seed must be a 64-bit integer"),
]


@pytest.mark.parametrize("case", CLI_RANGES, ids=[c[0][1] + "-" + c[0][3].partition("=")[0] for c in CLI_RANGES])
def test_explain_range_errors_come_before_the_model_loads(case, photo, capsys, no_model):
    args, pattern = case
    _one_line_error(capsys, pattern, ["explain", str(photo), *TINY, *args])


def test_explain_save_map_keeps_the_name_given(photo, tmp_path, capsys):
    saved = tmp_path / "c16.NPY"
    assert main(["explain", str(photo), *TINY, "--out", str(tmp_path / "h.png"), "--save-map", str(saved)]) == 0
    assert saved.is_file() and not (tmp_path / "c16.NPY.npy").exists()
    assert np.load(saved).shape == (3, 32, 32)
    capsys.readouterr()


# --- kind 4: a damaged store -----------------------------------------------------------------------

DAMAGE = [
    ("garbage", b"\x00\xff\x13 not json at all", r"not valid JSON"),
    ("truncated", None, r"not valid JSON"),
    ("empty", b"", r"empty file"),
    ("list", b"[]", r"JSON list without a 'records' object"),
    ("no-records", b"{}", r"JSON dict without a 'records' object"),
]


@pytest.mark.parametrize("case", DAMAGE, ids=[c[0] for c in DAMAGE])
def test_damaged_store_record_is_quarantined_and_recomputed(case, tmp_path, capsys):
    _, damage, pattern = case
    results = store.ResultsStore("p", root=tmp_path)
    entry = results.entry("insdel", {"model": "m", "method": "ig"})
    entry.put({"a": {"v": 1}, "b": {"v": 2}})
    neighbour = results.entry("insdel", {"model": "m", "method": "saliency"})
    neighbour.put({"a": {"v": 3}})
    good = entry.path.read_bytes()
    entry.path.write_bytes(good[: len(good) // 2] if damage is None else damage)
    damaged = entry.path.read_bytes()

    fresh = results.entry("insdel", {"model": "m", "method": "ig"})
    err = capsys.readouterr().err
    assert fresh.missing(["a", "b"]) == ["a", "b"]  # treated as missing: recomputed
    (moved,) = list((entry.path.parent / ".quarantine").iterdir())
    assert moved.read_bytes() == damaged and moved.name.startswith(entry.path.name)  # never deleted
    assert __import__("re").search(rf"attx: damaged store record .*{entry.path.name} \({pattern}.*moved to .*\.quarantine.*recomputed", err), err
    assert fresh.compute(["a", "b"], lambda ids: [{"v": 9} for _ in ids], batch_size=2) == [{"v": 9}, {"v": 9}]
    assert results.entry("insdel", {"model": "m", "method": "ig"}).records == {"a": {"v": 9}, "b": {"v": 9}}
    assert results.entry("insdel", {"model": "m", "method": "saliency"}).records == {"a": {"v": 3}}  # the rest keeps working
    assert "damaged" not in capsys.readouterr().err  # named once


def test_damaged_record_found_while_storing_is_quarantined_too(tmp_path, capsys):
    entry = store.ResultsStore("p", root=tmp_path).entry("insdel", {"model": "m"})
    entry.path.parent.mkdir(parents=True)
    entry.path.write_text("{")
    entry.put({"a": {"v": 1}})
    assert store.ResultsStore("p", root=tmp_path).entry("insdel", {"model": "m"}).records == {"a": {"v": 1}}
    assert "damaged store record" in capsys.readouterr().err
    assert [p.read_text() for p in (entry.path.parent / ".quarantine").iterdir()] == ["{"]


def test_a_damaged_file_among_a_stores_entries_is_set_aside_not_read(tmp_path, capsys):
    """Reading every entry (the compute log, the cost measurement) leaves a damaged file out and quarantines it."""
    results = store.ResultsStore("p", root=tmp_path)
    results.entry("insdel", {"model": "m", "method": "ig"}).put({"a": {"v": 1}})
    damaged = results.entry("insdel", {"model": "m", "method": "sg"}).path
    damaged.write_text('{"key": ')
    assert [e.key["method"] for e in results.entries()] == ["ig"]
    assert "damaged store record" in capsys.readouterr().err and not damaged.exists()
    assert [p.read_text() for p in (damaged.parent / ".quarantine").iterdir()] == ['{"key": ']


@pytest.mark.parametrize("only", ["", ",", " , "])
def test_compute_with_an_empty_only_is_refused(only, capsys):
    _one_line_error(capsys, r"--only names no chapter", ["compute", "--profile", "quick", "--only", only])


# --- kind 6: imports in any order -----------------------------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)


def test_torchvision_and_timm_before_attx_core_in_this_environment():
    from attx_core import _tv_shim

    if _tv_shim.needed():
        assert (Path(sysconfig.get_paths()["purelib"]) / _tv_shim.PTH_NAME).is_file(), "run `make setup`: it installs the import hook"
    done = _python("import torchvision, timm, attx_core; print(attx_core.models.load('timm:test_resnet', weights=None).name)")
    assert done.returncode == 0 and done.stdout.strip() == "timm:test_resnet", done.stderr[-2000:]


def test_the_pth_hook_alone_lets_torchvision_come_first():
    from attx_core import _tv_shim

    line = _tv_shim.pth_line()
    done = _python(f"exec({line!r}); import torchvision.models as m, attx_core; print(m.resnet18().fc.out_features)")
    assert done.returncode == 0 and done.stdout.strip() == "1000", done.stderr[-2000:]


def test_pth_is_installed_only_where_needed(tmp_path, monkeypatch):
    from attx_core import _tv_shim

    monkeypatch.setattr(_tv_shim, "needed", lambda: True)
    assert "installed" in _tv_shim.install(tmp_path)
    assert (tmp_path / _tv_shim.PTH_NAME).read_text() == _tv_shim.pth_line()
    monkeypatch.setattr(_tv_shim, "needed", lambda: False)  # a matching CUDA or CPU-index install
    assert "no shim installed" in _tv_shim.install(tmp_path) and not list(tmp_path.iterdir())
    assert _tv_shim.ensure_torchvision_ops() is False  # torchvision is imported: never touched again


# --- CLI --------------------------------------------------------------------------------------------


@pytest.fixture
def photo(tmp_path):
    return _png(tmp_path / "img.png")


@pytest.fixture
def no_model(monkeypatch):
    """Argument errors must be reported before any model is loaded."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(models, "load", forbidden)


def _one_line_error(capsys, pattern: str, argv: list[str]) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, (argv, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert __import__("re").search(pattern, lines[0]), (pattern, lines[0])
    return lines[0]


TINY = ["--model", "tiny_cnn", "--random-weights"]
CLI_ARGUMENTS = [
    # (id, argv after `explain IMAGE` (or a full argv when it starts with "!"), regex)
    ("method-unknown", ["--method", "bogus"], r"unknown method 'bogus'; known methods: agi"),
    ("param-not-dict", ["--method", "attexplore", "--param", "attack_params=3"], r"attack_params must be a dict or None, got int 3"),
    ("param-bad-json", ["--method", "attexplore", "--param", "attack_params={N:2}"], r"--param attack_params: value '\{N:2\}' is not valid JSON"),
    ("param-no-equals", ["--param", "steps"], r"--param expects NAME=VALUE, got 'steps'"),
    ("param-float-for-int", ["--method", "ig", "--param", "steps=2.5"], r"steps must be an integer, got float 2\.5"),
    ("param-unknown", ["--method", "ig", "--param", "n_steps=5"], r"does not take parameter\(s\) n_steps"),
    ("param-twice", ["--method", "ig", "--param", "steps=5", "--param", "steps=6"], r"--param steps is given twice"),
    ("out-directory", ["--out", "{tmp}"], r"--out '.*' is a directory"),
    ("out-missing-folder", ["--out", "{tmp}/nope/h.png"], r"folder '.*nope' does not exist"),
    ("out-unknown-extension", ["--out", "{tmp}/h.gif"], r"unknown extension '\.gif'; use \.png"),
    ("out-no-extension", ["--out", "{tmp}/heatmap"], r"has no extension"),
    ("save-map-extension", ["--save-map", "{tmp}/m.png"], r"--save-map .* unknown extension '\.png'; use \.npy"),
    ("save-map-missing-folder", ["--save-map", "{tmp}/nope/m.npy"], r"--save-map .*folder .* does not exist"),
    ("device-unknown", ["--device", "gpu"], r"unknown device 'gpu'"),
    ("model-unknown", ["--model", "resnet5O"], r"unknown model 'resnet5O'"),
    ("model-timm-unknown", ["--model", "timm:no_such_net"], r"unknown timm model 'no_such_net'"),
    ("model-torchvision-unknown", ["--model", "torchvision:resnet5"], r"unknown torchvision classifier 'resnet5'"),
    ("target-negative", ["--target", "-1"], r"--target must be a class index >= 0"),
    ("target-not-int", ["--target", "abc"], r"argument --target: invalid int value: 'abc'"),
    ("weights-missing", ["!explain", "{tmp}/img.png", "--model", "tiny_cnn", "--weights", "{tmp}/none.pth"],
     r"--weights '.*none\.pth': no such file"),
    ("weights-and-random", ["--weights", "{tmp}/img.png"], r"--weights and --random-weights exclude each other"),
    ("image-missing", ["!explain", "{tmp}/missing.png"], r"image file not found"),
    ("image-directory", ["!explain", "{tmp}"], r"is a directory; give one image file"),
    ("no-command", ["!"], r"arguments are required: command"),
    ("unknown-command", ["!explian"], r"invalid choice: 'explian'"),
    ("bench-method", ["!bench", "--methods", "bogus"], r"--methods: unknown method\(s\) bogus"),
    ("bench-param-format", ["!bench", "--param", "x"], r"--param expects METHOD\.NAME=VALUE"),
    ("bench-param-type", ["!bench", "--param", "ig.steps=2.5"], r"steps must be an integer"),
    ("bench-out-directory", ["!bench", "--out", "{tmp}"], r"--out '.*' is a directory"),
    ("bench-variant", ["!bench", "--variants", "float8"], r"unknown variant 'float8'"),
    ("bench-images", ["!bench", "--images", "0"], r"--images must be >= 1"),
    ("bench-device-unknown", ["!bench", "--device", "tpu"], r"unknown device 'tpu'"),
]


@pytest.mark.parametrize("case", CLI_ARGUMENTS, ids=[c[0] for c in CLI_ARGUMENTS])
def test_cli_argument_errors(case, photo, tmp_path, capsys, no_model):
    _, args, pattern = case
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if args and args[0].startswith("!"):
        argv = ([args[0][1:]] if args[0] != "!" else []) + args[1:]
    else:
        argv = ["explain", str(photo), *TINY, *args]
    _one_line_error(capsys, pattern, argv)


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
@pytest.mark.parametrize("command", ["explain", "bench"])
def test_cli_cuda_without_gpu(command, photo, capsys, no_model):
    argv = ["explain", str(photo), *TINY, "--device", "cuda"] if command == "explain" else ["bench", "--device", "cuda"]
    _one_line_error(capsys, r"device 'cuda' is not available: CUDA is not available on this machine", argv)


def test_cli_errors_after_loading(photo, tmp_path, capsys):
    _one_line_error(capsys, r"--target 5000 is not a class of tiny_cnn \(0\.\.999\)", ["explain", str(photo), *TINY, "--target", "5000"])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    _one_line_error(capsys, r"cannot read image .*bad\.png: corrupt", ["explain", str(bad), *TINY])
    garbage = tmp_path / "w.pth"
    garbage.write_bytes(b"not a checkpoint")
    _one_line_error(capsys, r"w\.pth' is not a PyTorch checkpoint", ["explain", str(photo), "--model", "tiny_cnn", "--weights", str(garbage)])
    assert not (tmp_path / "heatmap.png").exists()


def test_cli_uncached_timm_weights_offline(photo, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(models, "_online", lambda host, timeout=3.0: False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    _one_line_error(capsys, r"weights for timm model 'test_resnet' are not cached and cannot be downloaded \(offline\).*--random-weights",
                    ["explain", str(photo), "--model", "timm:test_resnet", "--out", str(tmp_path / "h.png")])


def test_cli_out_directory_writes_nothing(photo, tmp_path, capsys):
    folder = tmp_path / "out"
    folder.mkdir()
    assert main(["explain", str(photo), *TINY, "--out", str(folder)]) == 2
    assert list(folder.iterdir()) == [] and not list(tmp_path.glob("*.png"))[1:]


# --- progress, heatmap, store permissions, provenance, BIG card -------------------------------------


def test_progress_bar_counts_the_registered_passes(tiny_model, x2, capsys, monkeypatch):
    monkeypatch.setattr(registry, "PROGRESS_DELAY", 0.0)
    attribute(tiny_model, x2, [1, 2], method="attexplore", num_steps=3, N=2, progress=True)
    err = capsys.readouterr().err
    assert "attexplore (2 images)" in err and "/12 " in err  # num_steps * N passes per image
    assert registry._LAST_BAR == [12, 12]
    for method, params in [("agi", dict(num_classes=2, num_steps=3)), ("big", dict(num_steps=3, steps=4)), ("guided_ig", dict(steps=4))]:
        attribute(tiny_model, x2, [1, 2], method=method, progress=True, **params)
        counted, total = registry._LAST_BAR
        assert counted == total == 2 * registry.method_passes(method, params), method
    attribute(tiny_model, x2, [1, 2], method="mfaba", num_steps=5, progress=True)  # stops early: fewer passes than the bound
    assert 0 < registry._LAST_BAR[0] <= registry._LAST_BAR[1] == 10
    capsys.readouterr()


def test_progress_bar_off_when_asked_or_not_a_terminal(tiny_model, x2, capsys, monkeypatch):
    monkeypatch.setattr(registry, "PROGRESS_DELAY", 0.0)
    registry._LAST_BAR[:] = []
    attribute(tiny_model, x2, [1, 2], method="ig", steps=3, progress=False)
    assert registry._LAST_BAR == []
    attribute(tiny_model, x2, [1, 2], method="ig", steps=3)  # pytest's stderr is not a terminal: a line a minute
    assert registry._LAST_BAR == [6, 6] and capsys.readouterr().err == ""


def test_progress_bar_on_a_terminal_unless_a_caller_shows_one(tiny_model, x2, capsys, monkeypatch):
    import sys

    from tqdm import tqdm

    monkeypatch.setattr(registry, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    registry._LAST_BAR[:] = []
    attribute(tiny_model, x2, [1, 2], method="ig", steps=3)
    assert registry._LAST_BAR == [6, 6]
    registry._LAST_BAR[:] = []
    with tqdm(total=1, file=sys.stderr, delay=100):  # e.g. `attx compute`'s own bar
        attribute(tiny_model, x2, [1, 2], method="ig", steps=3)
    assert registry._LAST_BAR == []
    capsys.readouterr()


def test_progress_does_not_change_maps(tiny_model, x2, monkeypatch):
    monkeypatch.setattr(registry, "PROGRESS_DELAY", 1000.0)
    for method in ("attexplore", "big"):
        params = dict(num_steps=2, N=2) if method == "attexplore" else dict(num_steps=2, steps=3)
        torch.testing.assert_close(attribute(tiny_model, x2, [1, 2], method=method, progress=True, **params),
                                   attribute(tiny_model, x2, [1, 2], method=method, progress=False, **params), rtol=0, atol=0)


def test_explain_version_save_map_title_and_colour_bar(photo, tmp_path, capsys, monkeypatch):
    import matplotlib.pyplot as plt

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"attx {attx_core.__version__}"
    figures = []
    monkeypatch.setattr(plt, "close", lambda fig: figures.append(fig))
    out, saved = tmp_path / "h.png", tmp_path / "m.npy"
    assert main(["explain", str(photo), *TINY, "--method", "ig", "--param", "steps=4", "--target", "7",
                 "--device", "cpu", "--out", str(out), "--save-map", str(saved)]) == 0
    assert out.is_file() and "m.npy (raw signed map" in capsys.readouterr().out
    raw = np.load(saved)
    assert raw.shape == (3, 32, 32) and raw.dtype == np.float32 and (raw < 0).any()  # signed, not the heatmap
    model = models.load("tiny_cnn", weights=None)
    ref = attribute(model, data.read_image(photo, 32)[None], 7, method="ig", steps=4)[0].numpy()
    assert np.abs(raw).sum() > 0 and raw.shape == ref.shape
    fig = figures[-1]
    assert "(after warm-up)" in fig._suptitle.get_text()
    assert len(fig.axes) == 3 and "percentile" in fig.axes[2].get_ylabel()  # image, heatmap, colour bar


def test_store_files_are_readable_by_others(tmp_path):
    path = tmp_path / "store" / "entry.json"
    store.atomic_write_json(path, {"a": 1})
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode == 0o666 & ~store._UMASK
    if store._UMASK == 0o022:
        assert mode == 0o644


def test_provenance_records_threads():
    record = store.provenance(profile="x")
    assert record["threads"] == torch.get_num_threads()
    assert store.provenance(threads=3)["threads"] == 3


def test_big_card_warns_about_thread_counts():
    from attx_core.cards import method_card

    assert "thread" in METHODS["big"].description and "threads" in method_card("big")
