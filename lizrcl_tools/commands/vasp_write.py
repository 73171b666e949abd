"""``lizrcl vasp write``: one VASP run folder per structure frame, from a preset.

INCAR precedence, lowest to highest: the preset, each ``--incar-file`` in the order given,
then ``--incar TAG=VALUE`` items. Every difference from the preset is printed and recorded in
``manifest.json`` and each folder's NOTES.txt.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from lizrcl_tools.commands._common import add_min_distance_argument, min_distance_of


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``vasp write`` arguments."""
    parser.add_argument(
        "structures", nargs="*", metavar="STRUCTURE",
        help="structure files ASE can read; every frame of a multi-frame file gets a folder "
        "<stem>_<frame:05d>",
    )
    parser.add_argument("--preset", help="preset name (see --list-presets) or a preset YAML file")
    parser.add_argument("-o", "--output", type=Path, help="output folder for the run folders and manifest")
    parser.add_argument(
        "--incar", action="append", default=[], metavar="TAG=VALUE",
        help="absolute INCAR override, repeatable (ENCUT=520); TAG= removes the tag",
    )
    parser.add_argument(
        "--incar-file", action="append", default=[], type=Path, metavar="FILE",
        help="INCAR overrides from a YAML file (TAG: value; null removes) or an INCAR file",
    )
    parser.add_argument("--format", help="ASE format of the structure files (default: from the name)")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--overwrite", action="store_true",
        help="replace run folders that hold only input files; a folder with any other file "
        "(OUTCAR, vasprun.xml, ...) is refused, never deleted",
    )
    existing.add_argument(
        "--skip-existing", action="store_true",
        help="keep existing folders whose files are identical to what would be written (restart); "
        "a folder that differs is an error",
    )
    parser.add_argument(
        "--potcar-spec", action="store_true",
        help="write POTCAR.spec even where pymatgen's PMG_VASP_PSP_DIR points at PAW files",
    )
    add_min_distance_argument(parser)
    parser.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.vasp.incar import parse_incar_assignments, read_incar_overrides
    from lizrcl_tools.vasp.presets import available_presets, load_preset
    from lizrcl_tools.vasp.folders import write_vasp_inputs

    if args.list_presets:
        for name in available_presets():
            print(f"{name}: {load_preset(name).description}")
        return 0
    if not args.structures or not args.preset or args.output is None:
        raise SetupError("vasp write needs STRUCTURE files, --preset and -o/--output")
    layers = [(str(path), read_incar_overrides(path)) for path in args.incar_file]
    if args.incar:
        layers.append(("--incar", parse_incar_assignments(args.incar)))
    existing = "overwrite" if args.overwrite else "skip" if args.skip_existing else "error"
    report = write_vasp_inputs(
        args.structures, args.preset, args.output, layers,
        existing=existing, potcar="spec" if args.potcar_spec else "auto",
        format=args.format, progress=not args.quiet,
        min_distance=min_distance_of(args),
    )
    print(
        f"preset {report.preset}: {report.n_written} folder(s) written, {report.n_skipped} skipped "
        f"in {report.seconds:.1f} s -> {report.outdir} (manifest: {report.manifest_json.name}, "
        f"{report.manifest_csv.name})"
    )
    for change in report.applied_changes:
        print(f"INCAR override: {change}")
    for line in [*report.structure_changes, *report.notices]:
        print(f"note: {line}")
    return 0
