"""Method and explorer cards, generated from the registries (never hand-written): what the published
code does, our default, the named options, the cost per image and the conformance test that checks them."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .attacks import ATTACKS
from .methods import METHODS
from .methods.attexplore import explorer_settings
from .methods.registry import method_passes

ROOT = Path(__file__).resolve().parent.parent


def _text(prose: str) -> str:
    """Registry prose as Markdown: formulas such as ``2*num_classes*num_steps`` must not turn into emphasis."""
    return prose.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_")


def _value(v: Any) -> str:
    """A default as a reader reads it: multiples of 1/255 as k/255, other floats short, strings bare."""
    if isinstance(v, float):
        k = v * 255
        return f"{round(k):g}/255" if 0 < abs(k) <= 255 and abs(k - round(k)) < 1e-6 and abs(v) < 1 else f"{v:.6g}"
    if isinstance(v, str):
        return v
    return repr(v)


def _defaults(name: str) -> str:
    """The method's defaults, one per line; AttEXplore's unset knobs resolved to the published value of its explorer."""
    info = METHODS[name]
    resolved: dict[str, Any] = {}
    if name == "attexplore":
        _, resolved = explorer_settings(info.defaults.get("attack"), info.defaults.get("preset"))
    lines = []
    for key, value in info.defaults.items():
        if value is None and key in resolved:
            lines.append(f"  - `{key}`: published value ({_value(resolved[key])})")
        elif value is None:
            lines.append(f"  - `{key}`: not set (the published behaviour)")
        else:
            lines.append(f"  - `{key}`: {_value(value)}")
    return "\n".join(lines) or "  - no parameters"


def _conformance(path: str) -> str:
    if not path:
        return "none registered"
    return f"`{path}`" + ("" if not (ROOT / "tests").is_dir() or (ROOT / path).is_file() else " (not in this checkout)")


def method_card(name: str) -> str:
    """Markdown card of registered method ``name`` (ValueError naming the known methods otherwise)."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known methods: {', '.join(sorted(METHODS))}")
    info = METHODS[name]
    formula = "computed from the chosen explorer" if callable(info.passes) else (info.passes or "?")
    passes = method_passes(name)
    lines = [
        f"### `{name}` (version {info.version})",
        _text(info.description),
        "",
        f"- **Published code**: {_text(info.published) or 'not recorded'}",
        "- **Our defaults** (the published behaviour" + (", with the default explorer's values; other explorers: see their cards)"
                                                           if name == "attexplore" else ")") + ":",
        _defaults(name),
        f"- **Passes per image** (forward+backward): `{formula}`" + (f" = {passes:g} at the defaults" if passes is not None else ""),
        f"- **Conformance test**: {_conformance(info.conformance)}",
    ]
    if info.options:
        lines.append("- **Named options** (what each changes against the published code):")
        lines += [f"  - `{opt}`: {_text(text)}" for opt, text in info.options.items()]
    return "\n".join(lines)


def explorer_card(name: str) -> str:
    """Markdown card of the attack ``name`` as an AttEXplore++ explorer."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known attacks: {', '.join(ATTACKS)}")
    info = ATTACKS[name]
    passes = method_passes("attexplore", {"attack": name})
    return "\n".join([
        f"### explorer `{name}`",
        _text(info.description),
        "",
        f"- **Published code**: {_text(info.published) or 'not recorded'}",
        "- **Published defaults**: " + (", ".join(f"`{k}` {_value(v)}" for k, v in info.defaults.items()) or "no parameters"),
        f"- **Passes per image**: `{info.passes}` = {passes:g} at the defaults",
        f"- **Conformance test**: {_conformance(METHODS['attexplore'].conformance)}",
    ])


def all_cards() -> str:
    """Every method card, then every explorer card (the book's reference page)."""
    methods = "\n\n".join(method_card(n) for n in sorted(METHODS))
    explorers = "\n\n".join(explorer_card(n) for n in ATTACKS)
    return f"## Methods\n\n{methods}\n\n## Explorers (`attexplore(attack=...)`)\n\n{explorers}\n"
