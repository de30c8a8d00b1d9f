"""The policy and code before issue 22, as the benchmark's fixed baseline ("today's policy"): forward-only work
compiled by torch.compile (no OpenVINO), AGI with its batch duplicated (two forward passes per iteration),
AttEXplore's per-sample transforms. The replaced code is the reference kept for the equivalence tests
(tests/reference/before_issue22.py); ``attx bench --table1`` times the Table 1 protocol under both.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
from pathlib import Path
from typing import Iterator

from attx_core import attacks, execution, transforms
from attx_core.methods import METHODS

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference" / "before_issue22.py"


def _reference():
    spec = importlib.util.spec_from_file_location("before_issue22", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def todays_policy() -> Iterator[None]:
    """Run the block as before issue 22 (then restore everything)."""
    before = _reference()
    agi, copy_gradients, spectrum = METHODS["agi"], attacks.copy_gradients, transforms.Spectrum.__call__
    METHODS["agi"] = dataclasses.replace(agi, fn=before.agi)
    attacks.copy_gradients, transforms.Spectrum.__call__ = before.copy_gradients, before.spectrum
    try:
        with execution.policy_scope("compiled"):
            yield
    finally:
        METHODS["agi"], attacks.copy_gradients, transforms.Spectrum.__call__ = agi, copy_gradients, spectrum
