"""``lizrcl data import-lasp|stats|frames``: the study's LASP training set in; what a training file
holds; frames of MD run folders out."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import (
    add_force_argument,
    add_min_distance_argument,
    min_distance_of,
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``import-lasp``, ``stats`` and ``frames`` actions."""
    sub = parser.add_subparsers(dest="data_action", metavar="ACTION")

    imp = sub.add_parser(
        "import-lasp",
        help="convert LASP TrainStr.txt + TrainFor.txt (or Trainfile_LiZrCl.tar.gz) to extxyz",
        description=(
            "Convert a LASP training set to extxyz with REF_energy (eV), REF_forces (eV/Å), "
            "REF_stress (eV/Å³, ASE sign, Voigt). Checks that the two files pair up and names "
            "the line of the first inconsistency; writes nothing on error."
        ),
    )
    imp.add_argument("inputs", nargs="+", metavar="FILE",
                     help="TrainStr.txt TrainFor.txt, one tar archive holding both, or a folder holding both")
    imp.add_argument("-o", "--output", required=True, help="output extxyz (written atomically)")
    imp.add_argument(
        "--stress-unit", default="eV/A3", choices=["eV/A3", "kbar", "GPa", "none"],
        help="unit of the TrainFor.txt stress line (default eV/A3, the convention of public "
        "VASP-to-LASP writers; 'none' drops stress)",
    )
    imp.add_argument(
        "--stress-order", default="lasp", choices=["lasp", "voigt"],
        help="order of the six stress numbers: lasp = xx xy xz yy yz zz (default), "
        "voigt = xx yy zz yz xz xy",
    )
    imp.add_argument("--elements", type=_symbols, default=None, metavar="Li,Zr,Cl",
                     help="comma-separated allowed elements; any other is an error at its line")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_min_distance_argument(imp)
    add_force_argument(imp, "output dataset")
    imp.set_defaults(handler=_import_lasp)

    st = sub.add_parser("stats", help="counts by composition/config_type, energy and force ranges",
                        description="Statistics of a training extxyz file (REF_* labels).")
    st.add_argument("file", help="training extxyz")
    st.add_argument("--plot", default=None, metavar="PNG", help="write histograms to this PNG")
    st.add_argument("--json", default=None, metavar="JSON", help="write the statistics as JSON")
    add_force_argument(st, "--plot/--json file")
    st.set_defaults(handler=_stats)

    fr = sub.add_parser(
        "frames", help="snapshots of lizrcl md / conductivity run folders as extxyz (for labelling)",
        description=(
            "Take frames of the production (NVT) trajectory of lizrcl md run folders (run.json + "
            "nvt.lammpstrj) into one extxyz: elements from run.json, cell from the dump's box, "
            "positions wrapped into the cell. Each frame records run, source, md_step, time_ps, "
            "temperature_K and run_potential. Frames are chosen by time after --start-ps (the "
            "frame at --start-ps is left out)."
        ),
    )
    fr.add_argument("runs", nargs="+", metavar="RUN_DIR", help="lizrcl md run folder(s)")
    fr.add_argument("-o", "--output", required=True, help="output extxyz (written atomically)")
    how = fr.add_mutually_exclusive_group(required=True)
    how.add_argument("--n", type=int, default=None, metavar="N",
                     help="N frames per run, evenly spaced in time, the last one at the end of the run")
    how.add_argument("--every-ps", type=float, default=None, metavar="PS",
                     help="one frame every PS ps of simulated time")
    how.add_argument("--random", type=int, default=None, metavar="N",
                     help="N frames per run drawn at random (needs --seed)")
    fr.add_argument("--seed", type=int, default=None, help="seed of --random (recorded per frame)")
    fr.add_argument("--start-ps", type=float, default=0.0, metavar="PS",
                    help="only frames after this time (ps from the start of NVT; default 0)")
    fr.add_argument("--config-type", default=None,
                    help="config_type of every frame (default md_<run folder name>)")
    add_force_argument(fr, "output file")
    fr.set_defaults(handler=_frames)


def _symbols(text: str) -> list[str]:
    """``"Li,Zr,Cl"`` -> ``["Li", "Zr", "Cl"]`` (one token, so it cannot swallow file names)."""
    return [s.strip() for s in text.split(",") if s.strip()]


def _import_lasp(args: argparse.Namespace) -> int:
    from lizrcl_tools.dataset.lasp import import_lasp

    summary = import_lasp(
        args.inputs, args.output, stress_unit=args.stress_unit, stress_order=args.stress_order,
        elements=args.elements, progress=not args.no_progress, force=args.force,
        min_distance=min_distance_of(args),
    )
    print(
        f"wrote {summary.n_structures} structures ({summary.n_atoms} atoms) to {summary.output} "
        f"(stress read as {summary.stress_unit}, {summary.stress_order} order)"
    )
    return 0


def _stats(args: argparse.Namespace) -> int:
    from lizrcl_tools.dataset.stats import format_stats, stats_of_file
    from lizrcl_tools.fileio import write_json_atomic

    from lizrcl_tools.fileio import check_output

    if args.json:
        check_output(args.json, force=args.force, what="statistics file")
    stats = stats_of_file(args.file, plot=args.plot, force=args.force)
    print(format_stats(stats))
    if args.json:
        write_json_atomic(args.json, stats, force=args.force)
    if args.plot:
        print(f"plot: {args.plot}")
    return 0


def _frames(args: argparse.Namespace) -> int:
    from lizrcl_tools.analysis.frames import extract_frames

    summary = extract_frames(args.runs, args.output, n=args.n, every_ps=args.every_ps,
                             random=args.random, seed=args.seed, start_ps=args.start_ps,
                             config_type=args.config_type, force=args.force)
    for run, got in summary["runs"].items():
        times = got["time_ps"]
        print(f"{run}: {got['n_frames']} frames, t = {times[0]:.2f} ... {times[-1]:.2f} ps")
    print(f"wrote {summary['n_frames']} frames to {summary['output']}")
    return 0
