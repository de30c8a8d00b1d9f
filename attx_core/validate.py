"""Input checks shared by every public entry point: one clear ValueError per problem."""
from __future__ import annotations

import math
import numbers
import os
import types
import typing
from typing import Any

import torch
from torch import Tensor, nn


def check_images(x: Tensor, name: str = "x") -> None:
    """Require a float tensor of RGB images in [0, 1], shape (B, 3, H, W) with B >= 1, with no NaN/inf."""
    if not isinstance(x, Tensor):
        hint = "; convert a numpy array with torch.from_numpy(a).permute(0, 3, 1, 2)" if type(x).__name__ == "ndarray" else ""
        raise ValueError(f"{name} must be a torch.Tensor of images (B, 3, H, W), got {type(x).__name__}{hint}")
    if not x.is_floating_point():
        raise ValueError(
            f"{name} must be a float tensor in [0, 1], got dtype {x.dtype}; "
            "convert uint8 images with x.float() / 255"
        )
    if x.dim() != 4:
        hint = " (one image: add the batch dimension with x[None])" if x.dim() == 3 else ""
        raise ValueError(f"{name} must have rank 4 (B, 3, H, W), got shape {tuple(x.shape)}{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)}): pass at least one image")
    if x.shape[1] != 3:
        hint = " (grayscale: repeat the channel, x.expand(-1, 3, -1, -1))" if x.shape[1] == 1 else ""
        hint = hint or (" (channels last? use x.permute(0, 3, 1, 2))" if x.shape[-1] == 3 else "")
        raise ValueError(f"{name} must have 3 colour channels in dim 1, got shape {tuple(x.shape)}{hint}")
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"{name} has images of size {x.shape[2]}x{x.shape[3]}: height and width must be >= 1")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1] (normalisation happens inside the model wrapper), "
            f"got values in [{lo:.3g}, {hi:.3g}]"
        )


def check_image_size(x: Tensor, model: nn.Module, name: str = "x") -> None:
    """Require images the model can see: at least ``model.min_input_size`` pixels a side, and exactly
    ``model.input_size`` for fixed-size models (ViT, MaxViT). Models without that metadata pass."""
    h, w = int(x.shape[-2]), int(x.shape[-1])
    model_name = getattr(model, "name", type(model).__name__)
    size = getattr(model, "input_size", None)
    if getattr(model, "fixed_size", False) and size is not None and (h, w) != (size, size):
        raise ValueError(
            f"{name} has images of {h}x{w} pixels but model {model_name!r} only accepts {size}x{size}; "
            f"resize them (data.read_image(path, size={size}) or torch.nn.functional.interpolate)"
        )
    smallest = getattr(model, "min_input_size", None)
    if smallest and min(h, w) < smallest:
        raise ValueError(
            f"{name} has images of {h}x{w} pixels, smaller than the {smallest}x{smallest} that model {model_name!r} "
            f"needs (its feature maps would vanish and the maps be meaningless); resize them to its input size "
            f"{size}x{size} (data.read_image(path, size={size}) or torch.nn.functional.interpolate)"
        )


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool,)) and type(v).__name__ != "bool_"


def check_target(target: Tensor | int | list[int], batch: int, num_classes: int | None = None) -> Tensor:
    """Return target as a LongTensor of shape (batch,), raising a clear error on a mismatch.

    Accepted: an int (the same class for every image), a sequence of ints, an integer tensor or array.
    Floats (even whole ones), bools and strings are rejected, never truncated or converted.
    """
    hint = "target must be integer class indices (an int, a list of ints or an integer tensor)"
    if isinstance(target, (bool,)) or type(target).__name__ == "bool_":
        raise ValueError(f"{hint}, got the bool {target!r}")
    if _is_int(target):
        target = torch.full((batch,), int(target), dtype=torch.long)
    elif isinstance(target, (float, numbers.Real)) and not isinstance(target, Tensor):
        raise ValueError(f"{hint}, got the float {target!r}; pass int(...) if it is a class index")
    elif isinstance(target, (str, bytes)):
        raise ValueError(f"{hint}, got the string {target!r}; class names are not accepted, use the class index")
    elif target is None:
        raise ValueError(f"{hint}, got None")
    elif not isinstance(target, Tensor):
        if type(target).__name__ == "ndarray":
            target = torch.from_numpy(target)
        else:
            try:
                items = list(target)
            except TypeError:
                raise ValueError(f"{hint}, got {type(target).__name__}") from None
            flat = []
            stack = list(items)
            while stack:
                v = stack.pop(0)
                if isinstance(v, (list, tuple)):
                    stack = list(v) + stack
                elif isinstance(v, Tensor) and v.numel() == 1:
                    flat.append(v.item() if not v.dtype == torch.bool else bool(v.item()))
                else:
                    flat.append(v)
            bad = [v for v in flat if not _is_int(v)]
            if bad:
                kind = type(bad[0]).__name__
                raise ValueError(f"{hint}, got {kind} value(s) {bad[:5]!r}; floats, bools and strings are not class indices")
            target = torch.tensor([int(v) for v in flat], dtype=torch.long)
    if target.dtype == torch.bool:
        raise ValueError(f"{hint}, got a bool tensor")
    if target.is_floating_point() or target.is_complex():
        raise ValueError(f"{hint}, got dtype {target.dtype}; use target.long() if the values are class indices")
    target = target.long().reshape(-1)
    if target.numel() != batch:
        raise ValueError(f"target has {target.numel()} entries but the batch has {batch} images")
    if num_classes is not None and ((target < 0) | (target >= num_classes)).any():
        raise ValueError(f"target class indices must lie in 0..{num_classes - 1}, got {target.tolist()}")
    return target


