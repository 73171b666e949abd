"""``lizrcl conductivity``: layered Li2ZrCl6 → MD at several temperatures → D, σ, Ea table."""

from __future__ import annotations

import argparse
from pathlib import Path

from lizrcl_tools.commands._common import (
    add_cluster_arguments, add_min_distance_argument, cluster_of, min_distance_of,
)
from lizrcl_tools.commands.md import (
    add_potential_arguments, add_protocol_arguments, check_local_device, describe, dispersion_kwargs,
    potential_name, protocol_from_args, read_structure,
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``lizrcl conductivity`` arguments."""
    parser.add_argument("-o", "--output", default="conductivity",
                        help="output folder: runs/T<K>/ and analysis/ (default: %(default)s)")
    parser.add_argument("--structure", default="li2zrcl6-p3m1",
                        help="structure file or builder name (default: %(default)s, layered Li2ZrCl6)")
    parser.add_argument("--temperatures", type=float, nargs="+", metavar="K",
                        help="temperatures, K (default: the protocol's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_cluster_arguments(parser)
    add_potential_arguments(parser)
    add_protocol_arguments(parser)
    add_min_distance_argument(parser)
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.analysis import format_table
    from lizrcl_tools.md.setup import resolve_potential, tune_process_for
    from lizrcl_tools.md.workflow import run_conductivity

    protocol = protocol_from_args(args)
    cluster = cluster_of(args)
    if cluster is None:  # tasks sent elsewhere are checked by the pair style where they run
        check_local_device(args)
    spec = resolve_potential(potential_name(args, protocol), args.model, dtype=args.mace_dtype,
                             device=args.device,
                             **dispersion_kwargs(args))
    tune_process_for(spec)
    print(describe(protocol, spec) + f"; T = {', '.join(f'{t:g}' for t in protocol.temperatures_K)} K")
    if spec.metadata.get("backend") not in ("plugin", "pod") and not spec.name.startswith("mace"):
        print(f"potential {spec.name}: the rigid-ion test potential; it exercises the pipeline, its "
              "numbers are not Li2ZrCl6 physics (shipped MACE model: --potential mace)")
    if protocol.name == "quick":
        print("quick protocol: an ESTIMATE from hot, short runs (small cell, high temperatures, "
              "picoseconds of MD), reported with its error bar; --protocol standard (fast tier, "
              "108 atoms, 450-600 K, ~40 min on 2 cores) for a sigma(300 K) from diffusive runs, "
              "--protocol paper for the study's settings")
    structure = args.structure
    if Path(structure).is_file():  # checked here, where --min-distance is known
        structure = read_structure(structure, min_distance_of(args))
    if cluster is not None:
        print(f"temperatures as parallel tasks (Parsl): {cluster.source}")
    result, _ = run_conductivity(spec, protocol, args.output, structure=structure,
                                 progress=not args.no_progress and cluster is None, cluster=cluster)
    print(format_table(result))
    if protocol.name in ("quick", "standard"):
        print(estimate_banner(result, protocol.name))
    print(f"results: {args.output}/analysis/conductivity.json")
    return 0


def estimate_banner(result, protocol: str = "quick") -> str:
    """One line saying what the job's number is: an extrapolated estimate ± its error, or why none."""
    temps = "/".join(f"{r.T_K:g}" for r in result.temperatures)
    what = ("ESTIMATE from hot, short runs at" if protocol == "quick"
            else f"{protocol} protocol, runs at")
    fit = result.arrhenius
    if fit is None:
        n_diffusive = sum(1 for r in result.temperatures if r.diffusive is not False)
        return (f"{what} {temps} K: no Arrhenius fit ({n_diffusive} diffusive temperature(s) of "
                f"{len(result.temperatures)}; two or more needed), so no 300 K value")
    return (f"{what} {temps} K, extrapolated to 300 K over the diffusive ones "
            f"({'/'.join(f'{t:g}' for t in fit.temperatures_K)} K): "
            f"sigma(300 K) = {fit.sigma_300K_mS_cm:.3g} ± {fit.sigma_300K_err_mS_cm:.2g} mS/cm, "
            f"Ea = {fit.Ea_eV:.3f} ± {fit.Ea_err_eV:.3f} eV (1 standard error)")
