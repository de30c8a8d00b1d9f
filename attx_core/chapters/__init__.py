"""The book's chapters and the paper's claims as registered data (one module per chapter, see :mod:`.registry`).

Importing the package imports every module in it, so a new chapter is one new module that calls
:func:`register_chapter` (and its notebook, ``notebooks/<name>.py``).
"""
from __future__ import annotations

import importlib
import pkgutil

from .profiles import PROFILES, chapters, is_store, run_options, settings, stored_only
from .registry import CHAPTERS, CLAIMS, Chapter, Claim, Section, get, register_chapter, unregister_chapter

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["CHAPTERS", "CLAIMS", "PROFILES", "Chapter", "Claim", "Section", "chapters", "get", "is_store", "register_chapter",
           "run_options", "settings", "stored_only", "unregister_chapter"]
