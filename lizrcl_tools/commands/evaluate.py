"""``lizrcl evaluate``: errors of a MACE model or the fast tier against REF_ labels, overall and per bin."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_force_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``evaluate`` arguments."""
    parser.add_argument("data", help="labelled extxyz (REF_energy, REF_forces, REF_stress)")
    parser.add_argument("--potential", default="mace", choices=["mace", "fast"],
                        help="mace: a MACE model (ASE calculator); fast: the fast tier through LAMMPS "
                        "pair_style pod. No dispersion is added (default mace)")
    parser.add_argument("--model", default=None,
                        help="MACE .model file, or with --potential fast a model folder of lizrcl "
                        "distill (default: the model shipped with lizrcl_tools)")
    parser.add_argument("--json", default=None, metavar="OUT.json", help="write the report as JSON")
    parser.add_argument("--plot", default=None, metavar="OUT.png", help="write parity plots (PNG)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_force_argument(parser, "--json/--plot file")
    parser.set_defaults(handler=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from lizrcl_tools.potential.evaluate import evaluate_file, format_report

    report = evaluate_file(args.data, model=args.model, device=args.device, dtype=args.dtype,
                           json_path=args.json, plot_path=args.plot,
                           progress=not args.no_progress, force=args.force,
                           potential=args.potential)
    print(format_report(report, title=f"{report['model']} on {report['data']} "
                                      "(RMSE; E per atom, F per component, S Voigt)"))
    return 0
