"""``attx compute --audit``: recompute stored images with the current code and report how far they moved (being written)."""
from __future__ import annotations

from typing import Sequence


def audit_command(profile: str, n: int = 8, only: Sequence[str] | None = None, seed: int = 0) -> int:
    """Audit the store of ``profile`` (see the module docstring)."""
    raise RuntimeError("attx compute --audit is not available in this build")
