"""``lizrcl demo``: placeholder, replaced once stages land."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add demo arguments."""
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    print("lizrcl demo")
    return 0
