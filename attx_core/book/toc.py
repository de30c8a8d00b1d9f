"""The book's order, generated from the chapter registry: ``_build/_toc.yml`` for Jupyter Book."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..chapters import CHAPTERS
from ..chapters.registry import PARTS
from ..store import REPO_ROOT

PREFIX = "book/_executed/"


def toc() -> dict[str, Any]:
    """Jupyter Book's table of contents: the root page, then one part per caption with its chapters in order."""
    roots = [c.name for c in CHAPTERS.values() if c.part == "root"]
    parts = [{"caption": part, "chapters": [{"file": PREFIX + c.name} for c in CHAPTERS.values() if c.part == part]}
             for part in PARTS[1:]]
    return {"format": "jb-book", "root": PREFIX + roots[0], "parts": [p for p in parts if p["chapters"]]}


def toc_notebooks() -> list[str]:
    """Notebook names in book order, the root page first."""
    return [c.name for c in CHAPTERS.values()]


def write_toc(path: Path = REPO_ROOT / "_build" / "_toc.yml") -> Path:
    """Write :func:`toc` for ``jupyter-book build --toc``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Generated from the chapter registry (attx_core.chapters); do not edit.\n" + yaml.safe_dump(toc(), sort_keys=False))
    return path
