"""``lizrcl minima``: table of the lowest SSW minima; export structures; frames for labelling."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``minima`` arguments."""
    parser.add_argument("db", help="minima database written by lizrcl ssw (with --merge: the merged database, "
                        "created if absent)")
    parser.add_argument("--merge", nargs="+", metavar="SRC",
                        help="first add the minima (duplicates merged by energy + fingerprint, visits kept) and "
                        "walk points of these per-walker databases to DB")
    parser.add_argument("--top", type=int, default=20, help="rows of the table (default 20)")
    parser.add_argument("--formula", help="only this empirical formula (e.g. ClLi)")
    parser.add_argument("--export", type=int, metavar="N", help="write the N lowest minima to --outdir")
    parser.add_argument("--format", default="cif", choices=("cif", "extxyz", "vasp"), help="export format")
    parser.add_argument("--outdir", default="minima", help="folder for --export (default ./minima)")
    parser.add_argument("--for-labelling", metavar="FILE",
                        help="write minima, walk points and holes of the potential as extxyz frames for lizrcl label")
    parser.add_argument("--window", type=float, default=0.5,
                        help="energy window above the global minimum for --for-labelling, eV/atom (default 0.5)")
    parser.add_argument("--max-walk-points", type=int, help="at most this many walk points (random, --seed)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the walk-point choice (default 0)")
    parser.add_argument("--minima-only", action="store_true", help="no walk points or holes in --for-labelling")
    parser.add_argument("--hole-min-ratio", type=float, default=None,
                        help="offer a hole's rim for labelling when its closest contact is at least this fraction "
                        "of the contact floor (default 1: only structures that pass the input checks)")
    parser.set_defaults(handler=_minima)


def _minima(args: argparse.Namespace) -> int:
    from lizrcl_tools.fileio import write_atoms_atomic
    from lizrcl_tools.ssw.database import MinimaDB
    from lizrcl_tools.ssw.export import export_minima, format_table, labelling_frames, minima_table

    db = MinimaDB(args.db)
    if args.merge:
        from lizrcl_tools.ssw.merge import merge_minima

        rep = merge_minima(db, [MinimaDB(src) for src in args.merge])
        print(f"merged {rep.sources} databases: {rep.minima_read} minima read, {rep.new_minima} new in {args.db}, "
              f"{rep.walk_points} walk points and {rep.holes} holes copied")
    table = minima_table(db, args.formula)
    holes = db.holes()
    print(f"{args.db}: {len(table)} distinct minima"
          + (f"; {len(holes)} hole{'s' * (len(holes) != 1)} of the potential kept for labelling (kind=hole)"
             if holes else ""))
    print(format_table(table, args.top))
    if args.export:
        paths = export_minima(db, args.export, args.outdir, args.format, args.formula)
        print(f"wrote {len(paths)} structures to {args.outdir}")
    if args.for_labelling:
        ratio = {} if args.hole_min_ratio is None else {"hole_min_ratio": args.hole_min_ratio}
        frames = labelling_frames(db, args.window, args.max_walk_points, args.seed, not args.minima_only,
                                  include_holes=not args.minima_only, **ratio)
        write_atoms_atomic(args.for_labelling, frames, format="extxyz")
        print(f"wrote {len(frames)} frames to {args.for_labelling}")
    return 0
