"""``lizrcl pes-map``: map of SSW minima, Steinhardt order parameter vs energy (paper Fig. S2)."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``pes-map`` arguments."""
    parser.add_argument("db", help="minima database written by lizrcl ssw")
    parser.add_argument("-o", "--output", required=True, help="PNG file")
    parser.add_argument("--l", type=int, default=4, help="Steinhardt order l (default 4)")
    parser.add_argument("--formula", help="empirical formula to map (default: that of the lowest minimum)")
    parser.set_defaults(handler=_pes_map)


def _pes_map(args: argparse.Namespace) -> int:
    from lizrcl_tools.ssw.database import MinimaDB
    from lizrcl_tools.ssw.pesmap import pes_map, plot_pes_map

    pmap = pes_map(MinimaDB(args.db), args.l, args.formula)
    plot_pes_map(pmap, args.output)
    print(f"{args.output}: {len(pmap.q)} minima, Q{args.l} in [{pmap.q.min():.3f}, {pmap.q.max():.3f}], "
          f"E − Emin up to {pmap.e_above_min.max():.3f} eV/atom")
    return 0
