"""``attx run CHAPTER``: one chapter's notebook executed your way into a page of its own (being written)."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``attx run``."""
    parser.add_argument("chapter", help="a registered chapter (attx_core.chapters)")


def run_command(args: argparse.Namespace) -> int:
    """Run one chapter (see the module docstring)."""
    raise RuntimeError("attx run is not available in this build")
