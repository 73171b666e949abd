"""``lizrcl md``: NPT equilibration then NVT production in LAMMPS, one run folder per temperature."""

from __future__ import annotations

import argparse
import dataclasses

from lizrcl_tools.commands._common import add_min_distance_argument, min_distance_of


def add_potential_arguments(parser: argparse.ArgumentParser) -> None:
    """``--potential`` / ``--model`` / ``--mace-dtype`` / ``--device`` / ``--dispersion``
    (shared by md, conductivity and neb; ssw adds ``--device`` and ``--dispersion``)."""
    from lizrcl_tools.md.setup import DEFAULT_POTENTIAL, POTENTIALS

    parser.add_argument(
        "--potential", choices=sorted(POTENTIALS), default=None,
        help=f"interatomic potential (default: mace with --model, else {DEFAULT_POTENTIAL})",
    )
    parser.add_argument("--model", default=None, metavar="PATH", help="MACE model file (implies --potential mace)")
    parser.add_argument("--mace-dtype", choices=("float32", "float64"), default="float32",
                        help="MACE precision in LAMMPS (default: %(default)s, ~2x faster than float64 on CPU)")
    add_device_argument(parser)
    add_dispersion_arguments(parser)


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    """``--device {cpu,cuda,auto}``: where the MACE pair style runs its model."""
    from lizrcl_tools.potential.spec import DEVICES

    parser.add_argument(
        "--device", choices=DEVICES, default="cpu",
        help="where the MACE pair style runs the model: cuda = a GPU per MPI rank (needs a CUDA "
        "build of torch; built but not yet measured on a GPU), auto = cuda if torch has one, else "
        "cpu (the choice is in the LAMMPS log); recorded in run.json (default: %(default)s)",
    )


def check_local_device(args: argparse.Namespace) -> None:
    """Stop before anything is written when ``--device cuda`` cannot work in this process."""
    if getattr(args, "device", "cpu") == "cuda" and (args.potential in (None, "mace") or args.model):
        from lizrcl_tools.potential.mace_plugin import check_device

        check_device("cuda")


def potential_of(args: argparse.Namespace, name: str | None = None,  # noqa: ANN201 - PotentialSpec
                 dispersion: str | None = None):
    """The potential the potential options ask for (``name`` overrides ``--potential``,
    ``dispersion`` overrides ``--dispersion``), after the device check, so a bad ``--device``
    stops before anything is written."""
    from lizrcl_tools.md.setup import resolve_potential

    check_local_device(args)
    d3 = dispersion_kwargs(args)
    if dispersion is not None:
        d3["dispersion"] = dispersion
    return resolve_potential(name if name is not None else args.potential, args.model, dtype=args.mace_dtype,
                             device=args.device, **d3)


def bare_potential_of(args: argparse.Namespace, spec, name: str | None = None):  # noqa: ANN001, ANN201
    """``spec`` without its D3 part (None when it has none): what a teacher's PBE labels compare with."""
    if spec.metadata.get("dispersion", {}).get("method", "none") == "none":
        return None
    return potential_of(args, name, dispersion="none")