def check_attribution(attr: Tensor, x: Tensor, name: str = "attributions") -> None:
    """Require an attribution map of x's shape without NaN/inf."""
    if not isinstance(attr, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(attr).__name__}")
    if attr.shape != x.shape:
        raise ValueError(f"{name} shape {tuple(attr.shape)} differs from the images' shape {tuple(x.shape)}")
    if not torch.isfinite(attr).all():
        raise ValueError(f"{name} contains NaN or inf values")


def check_model(model: Any, name: str = "model") -> None:
    """Require an ``nn.Module`` (one that maps (B,3,H,W) images in [0,1] to logits)."""
    if model is None:
        raise ValueError(f"{name} is None: pass a model, e.g. attx_core.models.load('efficientnet_lite0') "
                         "or attx_core.models.wrap(your_net, mean, std, input_size)")
    if not isinstance(model, nn.Module):
        hint = "; a model name? load it with attx_core.models.load(name)" if isinstance(model, str) else ""
        raise ValueError(f"{name} must be a torch.nn.Module returning logits, got {type(model).__name__}{hint}")


def check_finite_model(model: nn.Module, name: str = "model") -> None:
    """Require finite parameters and buffers: a damaged checkpoint (NaN weights) gives NaN maps and AUCs."""
    for what, tensors in (("parameter", model.named_parameters()), ("buffer", model.named_buffers())):
        for key, t in tensors:
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise ValueError(f"{name} {what} {key!r} contains NaN or inf values: the weights are damaged; "
                                 "reload them (models.load, or load_state_dict from a good checkpoint)")


def check_logits(output: Any, target: Tensor, name: str = "model") -> None:
    """Require what a method differentiates: a finite (B, classes >= 2) logits tensor, not probabilities,
    with every target below the number of classes."""
    if not isinstance(output, Tensor):
        if isinstance(output, dict):
            hint = f" with keys {list(output)[:5]}: return the logits entry (e.g. out['logits']) from a small nn.Module"
        elif isinstance(output, (tuple, list)):
            hint = f" of {len(output)} items: return the logits (e.g. out[0]) from a small nn.Module"
        else:
            hint = " (a Hugging Face model? return outputs.logits from a small nn.Module)" if hasattr(output, "logits") else ""
        raise ValueError(f"{name} must return a logits tensor (B, classes), it returned a {type(output).__name__}{hint}")
    if output.dim() != 2:
        raise ValueError(f"{name} must return logits of shape (B, classes), got shape {tuple(output.shape)}")
    if output.shape[1] == 1:
        raise ValueError(f"{name} returns one logit per image (a binary classifier): a softmax over one logit is constant, "
                         "so every map would be zero; return two logits, torch.cat([torch.zeros_like(z), z], dim=1) "
                         "(softmax of those = sigmoid(z)), and explain class 1")
    if not bool(torch.isfinite(output).all()):
        raise ValueError(f"{name} returned NaN or inf logits on these images")
    if bool((output >= 0).all()) and bool(torch.allclose(output.sum(dim=1), output.new_ones(()), atol=1e-4)):
        raise ValueError(f"{name} returns probabilities (each row is >= 0 and sums to 1), not logits: remove its final "
                         "softmax (the methods apply softmax where the published code does, output='prob'); on "
                         "probabilities the maps come out hundreds of times smaller")
    if bool((target >= output.shape[1]).any()):
        raise ValueError(f"target class indices must lie in 0..{output.shape[1] - 1} ({name} returns {output.shape[1]} logits), "
                         f"got {target.tolist()}")


