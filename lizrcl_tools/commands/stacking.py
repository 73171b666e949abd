"""``lizrcl stacking``: stacking variants of layered Li2ZrCl6 and the M-defect, energies per f.u., XRD."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``stacking`` arguments."""
    from lizrcl_tools.commands.md import add_potential_arguments
    from lizrcl_tools.compositions.stacking import MAX_LAYERS

    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="output folder: cells/ (relaxed cells, resumable), stacking.json/.txt, xrd/")
    parser.add_argument("--max-layers", type=int, default=MAX_LAYERS,
                        help="longest stacking period in filled layers (9 atoms each; default %(default)s)")
    parser.add_argument("--teacher", default=None, metavar="REFERENCE",
                        help="single points of this reference (e.g. sevennet) and of the model without D3")
    add_potential_arguments(parser)
    parser.add_argument("--force", action="store_true",
                        help="recompute cells whose records were made with another potential or settings")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Resolve the potential, run the variants and the M-defect, print the table."""
    from pathlib import Path

    from lizrcl_tools.commands.md import bare_potential_of, potential_of
    from lizrcl_tools.compositions.stacking import run_stacking
    from lizrcl_tools.md.setup import tune_process_for

    spec = potential_of(args)
    tune_process_for(spec)
    bare = bare_potential_of(args, spec) if args.teacher else None
    run_stacking(args.output, spec, max_layers=args.max_layers, bare_spec=bare, teacher=args.teacher,
                 force=args.force, log=print)
    print(f"\npotential: {spec.name}")
    print((Path(args.output) / "stacking.txt").read_text())
    return 0