def add_dispersion_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dispersion`` and the D3 cutoffs (shared by md, conductivity and ssw)."""
    from lizrcl_tools.potential.dispersion import (
        D3_CN_CUTOFF_A, D3_CUTOFF_A, DEFAULT_DISPERSION, DISPERSION_CHOICES, NO_DEFAULT_DISPERSION,
    )

    parser.add_argument(
        "--dispersion", choices=DISPERSION_CHOICES, default=None,
        help="Grimme D3 with PBE parameters overlaid at run time (LAMMPS dispersion/d3; the MACE "
        "model's labels are PBE without dispersion); recorded in run.json (default: "
        f"{DEFAULT_DISPERSION}, none for {', '.join(NO_DEFAULT_DISPERSION)})",
    )
    parser.add_argument("--d3-cutoff", type=float, default=None, metavar="A",
                        help=f"D3 two-body cutoff, Å (default {D3_CUTOFF_A:g})")
    parser.add_argument("--d3-cn-cutoff", type=float, default=None, metavar="A",
                        help=f"D3 coordination-number cutoff, Å (default {D3_CN_CUTOFF_A:g})")


def dispersion_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`lizrcl_tools.md.setup.resolve_potential` from the D3 options."""
    return {"dispersion": args.dispersion, "d3_cutoff_A": args.d3_cutoff, "d3_cn_cutoff_A": args.d3_cn_cutoff}


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """``--protocol`` plus one override option per protocol field (shared with conductivity)."""
    from lizrcl_tools.md.protocols import BAROSTATS, DEFAULT_PROTOCOL, PROTOCOLS

    g = parser.add_argument_group("protocol (defaults from --protocol; every value can be overridden)")
    g.add_argument(
        "--protocol", choices=sorted(PROTOCOLS), default=DEFAULT_PROTOCOL,
        help="quick: an estimate from hot, short runs: 54 atoms, 1 ps NPT + 2-3 ps NVT (adaptive, err(D)/D <= 20%%) "
        "at 600/750/900 K (<= 15 min with the shipped MACE on 2 cores); "
        "standard: the fast tier + D3 (unless --potential/--model), the converged cell, 5 ps NPT + 20-100 ps NVT "
        "(adaptive, diffusive with err(D)/D <= 20%%) at 450/525/600 K; "
        "paper: 432 atoms, 10 ps NPT + 100 ps NVT at 300-450 K (default: %(default)s)",
    )
    g.add_argument("--n-atoms", type=int, help="target supercell size (0: use the cell as given)")
    g.add_argument("--npt-ps", type=float, help="NPT equilibration length, ps")
    g.add_argument("--nvt-ps", type=float,
                   help="NVT production length, ps (fixed unless --max-nvt-ps is also given)")
    g.add_argument("--max-nvt-ps", type=float,
                   help="adaptive NVT: extend production up to this length (ps) until D is diffusive with err(D)/D <= --target-rel-err")
    g.add_argument("--extend-nvt-ps", type=float, help="adaptive NVT: length of each extension, ps")
    g.add_argument("--target-rel-err", type=float, help="adaptive NVT: relative error of D that stops a run (default 0.2)")
    g.add_argument("--timestep-fs", type=float, help="MD time step, fs (default 1)")
    g.add_argument("--dump-every", type=int, help="steps between trajectory frames")
    g.add_argument("--thermo-every", type=int, help="steps between log lines")
    g.add_argument("--chunk-steps", type=int, help="steps between progress updates and restart files")
    g.add_argument("--tdamp-fs", type=float, help="Nose-Hoover thermostat damping, fs (default 100)")
    g.add_argument("--pdamp-fs", type=float, help="Nose-Hoover barostat damping, fs (default 1000)")
    g.add_argument("--pressure-bar", type=float, help="NPT pressure, bar (default 1)")
    g.add_argument("--barostat", choices=BAROSTATS, help="NPT cell freedom (default couple-xy: keeps a 120° angle)")
    g.add_argument("--seed", type=int, help="seed of the initial velocities (recorded in run.json)")


def protocol_from_args(args: argparse.Namespace):
    """The chosen protocol with every given override applied."""
    from lizrcl_tools.md.protocols import get_protocol

    protocol = get_protocol(args.protocol).with_overrides(
        npt_ps=args.npt_ps, nvt_ps=args.nvt_ps, timestep_fs=args.timestep_fs,
        dump_every=args.dump_every, thermo_every=args.thermo_every, chunk_steps=args.chunk_steps,
        tdamp_fs=args.tdamp_fs, pdamp_fs=args.pdamp_fs, pressure_bar=args.pressure_bar,
        barostat=args.barostat, seed=args.seed, max_nvt_ps=args.max_nvt_ps,
        extend_nvt_ps=args.extend_nvt_ps, target_rel_err=args.target_rel_err,
        temperatures_K=getattr(args, "temperatures", None),
    )
    if args.n_atoms is not None:
        protocol = dataclasses.replace(protocol, n_atoms=args.n_atoms or None)
    return protocol


