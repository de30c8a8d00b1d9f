"""A GPU run of the planned computations: ``attx compute --bundle`` and ``--merge`` (being written)."""
from __future__ import annotations

from typing import Sequence


def bundle_command(profile: str, folder: str, only: Sequence[str] | None = None, limit_mib: float = 64.0) -> int:
    """Write the bundle (see the module docstring)."""
    raise RuntimeError("attx compute --bundle is not available in this build")


def merge_command(profile: str, folder: str) -> int:
    """Merge a GPU run's records (see the module docstring)."""
    raise RuntimeError("attx compute --merge is not available in this build")
