"""``lizrcl compositions``: the study's six compounds, formation energies vs LiCl + ZrCl4, hull plot."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``compositions`` arguments."""
    from lizrcl_tools.commands.md import add_potential_arguments

    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="output folder: cells/ (relaxed cells, resumable), compositions.json/.txt/.png")
    parser.add_argument("--compounds", default=None, metavar="NAME,...",
                        help="subset of: lizr2cl9, lizrcl5, li2zrcl6-hcp, li3zrcl7, li7zr2cl15, li4zrcl8 (default all)")
    parser.add_argument("--candidates", type=int, default=None,
                        help="seeded candidate orderings per compound (default 4, the builders' rule)")
    parser.add_argument("--teacher", default=None, metavar="REFERENCE",
                        help="single points of this reference (e.g. sevennet) and of the model without D3 "
                        "at every relaxed cell")
    add_potential_arguments(parser)
    parser.add_argument("--force", action="store_true",
                        help="recompute cells whose records were made with another potential or settings")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Resolve the potential, run the compositions workflow, print the table."""
    from lizrcl_tools.commands.md import bare_potential_of, potential_of
    from lizrcl_tools.compositions.report import format_table
    from lizrcl_tools.compositions.workflow import run_compositions
    from lizrcl_tools.md.setup import tune_process_for

    spec = potential_of(args)
    tune_process_for(spec)
    bare = bare_potential_of(args, spec) if args.teacher else None
    names = [n.strip() for n in args.compounds.split(",")] if args.compounds else None
    result = run_compositions(args.output, spec, names=names, n_candidates=args.candidates, bare_spec=bare,
                              teacher=args.teacher, force=args.force, log=print)
    print(f"\npotential: {spec.name}; formation energies vs rocksalt LiCl + Pca2_1 ZrCl4 (eV)")
    print(format_table(result))
    return 0
