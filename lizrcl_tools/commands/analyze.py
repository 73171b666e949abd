"""``lizrcl analyze RUN_DIR... -o OUT_DIR``: Li MSD → D ± err → σ(T) → Arrhenius Ea, σ(300 K)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the analyze arguments."""
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                        help="run folders holding nvt.lammpstrj (id type xu yu zu) and run.json")
    parser.add_argument("-o", "--out", required=True, metavar="OUT_DIR",
                        help="output folder: conductivity.json, msd_<T>K.npz/.png, arrhenius.png")
    parser.add_argument("--fit-start-ps", type=float, default=None,
                        help="start of the MSD fit window in ps (default: max(0.1 T_b, 3 t_c); "
                             "t_c = end of the ballistic regime)")
    parser.add_argument("--fit-end-ps", type=float, default=None,
                        help="end of the MSD fit window in ps (default: 0.5 T_b; T_b = length / n_blocks)")
    parser.add_argument("--n-blocks", type=int, default=5,
                        help="independent time blocks for the standard error of D (default 5)")
    parser.add_argument("--no-drift-correction", action="store_true",
                        help="keep the framework centre-of-mass drift in the Li positions")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing conductivity.json")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.analysis import analyze_runs, format_table

    result = analyze_runs(
        args.run_dirs,
        out_dir=args.out,
        fit_start_ps=args.fit_start_ps,
        fit_end_ps=args.fit_end_ps,
        n_blocks=args.n_blocks,
        drift_correct=not args.no_drift_correction,
        overwrite=args.overwrite,
        plots=not args.no_plots,
    )
    print(format_table(result))
    print(f"wrote {args.out}/conductivity.json")
    return 0
