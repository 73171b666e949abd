"""``lizrcl plugin build [--force]`` and ``lizrcl plugin info``: the MACE LAMMPS pair-style plugin."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``build`` and ``info`` actions."""
    sub = parser.add_subparsers(dest="plugin_action", metavar="ACTION")
    build = sub.add_parser(
        "build", help="compile the plugin for the installed LAMMPS and torch (cached)"
    )
    build.add_argument("--force", action="store_true", help="rebuild even if cached")
    build.set_defaults(handler=_build)
    info = sub.add_parser("info", help="show versions, cache key and whether the plugin is built")
    info.set_defaults(handler=_info)


def _build(args: argparse.Namespace) -> int:
    from lizrcl_tools.potential.plugin_build import build_plugin

    path = build_plugin(force=args.force, verbose=True)
    print(path)
    return 0


def _info(args: argparse.Namespace) -> int:
    from lizrcl_tools.potential.plugin_build import plugin_info

    for key, value in plugin_info().items():
        print(f"{key:18s} {value}")
    return 0
