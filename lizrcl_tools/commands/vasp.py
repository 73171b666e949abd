"""``lizrcl vasp write|run|collect``: VASP inputs out, VASP results in."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands import vasp_collect, vasp_run, vasp_write


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``write``, ``run`` and ``collect`` actions."""
    sub = parser.add_subparsers(dest="vasp_action", metavar="ACTION")
    vasp_write.configure(
        sub.add_parser("write", help="write one VASP run folder per structure from a preset")
    )
    vasp_run.configure(
        sub.add_parser("run", help="run VASP in prepared folders (one task per folder; complete ones skipped)")
    )
    vasp_collect.configure(
        sub.add_parser("collect", help="read vasprun.xml/OUTCAR files into a training extxyz")
    )
