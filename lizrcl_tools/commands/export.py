"""``lizrcl export MODEL -o model-lammps.pt --dtype float64``: MACE model → TorchScript for LAMMPS."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_force_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the export arguments."""
    parser.add_argument("model", help="MACE model saved by training (*.model)")
    parser.add_argument(
        "-o", "--output", default=None, help="TorchScript file to write (default: MODEL-lammps.pt)"
    )
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--head", default=None, help="head of a multi-head model")
    add_force_argument(parser, "exported model (and its JSON sidecar)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.potential.export import export_model, sidecar_path

    info = export_model(args.model, args.output, dtype=args.dtype, head=args.head, force=args.force)
    print(
        f"wrote {info.path} ({info.dtype}, elements {' '.join(info.elements)}, "
        f"r_max {info.r_max} Å) and {sidecar_path(info.path)}"
    )
    return 0