def potential_name(args: argparse.Namespace, protocol) -> str | None:
    """``--potential``, else MACE when ``--model`` is given, else the protocol's own choice."""
    if args.potential is not None or args.model is not None:
        return args.potential
    return protocol.potential


def describe(protocol, spec) -> str:
    """One paragraph stating what will run (printed before long runs)."""
    return (
        f"protocol {protocol.name}: {protocol.npt_ps:g} ps NPT ({protocol.barostat}, "
        f"{protocol.pressure_bar:g} bar, pdamp {protocol.pdamp_fs:g} fs) + {_nvt_length(protocol)} NVT "
        f"(Nose-Hoover, tdamp {protocol.tdamp_fs:g} fs), step {protocol.timestep_fs:g} fs, "
        f"frame every {protocol.dump_every} steps, seed {protocol.seed}; potential {spec.name}"
        + (f" on device {device}" if (device := spec.metadata.get("device", "cpu")) != "cpu" else "")
    )


def _nvt_length(protocol) -> str:
    if not protocol.adaptive:
        return f"{protocol.nvt_ps:g} ps"
    ext = protocol.extend_nvt_steps * protocol.timestep_fs / 1000.0
    return (f"{protocol.nvt_ps:g} ps (+{ext:g} ps at a time up to {protocol.max_nvt_ps:g} ps "
            f"until D is diffusive with err(D)/D <= {protocol.target_rel_err:g})")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``lizrcl md`` arguments."""
    parser.add_argument("structure", help="starting structure (any format ASE reads: CIF, POSCAR, extxyz)")
    t = parser.add_mutually_exclusive_group()
    t.add_argument("--temperature", type=float, metavar="K",
                   help="run one temperature; -o is then the run folder itself")
    t.add_argument("--temperatures", type=float, nargs="+", metavar="K",
                   help="run these temperatures in sequence into -o/T<K> (default: the protocol's)")
    parser.add_argument("-o", "--output", required=True, help="run folder (--temperature) or parent folder")
    parser.add_argument("--mobile", default="Li", help="diffusing element recorded for the analysis (default Li)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_potential_arguments(parser)
    add_protocol_arguments(parser)
    add_min_distance_argument(parser)
    parser.set_defaults(handler=_run)


def read_structure(path: str, min_distance=None):  # noqa: ANN001, ANN201 - see fileio
    """Read one structure (the first frame), checked; unreadable files raise ParseError naming
    the file (``min_distance``: the ``--min-distance`` option)."""
    from lizrcl_tools.fileio import read_structure as _read

    return _read(path, min_distance=min_distance)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.md import run_md, run_temperatures
    from lizrcl_tools.md.setup import resolve_potential, supercell_for, tune_process_for

    protocol = protocol_from_args(args)
    check_local_device(args)
    spec = resolve_potential(potential_name(args, protocol), args.model, dtype=args.mace_dtype,
                             device=args.device,
                             **dispersion_kwargs(args))
    tune_process_for(spec)
    atoms = supercell_for(read_structure(args.structure, min_distance_of(args)), protocol.n_atoms)
    print(describe(protocol, spec) + f"; {len(atoms)} atoms")
    common = dict(mobile=args.mobile, progress=not args.no_progress)
    if args.temperature is not None:
        record = run_md(atoms, spec, args.temperature, args.output, protocol, **common)
        print(f"{args.output}: {record.status}, {record.get('n_frames')} frames, V = {record.volume_A3:.2f} Å³")
        return 0
    dirs = run_temperatures(atoms, spec, protocol.temperatures_K, args.output, protocol, **common)
    for d in dirs:
        print(f"{d}: complete")
    return 0
