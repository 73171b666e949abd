"""``lizrcl ssw``: stochastic surface walking global search in LAMMPS; resumes from its checkpoint."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import (
    add_cluster_arguments, add_min_distance_argument, cluster_of, min_distance_of,
)
from lizrcl_tools.commands.md import add_device_argument, add_dispersion_arguments, check_local_device

_POTENTIALS = ("classical", "mace", "toy-licl")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``ssw`` arguments (defaults of the walk: :class:`lizrcl_tools.ssw.SSWParameters`)."""
    parser.add_argument("structure", nargs="?", help="starting structure (any ASE-readable file); "
                        "not needed when --checkpoint exists (the walk resumes)")
    parser.add_argument("--db", required=True, help="minima database (SQLite, shared by walkers)")
    parser.add_argument("--checkpoint", required=True, help="JSON checkpoint; resumed from if it exists "
                        "(with --walkers: the folder of the walkers' run folders walker_NNN/)")
    parser.add_argument("--steps", type=int, default=20, help="total SSW steps (default 20)")
    parser.add_argument("--seed", type=int, default=None,
                        help="RNG seed of this walker (default 0 for a new walk; a resumed walk keeps "
                        "its own and refuses a different one)")
    parser.add_argument("--potential", default="mace",
                        help=f"one of {', '.join(_POTENTIALS)} or a PotentialSpec JSON file (default mace: "
                        "the shipped model, ~30-40 s per step for 27 atoms on one core; classical is "
                        "the rigid-ion test potential)")
    parser.add_argument("--model", help="MACE model file (for --potential mace)")
    add_device_argument(parser)
    add_dispersion_arguments(parser)
    add_min_distance_argument(parser)
    parser.add_argument("--fixed-cell", action="store_true", help="keep the cell fixed (default: variable cell)")
    parser.add_argument("--ng", type=int, help="Gaussians per step N_G (default 10)")
    parser.add_argument("--ds-atom", type=float, help="Gaussian width for atoms, Å (default 0.6)")
    parser.add_argument("--ds-cell", type=float, help="Gaussian width for the cell, strain (default 0.05)")
    parser.add_argument("--temperature", type=float, help="T_ssw of the Metropolis test, K (default 300)")
    parser.add_argument("--pressure", type=float, help="pressure, GPa (default 0)")
    parser.add_argument("--force-tol", type=float, help="quench tolerance: largest atomic force, eV/Å (default 0.05)")
    parser.add_argument("--stress-tol", type=float, help="quench tolerance: largest stress component, GPa "
                        "(default 0.05)")
    parser.add_argument("--bias-relax-steps", type=int, help="force calls of each Gaussian's biased relaxation "
                        "(default 10)")
    parser.add_argument("--dimer-rotations", type=int, help="biased-dimer rotations per Gaussian, 2 force calls "
                        "each (default 0: measured not to pay on the toy benchmark; 2 is LASP-like)")
    parser.add_argument("--adapt-window", type=int, help="steps of each move (climb, kick) whose new minima per "
                        "force call set the kick chance (default 8; 0: climbs only)")
    parser.add_argument("--swap-moves", action=argparse.BooleanOptionalAction, default=None,
                        help="swaps in the adapted move mix: two atoms of different elements exchange places, "
                        "then the quench (undoes antisite mixing, e.g. Li/Zr; default on)")
    parser.add_argument("--swap-pairs", nargs="+", metavar="A-B",
                        help="element pairs a swap may exchange, e.g. Li-Zr (default: every unlike pair)")
    parser.add_argument("--swap-candidates", type=int,
                        help="exchanges drawn per swap; each costs one single point and the lowest is quenched "
                        "(default 1: no call)")
    parser.add_argument("--start-fixed-cell", action=argparse.BooleanOptionalAction, default=None,
                        help="relax the starting structure's atoms at fixed cell before its variable-cell quench "
                        "(for random starts at a sensible density; default off)")
    parser.add_argument("--max-force-calls", type=int,
                        help="hard budget on the walk's force calls (start quench included): the walk stops "
                        "inside a step rather than pass it; the cut step is redone on resume")
    parser.add_argument("--profile", action="store_true",
                        help="print where the force calls went (direction, dimer, each Gaussian, quench, "
                        "Metropolis); every step's profile is kept in the checkpoint")
    parser.add_argument("--walkers", type=int, metavar="N",
                        help="N walkers from the structure, seeds derived from --seed (recorded in walkers.json), "
                        "each with its own run folder under --checkpoint (database, checkpoint; --steps and "
                        "--max-force-calls per walker), then merged into --db; finished walkers are skipped "
                        "on a rerun. With --workers/--cluster they run as parallel Parsl tasks (ssw block)")
    add_cluster_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_ssw)


