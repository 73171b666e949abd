"""``lizrcl neb``: climbing-image NEB of a Li hop in LAMMPS, or the study's seven paths."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_force_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``neb`` arguments."""
    from lizrcl_tools.commands.md import add_potential_arguments

    parser.add_argument("structures", nargs="*", metavar="STRUCTURE",
                        help="initial and final state (same atoms, same order, same cell); "
                        "not with --study-paths")
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="output folder: NAME.json, NAME.png (energy profile), NAME.extxyz (band), "
                        "NAME_vasp/ (VASP NEB inputs)")
    parser.add_argument("--study-paths", action="store_true",
                        help="run the study's seven Li hops (channels I-III, Note S1) in layered Li2ZrCl6 "
                        "and print them beside the study's barriers")
    parser.add_argument("--paths", default=None, metavar="I-1,II-2,...", help="with --study-paths: a subset")
    parser.add_argument("--supercell", default="2,2,2", metavar="NA,NB,NC",
                        help="with --study-paths: repeats of the 27-atom P-3m1 cell (default %(default)s, "
                        "the study's 2x2x2, 216 atoms; 1,1,2 = 54 atoms)")
    parser.add_argument("--no-relax-cell", action="store_true",
                        help="with --study-paths: build the hops on the ideal cell instead of the cell "
                        "relaxed by the potential")
    parser.add_argument("--teacher", default=None, metavar="REFERENCE",
                        help="with --study-paths: also evaluate this reference (e.g. sevennet, the shipped "
                        "model's teacher) and the model without D3 at every band image; NAME_teacher.json")
    parser.add_argument("--name", default="neb", help="output name of a single hop (default %(default)s)")
    parser.add_argument("--images", type=int, default=7,
                        help="images including both endpoints (default %(default)s)")
    parser.add_argument("--fmax", type=float, default=0.05,
                        help="force tolerance of the band, eV/Å (default %(default)s)")
    parser.add_argument("--max-steps", type=int, default=400, help="band optimiser steps (default %(default)s)")
    parser.add_argument("--no-climb", action="store_true", help="plain NEB (no climbing image)")
    parser.add_argument("--no-vasp", action="store_true", help="do not write VASP NEB inputs")
    add_potential_arguments(parser)
    add_force_argument(parser, "results")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Resolve the potential, run the band(s), print barriers."""
    from lizrcl_tools.commands.md import bare_potential_of, potential_of
    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.md.setup import tune_process_for
    from lizrcl_tools.neb.report import format_table

    if args.study_paths == bool(args.structures):
        raise SetupError("give either two structure files (initial, final) or --study-paths")
    if args.structures and len(args.structures) != 2:
        raise SetupError(f"a hop needs two structures (initial, final), got {len(args.structures)}")
    spec = potential_of(args)
    tune_process_for(spec)
    common = {"n_images": args.images, "fmax": args.fmax, "max_steps": args.max_steps}
    if args.study_paths:
        from lizrcl_tools.neb.workflow import run_study_paths

        try:
            repeat = tuple(int(x) for x in args.supercell.split(","))
        except ValueError:
            raise SetupError(f"--supercell takes three integers NA,NB,NC, not {args.supercell!r}") from None
        names = [n.strip() for n in args.paths.split(",")] if args.paths else None
        records = run_study_paths(args.output, spec, repeat=repeat, names=names, force=args.force,
                                  vasp=not args.no_vasp, relax_cell=not args.no_relax_cell, log=print, **common)
        if args.teacher:
            from lizrcl_tools.neb.workflow import add_teacher

            records = add_teacher(args.output, records, args.teacher, bare_spec=bare_potential_of(args, spec),
                                  log=print)
        print(f"\npotential: {spec.name}; barrier Ea and reaction energy ΔE in eV (study: DFT, Note S1)")
        print(format_table(records))
        return 0
    from lizrcl_tools.neb.workflow import neb_between_files

    record = neb_between_files(args.structures[0], args.structures[1], spec, args.output, name=args.name,
                               force=args.force, vasp=not args.no_vasp, log=print, climb=not args.no_climb,
                               **common)
    print(f"{record['path']}: barrier {record['barrier_eV']:.3f} eV, reaction energy "
          f"{record['reaction_energy_eV']:+.3f} eV, {'converged' if record['converged'] else 'NOT converged'} "
          f"(max force {record['max_force_eV_A']:.3f} eV/Å, tolerance {record['force_tolerance_eV_A']} eV/Å)")
    return 0
