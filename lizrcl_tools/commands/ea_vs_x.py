"""``lizrcl ea-vs-x FOLDER... -o DIR``: Ea and σ(300 K) of several conductivity jobs against x."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_force_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``ea-vs-x`` arguments."""
    parser.add_argument("folders", nargs="+", metavar="FOLDER",
                        help="output folders of `lizrcl conductivity` (runs/T<K>/ + analysis/), one composition each")
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="folder for trend.json, trend.txt and trend.png")
    parser.add_argument("--framework", default="Cl", metavar="EL",
                        help="framework element whose D is compared with Li's at every temperature to flag a "
                             "molten cell; 'none' skips the check (default %(default)s)")
    parser.add_argument("--molten-ratio", type=float, default=None, metavar="R",
                        help="flag a temperature as molten when D(framework)/D(Li) > R (default 0.1)")
    parser.add_argument("--no-plot", action="store_true", help="skip trend.png")
    add_force_argument(parser, "trend.json / trend.txt / trend.png")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Read the jobs, print the table, write the files."""
    from lizrcl_tools.analysis.trend import DEFAULT_MOLTEN_RATIO, composition_trend, format_trend, write_trend

    framework = None if args.framework.lower() == "none" else args.framework
    ratio = DEFAULT_MOLTEN_RATIO if args.molten_ratio is None else args.molten_ratio
    rows = composition_trend(args.folders, framework=framework, molten_ratio=ratio)
    target = write_trend(rows, args.output, force=args.force, plot=not args.no_plot)
    print(format_trend(rows))
    print(f"wrote {target}, {target.with_suffix('.txt')}" + ("" if args.no_plot else f", {target.with_suffix('.png')}"))
    return 0
