"""``lizrcl build``: named crystals, (LiCl)1-x(ZrCl4)x mixtures and supercells, written to a file.

Examples::

    lizrcl build --list
    lizrcl build li2zrcl6-p3m1 --supercell 432 -o cell.data
    lizrcl build li2zrcl6-c2m --repeat 2 1 2 --seed 4 -o POSCAR
    lizrcl build mix --x 0.333 --atoms 54 --seed 1 --framework ccp -o mix.extxyz
"""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_force_argument, add_max_atoms_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``build`` arguments."""
    parser.add_argument("name", nargs="?", help="structure name (see --list) or 'mix'")
    parser.add_argument("--list", action="store_true", help="list the named structures and exit")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--supercell", type=int, metavar="N", help="most cubic-like supercell of exactly N atoms")
    size.add_argument("--repeat", type=int, nargs=3, metavar=("A", "B", "C"), help="explicit repetition")
    parser.add_argument("--seed", type=int, help="seed: random Li arrangement (Li2ZrCl6) / cation placement (mix)")
    parser.add_argument("--x", type=float, help="mix: ZrCl4 fraction x in (LiCl)1-x(ZrCl4)x, 0..1")
    parser.add_argument("--atoms", type=int, help="mix: number of atoms N = 2 n_Li + 5 n_Zr")
    parser.add_argument("--framework", choices=("hcp", "ccp"), default="hcp", help="mix: chloride stacking")
    parser.add_argument("--cl-cl", type=float, default=None, help="mix: nearest Cl-Cl distance, Å (default 3.65)")
    parser.add_argument("-o", "--output", help="output file (extxyz, POSCAR, .data = LAMMPS data, .cif, ...)")
    parser.add_argument("--format", help="ASE format name, overriding the guess from the file name")
    add_max_atoms_argument(parser)
    add_force_argument(parser, "output structure file")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.fileio import check_output
    from lizrcl_tools.structures import (
        BUILDERS, MAX_ATOMS, build, describe, make_supercell, mix, write_structure,
    )
    from lizrcl_tools.structures.mixing import MIX_MAX_ATOMS

    if args.list:
        for name in sorted(BUILDERS):
            summary = (BUILDERS[name].__doc__ or "").strip().splitlines()[0]
            print(f"{name:16s} {summary}")
        print(f"{'mix':16s} (LiCl)1-x(ZrCl4)x on an hcp/ccp Cl framework: --x, --atoms, --seed")
        return 0
    if not args.name:
        raise SetupError("give a structure name (see lizrcl build --list)")
    if args.output:
        check_output(args.output, force=args.force, what="structure file")
    limit = args.max_atoms if args.max_atoms is not None else MAX_ATOMS
    if args.name == "mix":
        if args.x is None or args.atoms is None or args.seed is None:
            raise SetupError("build mix needs --x, --atoms and --seed")
        kw = {} if args.cl_cl is None else {"cl_cl": args.cl_cl}
        mix_limit = args.max_atoms if args.max_atoms is not None else MIX_MAX_ATOMS
        atoms = mix(args.x, args.atoms, args.seed, framework=args.framework, max_atoms=mix_limit, **kw)
        if args.supercell is not None or args.repeat is not None:
            atoms = make_supercell(atoms, n_atoms=args.supercell, repeat=args.repeat, max_atoms=limit)
    else:
        atoms = build(args.name, seed=args.seed, n_atoms=args.supercell, repeat=args.repeat,
                      max_atoms=limit)
    print(describe(atoms))
    if args.output:
        path = write_structure(atoms, args.output, format=args.format, force=args.force)
        print(f"wrote          {path}")
    return 0
