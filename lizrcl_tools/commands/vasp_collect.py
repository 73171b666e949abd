"""``lizrcl vasp collect PATH... -o train.extxyz``: VASP results to MACE training frames."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_force_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``vasp collect`` arguments."""
    parser.description = (
        "Read vasprun.xml / OUTCAR files (plain or .gz; folders are searched recursively) into "
        "an extxyz with REF_energy (free energy TOTEN, eV), REF_forces (eV/Å), REF_stress "
        "(eV/Å³, ASE sign, Voigt), config_type and source=file:step. Ionic steps whose SCF loop "
        "reached NELM are skipped and counted. A run with both files is read from vasprun.xml, "
        "after checking the OUTCAR is the same run. Damaged or unsupported files are refused "
        "with a message naming them (--skip-bad: skipped and listed)."
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="VASP output files or run folders")
    parser.add_argument("-o", "--output", required=True, help="output extxyz file (written atomically)")
    parser.add_argument("--last-only", action="store_true", help="keep only the last ionic step of each file")
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="skip (and count) unreadable files instead of stopping at the first one",
    )
    parser.add_argument("--config-type", default=None, help="config_type for every frame (default: md/relax/static from IBRION, NSW)")
    parser.add_argument(
        "--elements", type=_symbols, default=None, metavar="Li,Zr,Cl",
        help="comma-separated allowed elements; a file with any other is an error",
    )
    add_force_argument(parser, "output dataset")
    parser.set_defaults(handler=_run)


def _symbols(text: str) -> list[str]:
    """``"Li,Zr,Cl"`` -> ``["Li", "Zr", "Cl"]`` (one token, so it cannot swallow paths)."""
    return [s.strip() for s in text.split(",") if s.strip()]


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.vasp.collect import collect
    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.fileio import check_output, write_atoms_atomic

    check_output(args.output, force=args.force, what="dataset")
    result = collect(
        args.paths,
        last_only=args.last_only,
        skip_bad=args.skip_bad,
        config_type=args.config_type,
        elements=args.elements,
    )
    print(result.summary())
    if not result.frames:
        raise SetupError(f"no frames to write to {args.output} (see the summary above)")
    write_atoms_atomic(args.output, result.frames, format="extxyz", force=args.force)
    print(f"wrote {len(result.frames)} frames to {args.output}")
    return 0
