"""``lizrcl xrd``: simulated powder patterns of structures, overlay plot, Rwp against a measured pattern."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_force_argument


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``xrd`` arguments."""
    parser.add_argument("structures", nargs="+", metavar="STRUCTURE",
                        help="structure files (any ASE format) or builder names (e.g. li2zrcl6-p3m1)")
    parser.add_argument("--measured", default=None, metavar="FILE.xy",
                        help="measured pattern: two columns, 2θ (°) and intensity, background subtracted")
    parser.add_argument("--wavelength", type=float, default=None, metavar="Å",
                        help="X-ray wavelength, Å (default Cu Kα 1.54184; the study's synchrotron: 0.6884)")
    parser.add_argument("--two-theta", default="10,80", metavar="MIN,MAX", help="2θ window, ° (default %(default)s)")
    parser.add_argument("--fwhm", type=float, default=0.1, help="peak width (FWHM), ° 2θ (default %(default)s)")
    parser.add_argument("-o", "--output", default="xrd", metavar="DIR",
                        help="folder for xrd.json and xrd.png (default %(default)s)")
    add_force_argument(parser, "xrd.json / xrd.png")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Simulate, compare, print peaks and Rwp."""
    from lizrcl_tools.analysis.xrd import CU_KALPHA_A, run_xrd
    from lizrcl_tools.errors import SetupError

    try:
        lo, hi = (float(x) for x in args.two_theta.split(","))
    except ValueError:
        raise SetupError(f"--two-theta takes MIN,MAX in degrees, not {args.two_theta!r}") from None
    summary = run_xrd(args.structures, args.output, args.measured, args.wavelength or CU_KALPHA_A, (lo, hi),
                      args.fwhm, force=args.force)
    for name, entry in summary["patterns"].items():
        top = sorted(zip(entry["intensity"], entry["two_theta"], entry["hkl"]), reverse=True)[:5]
        lines = ", ".join(f"{t:.2f}° {h.split()[0]} {i:.0f}" for i, t, h in top)
        rwp = f"  Rwp {entry['rwp']:.4f} (scale {entry['scale']:.3g})" if "rwp" in entry else ""
        print(f"{name}: {len(entry['two_theta'])} reflections; strongest {lines}{rwp}")
    if "ranking" in summary:
        print("ranking by Rwp: " + ", ".join(summary["ranking"]))
    print(f"wrote {args.output}/xrd.json and {args.output}/xrd.png")
    return 0
