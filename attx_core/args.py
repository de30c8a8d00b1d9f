"""Command-line argument handling shared by ``attx`` and ``attx bench``: one-line usage errors (exit status 2) and
the checks every subcommand runs before it loads anything."""
from __future__ import annotations

import argparse
import json
from typing import Any


class UsageError(ValueError):
    """A bad command-line argument (reported as one line, exit status 2, before any model is loaded)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with errors on ONE line of stderr (``attx: error: ...``), exit status 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} -h`)\n")


def parse_value(option: str, name: str, text: str) -> Any:
    """A NAME=VALUE value: JSON when it parses (numbers, true/false, null, lists, dicts), else the string; text that
    looks like JSON (starts with { or [) but does not parse is an error naming the option."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        if text.strip()[:1] in "{[":
            raise UsageError(f"{option} {name}: value {text!r} is not valid JSON ({err.msg} at char {err.pos}); "
                             f"e.g. {option} attack_params='{{\"N\": 4}}'") from None
        return text


def name_values(option: str, pairs: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Repeated ``NAME=VALUE`` options as a dict (values by :func:`parse_value`); a malformed or repeated one is a UsageError."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"{option} expects NAME=VALUE, got {pair!r}")
        if name in out:
            raise UsageError(f"{option} {name} is given twice")
        out[name] = parse_value(option, name, value)
    return out


def positive_number(option: str, text: str | None, integer: bool = False) -> float | int | None:
    """``text`` as a positive finite number (an integer where asked), None when not given; else a UsageError."""
    if text is None:
        return None
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise UsageError(f"{option} expects a positive {'integer' if integer else 'number'}, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise UsageError(f"{option} must be a positive {'integer' if integer else 'number'}, got {text}")
    return value


def device(text: str | None) -> str | None:
    """A device that exists on this machine (``cpu``, ``cuda[:N]``), or None when not given; else a UsageError."""
    if text is None:
        return None
    from .validate import check_device

    try:
        return str(check_device(text))
    except ValueError as err:
        raise UsageError(str(err)) from None