def check_device(device: Any) -> torch.device:
    """A ``torch.device`` that exists on this machine; one clear ValueError otherwise."""
    if isinstance(device, bool) or device is None or not isinstance(device, (str, torch.device, int)):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"unknown device {device!r}; use cpu or cuda[:N]") from None
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unsupported device {device!r}; use cpu or cuda[:N]")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r} is not available: CUDA is not available on this machine (use cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {str(device)!r} is not available: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {str(device)!r} is not available on this machine (use cpu)")
    return dev


def _type_ok(value: Any, hint: Any) -> bool | None:
    """Whether ``value`` fits the annotation ``hint`` (None: the annotation is not understood, accept)."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        verdicts = [_type_ok(value, h) for h in typing.get_args(hint)]
        if any(v is True for v in verdicts):
            return True
        return None if any(v is None for v in verdicts) else False
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool) or type(value).__name__ == "bool_"
    if hint is int:
        return _is_int(value)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"
    if hint is str:
        return isinstance(value, str)
    if origin in (tuple, list) or hint in (tuple, list):
        if not isinstance(value, (tuple, list)):
            return False
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        if len(args) == 1:
            return all(_type_ok(v, args[0]) is not False for v in value)
        return True
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return None


def _describe(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(h) for h in typing.get_args(hint))
    if hint is type(None):
        return "None"
    names = {bool: "a bool (true/false)", int: "an integer", float: "a number", str: "a string", dict: "a dict"}
    if hint in names:
        return names[hint]
    if origin in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s" if len(args) == 1 else "a list"
    if origin is dict:
        return "a dict"
    return getattr(hint, "__name__", str(hint))


def check_param_types(owner: str, hints: dict[str, Any], params: dict[str, Any]) -> None:
    """Check each parameter value against its annotation: integers must be ints (not floats, not bools),
    numbers must not be bools or strings, etc. ``owner`` names the method in the message."""
    for key, value in params.items():
        hint = hints.get(key)
        if hint is None:
            continue
        if _type_ok(value, hint) is False:
            shown = repr(value) if len(repr(value)) < 60 else repr(value)[:57] + "..."
            raise ValueError(f"{owner}: parameter {key} must be {_describe(hint)}, got {type(value).__name__} {shown}")


SEED_RANGE = (-(2**63), 2**63 - 1)  # a seed is hashed as 8 signed bytes (seeding.image_seed)


def check_values(owner: str, params: dict[str, Any]) -> None:
    """Require finite numbers, also inside lists, dicts and tensors (NaN or inf give NaN or all-zero maps),
    and seeds that fit 64 bits; the message names the parameter (``attack_params['sigma']``)."""

    def visit(name: str, key: Any, value: Any) -> None:
        if key == "seed" and _is_int(value) and not SEED_RANGE[0] <= int(value) <= SEED_RANGE[1]:
            raise ValueError(f"{owner}: parameter {name} must be a 64-bit integer (-2**63 .. 2**63 - 1), got {value}")
        if isinstance(value, numbers.Real) and not _is_int(value) and not isinstance(value, bool) and not math.isfinite(float(value)):
            raise ValueError(f"{owner}: parameter {name} must be finite, got {value!r}")
        if isinstance(value, Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{owner}: parameter {name} contains NaN or inf values")
        if isinstance(value, dict):
            for k, v in value.items():
                visit(f"{name}[{k!r}]", k, v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                visit(f"{name}[{i}]", None, v)

    for key, value in params.items():
        visit(key, key, value)


def hints_from_defaults(defaults: dict[str, Any]) -> dict[str, Any]:
    """Annotations for parameters known only by their defaults: the default's type (None: no check)."""
    return {k: type(v) for k, v in defaults.items() if v is not None}


def env_int(name: str, what: str) -> int | None:
    """The environment variable ``name`` as a positive integer, None when unset or empty; one error naming it otherwise."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"environment variable {name} must be a positive integer ({what}), got {text!r}")
    return int(text)


def available_memory(device: torch.device) -> int:
    """Bytes free for new tensors on ``device``: the GPU's free memory; on the CPU the system's available
    memory, or what the process's cgroup limit leaves when that is lower."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
        limit, used = (open(f"/sys/fs/cgroup/memory.{f}").read().strip() for f in ("max", "current"))
        if limit.isdigit():
            free = min(free, int(limit) - int(used))
    except (OSError, ValueError):
        pass
    return max(0, free)


def require_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise ValueError unless ``value`` is one of ``choices`` (a parameter named ``name``)."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def require(condition: bool, message: str) -> None:
    """Raise ValueError(message) unless condition holds (parameter range checks)."""
    if not condition:
        raise ValueError(message)
