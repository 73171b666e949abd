"""``lizrcl export MODEL -o model-lammps.pt [--dtype float32]``: MACE model → TorchScript for LAMMPS."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_force_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the export arguments."""
    parser.add_argument("model", help="MACE model saved by training (*.model)")
    parser.add_argument(
        "-o", "--output", default=None, help="TorchScript file to write (default: MODEL-lammps.pt)"
    )
    from lizrcl_tools.potential.export import DEFAULT_DTYPE

    parser.add_argument("--dtype", choices=("float32", "float64"), default=DEFAULT_DTYPE,
                        help=f"precision of the export (default {DEFAULT_DTYPE}: the shipped "
                        "model's training precision, ~2x faster than float64 on CPU)")
    parser.add_argument("--head", default=None, help="head of a multi-head model")
    parser.add_argument("--no-fuse", dest="fuse", action="store_false",
                        help="keep mace's own symmetric contractions (default: invariant ones are "
                        "evaluated with per-element coefficients formed once: same numbers, faster)")
    add_force_argument(parser, "exported model (and its JSON sidecar)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.potential.export import export_model, sidecar_path

    info = export_model(args.model, args.output, dtype=args.dtype, head=args.head, force=args.force,
                        fuse=args.fuse)
    print(
        f"wrote {info.path} ({info.dtype}, elements {' '.join(info.elements)}, "
        f"r_max {info.r_max} Å, {info.fused_contractions} fused contraction(s)) and "
        f"{sidecar_path(info.path)}"
    )
    return 0