def load_potential(name: str, model: str | None, dispersion: str | None = None,
                   d3_cutoff_A: float | None = None, d3_cn_cutoff_A: float | None = None,
                   device: str = "cpu"):
    """PotentialSpec for a CLI choice: a registered name or a JSON file of ``PotentialSpec.to_dict()``.

    ``device`` (cpu, cuda, auto) is where the MACE pair style runs its model
    (:func:`lizrcl_tools.md.setup.resolve_potential`); a JSON spec takes only ``cpu`` (its
    pair_style line says where it runs), the CPU potentials refuse ``cuda``.

    ``dispersion`` (``none``, ``d3bj``, ``d3zero``; default
    :func:`~lizrcl_tools.potential.dispersion.default_dispersion` of the potential: d3bj for
    MACE, none otherwise) overlays Grimme D3 on any of them (:func:`lizrcl_tools.potential.dispersion.overlay_dispersion`); a JSON spec that
    already carries D3 is used as it is when ``dispersion`` is not given.
    """
    import json
    from pathlib import Path

    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.potential import PotentialSpec
    from lizrcl_tools.potential.dispersion import d3_settings, default_dispersion, overlay_dispersion

    if device != "cpu" and name.endswith(".json"):
        raise SetupError(f"--device {device}: a JSON spec carries its own pair_style line ({name}); "
                         "write the device keyword there")
    if device == "cuda" and name == "toy-licl":
        raise SetupError("--device cuda: the toy-licl potential runs on the CPU in LAMMPS; only the "
                         "MACE pair style has a GPU path")
    if name.endswith(".json"):
        try:
            spec = PotentialSpec.from_dict(json.loads(Path(name).read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise SetupError(f"{name}: not a PotentialSpec JSON file ({exc})") from exc
        if dispersion is None:
            return spec
        return overlay_dispersion(spec, d3_settings(dispersion, d3_cutoff_A, d3_cn_cutoff_A))
    d3 = d3_settings(dispersion or default_dispersion(name), d3_cutoff_A, d3_cn_cutoff_A)
    if name == "toy-licl":
        from lizrcl_tools.ssw.toy import toy_licl_potential

        return overlay_dispersion(toy_licl_potential(), d3)
    if name in ("classical", "mace"):
        from lizrcl_tools.md.setup import resolve_potential

        return resolve_potential(name, model, dispersion=dispersion, d3_cutoff_A=d3_cutoff_A,
                                 d3_cn_cutoff_A=d3_cn_cutoff_A, device=device)
    raise SetupError(f"unknown potential {name!r}; choose one of {', '.join(_POTENTIALS)} or a .json spec")


def _ssw(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.fileio import read_structure
    from lizrcl_tools.ssw.profile import format_profile, summarize_profile
    from lizrcl_tools.ssw.walker import SSWWalker

    if args.walkers is not None:
        return _walkers(args)
    if cluster_of(args) is not None:
        raise SetupError("--workers/--cluster run several walkers: give --walkers N")
    if Path(args.checkpoint).exists():
        walker = SSWWalker.resume(args.checkpoint, db=args.db, seed=args.seed)
        print(f"resuming {args.checkpoint} at step {walker.state.step} (seed {walker.seed})")
        if args.device != "cpu":
            print(f"--device {args.device} ignored: a resumed walk keeps the potential of its checkpoint")
    else:
        if not args.structure:
            raise SetupError("a starting structure is needed for a new walk")
        params = _params_of(args)
        check_local_device(args)
        spec = load_potential(args.potential, args.model, args.dispersion, args.d3_cutoff, args.d3_cn_cutoff,
                              device=args.device)
        seed = 0 if args.seed is None else args.seed
        walker = SSWWalker(read_structure(args.structure, min_distance=min_distance_of(args)), spec, args.db, params, seed, args.checkpoint,
                           max_force_calls=args.max_force_calls)
    try:
        walker.run(args.steps, progress=not args.no_progress, max_force_calls=args.max_force_calls)
        n = len(walker.symbols)
        s = walker.state
        print(f"step {s.step}: E = {s.energy / n:.5f} eV/atom, lowest {walker.lowest_energy() / n:.5f} eV/atom, "
              f"{walker.db.count()} distinct minima in {args.db}, acceptance {walker.acceptance_rate():.2f}, "
              f"{s.force_calls} force calls")
        if args.profile:
            print(format_profile(summarize_profile(s.history, s.force_calls)))
    finally:
        walker.close()
    return 0


def _params_of(args: argparse.Namespace):  # noqa: ANN202 - SSWParameters
    from lizrcl_tools.ssw.parameters import SSWParameters, with_overrides

    return with_overrides(
        SSWParameters(relax_cell=not args.fixed_cell), n_gaussians=args.ng, ds_atom=args.ds_atom,
        ds_cell=args.ds_cell, temperature_K=args.temperature, pressure_GPa=args.pressure,
        force_tol=args.force_tol, stress_tol_GPa=args.stress_tol, bias_relax_steps=args.bias_relax_steps,
        dimer_rotations=args.dimer_rotations, adapt_window=args.adapt_window, swap_moves=args.swap_moves,
        swap_pairs=tuple(args.swap_pairs) if args.swap_pairs else None, swap_candidates=args.swap_candidates,
        start_fixed_cell=args.start_fixed_cell)


def _walkers(args: argparse.Namespace) -> int:
    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.fileio import read_structure
    from lizrcl_tools.ssw.parallel import run_walkers

    if not args.structure:
        raise SetupError("--walkers needs the starting structure (finished walkers are skipped, others resume)")
    cluster = cluster_of(args)
    if cluster is None:  # walkers sent elsewhere are checked by the pair style where they run
        check_local_device(args)
    spec = load_potential(args.potential, args.model, args.dispersion, args.d3_cutoff, args.d3_cn_cutoff,
                          device=args.device)
    atoms = read_structure(args.structure, min_distance=min_distance_of(args))
    seed = 0 if args.seed is None else args.seed
    where = f"parallel tasks (Parsl): {cluster.source}" if cluster is not None else "one after another"
    print(f"{args.walkers} walkers from seed {seed}, {where}; run folders in {args.checkpoint}")
    results, report = run_walkers(atoms, spec, _params_of(args), seed, args.walkers, args.checkpoint, args.db,
                                  args.steps, args.max_force_calls, cluster)
    n = len(atoms)
    for k, r in enumerate(results):
        print(f"walker {k} (seed {r['seed']}): {r['steps_done']} steps, {r['force_calls']} force calls, "
              f"lowest {r['lowest_energy_eV'] / n:.5f} eV/atom, {r['distinct_minima']} distinct minima")
    print(f"merged {report.sources} walker databases into {args.db}: {report.new_minima} new minima")
    return 0
