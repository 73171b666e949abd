"""``lizrcl analyze TRAJ... -o OUT_DIR``: mobile-ion MSD → D ± err → σ(T) → Arrhenius Ea, σ(300 K)."""

from __future__ import annotations

import argparse


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the analyze arguments."""
    parser.add_argument("trajectories", nargs="+", metavar="TRAJ",
                        help="one per temperature: a `lizrcl md` run folder (run.json + nvt.lammpstrj), or a "
                             "trajectory file: LAMMPS dump (xu yu zu | x y z [ix iy iz]), vasprun.xml[.gz], "
                             "XDATCAR, extxyz, .traj, DCD/XTC (with --topology)")
    parser.add_argument("-o", "--out", required=True, metavar="OUT_DIR",
                        help="output folder: conductivity.json, msd_<T>K.npz/.png, arrhenius.png")
    meta = parser.add_argument_group("metadata of trajectory files (run folders and vasprun.xml carry their own)")
    meta.add_argument("--temperature", type=_floats, action="append", metavar="K",
                      help="temperature in K: one for all files, or one per file (comma-separated or repeated)")
    meta.add_argument("--timestep-fs", type=float, metavar="DT", help="MD time step, fs")
    meta.add_argument("--every", type=int, metavar="N",
                      help="MD steps between stored frames (LAMMPS dumps: read from the step numbers)")
    meta.add_argument("--mobile", default="Li", help="diffusing element (default %(default)s)")
    meta.add_argument("--types", metavar="EL,EL,...",
                      help="element of each numeric atom type, in type order, e.g. Li,Zr,Cl (LAMMPS dumps "
                           "without an element column, data-file topologies)")
    meta.add_argument("--topology", metavar="FILE", help="topology for DCD/XTC/TRR (PDB, GRO, PSF, LAMMPS data)")
    meta.add_argument("--format", dest="fmt", metavar="F",
                      help="trajectory format if the name does not tell: lammpsdump, vasprun, xdatcar, extxyz, "
                           "traj, dcd, xtc, trr, or an MDAnalysis format code")
    fit = parser.add_argument_group("fit")
    fit.add_argument("--estimator", choices=("ions", "blocks"), default="ions",
                     help="ions (default): one fit window to half the run, starting where the MSD passes "
                          "hop-length^2, error = spread of the per-ion D / sqrt(N); blocks: a window inside one "
                          "of --n-blocks time blocks, error = spread over the blocks")
    fit.add_argument("--fit-start-ps", type=float, default=None,
                     help="start of the MSD fit window in ps (default, ions: max(t_hop, 3 t_c, cage exit), "
                          "t_hop = MSD reaches hop-length^2; blocks: max(0.1 T_b, 3 t_c, cage exit); "
                          "t_c = end of the ballistic regime)")
    fit.add_argument("--fit-end-ps", type=float, default=None,
                     help="end of the MSD fit window in ps (default, ions: half the run; blocks: 0.5 T_b, "
                          "T_b = length / n_blocks)")
    fit.add_argument("--n-blocks", type=int, default=5,
                     help="independent time blocks for the standard error of D with --estimator blocks "
                          "(default 5)")
    fit.add_argument("--hop-length", type=float, default=3.5, metavar="A",
                     help="shortest hop of the mobile ion, Å: a run is diffusive once MSD at the fit start "
                          "exceeds its square (default %(default)s, Li-Li in Li2ZrCl6)")
    fit.add_argument("--slope-tolerance", type=float, default=0.25,
                     help="accepted |d ln MSD / d ln t - 1| over the fit window (default %(default)s)")
    fit.add_argument("--fit-all", action="store_true",
                     help="put every temperature into the Arrhenius fit, diffusive or not (still flagged)")
    parser.add_argument("--no-drift-correction", action="store_true",
                        help="keep the framework centre-of-mass drift in the mobile-ion positions")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--force", "--overwrite", dest="overwrite", action="store_true",
                        help="replace an existing conductivity.json (the old one is kept as a .bak)")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.analysis import analyze_runs, format_table
    from lizrcl_tools.analysis.sources import resolve_sources

    temps = [t for group in (args.temperature or []) for t in group]
    sources = resolve_sources(
        args.trajectories, temps, timestep_fs=args.timestep_fs, every=args.every, mobile=args.mobile,
        types=args.types.split(",") if args.types else None, topology=args.topology, fmt=args.fmt,
    )
    result = analyze_runs(
        sources,
        out_dir=args.out,
        fit_start_ps=args.fit_start_ps,
        fit_end_ps=args.fit_end_ps,
        n_blocks=args.n_blocks,
        drift_correct=not args.no_drift_correction,
        overwrite=args.overwrite,
        plots=not args.no_plots,
        hop_length_A=args.hop_length,
        slope_tolerance=args.slope_tolerance,
        fit_all=args.fit_all,
        estimator=args.estimator,
    )
    print(format_table(result))
    print(f"wrote {args.out}/conductivity.json")
    return 0
