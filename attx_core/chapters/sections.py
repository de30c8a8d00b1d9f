"""Section factories: the usual ways a chapter's settings become a runner call."""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from ..experiments.runners import ablation, ablation_section
from .registry import Section


def whole(runner: Callable[..., pd.DataFrame], paper_table: str | None = None, axis: tuple[str, ...] = ("methods",),
          long: Callable[[pd.DataFrame], pd.DataFrame] | None = None, axis_column: str = "") -> Section:
    """The whole chapter as one runner call with every setting (``runner(**cfg, **opts)``)."""
    return Section("", lambda cfg, opts: runner(**cfg, **opts), paper_table, axis, long=long, axis_column=axis_column)


def ablation_table(name: str, parameter: str, title: str) -> Section:
    """One ablation table of an ablation chapter (its ``sections`` setting names the parameter and values)."""
    return Section(name, lambda cfg, opts: ablation(**ablation_section(cfg, name), **opts), name, ("sections", name, "values"),
                   parameter=parameter, title=title)


def ablation_settings(base: dict[str, Any], sections: dict[str, dict[str, Any]], models: tuple[str, ...], n_images: int | None) -> dict[str, Any]:
    """The settings of an ablation chapter: AttEXplore over one parameter per section, from ``base``."""
    return {"models": list(models), "n_images": n_images, "method": "attexplore", "base": base, "sections": sections}
