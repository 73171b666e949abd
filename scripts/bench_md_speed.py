#!/usr/bin/env python
"""MD speed of every potential tier on Li2ZrCl6 at 432 and 1,728 atoms, one table, one run.

Paths (NVE, 1 fs, velocities from 600 K, the same cell for all):

- ``ase-mace-f64``: ``MACECalculator(default_dtype="float64")`` + ASE ``VelocityVerlet``;
- ``plugin-f64`` / ``plugin-f32``: ``pair_style mace/lizrcl no_domain_decomposition``;
- ``fast``: the fast tier, ``pair_style pod`` (``--fast-model`` folder, default the shipped one),
  on one MPI rank (``pair_style pod`` has no threads);
- ``fast-mpi2``: the same on ``--threads`` MPI ranks (``mpirun`` of the venv's MPI), i.e. on as
  many cores as the torch paths use;
- ``plugin-f32-nojit``: ``plugin-f32`` with TorchScript's profiling re-optimisation off
  (``LIZRCL_JIT_OPTIMIZE=0``; the pair style's default is on);
- ``engine-f32`` / ``engine-f32-nojit``: single points of rattled copies of the cell (0.05 Å) through
  :class:`~lizrcl_tools.potential.lammps_engine.LammpsEngine`, the one-call-per-structure path of
  SSW, NEB and relaxations, with and without the re-optimisation (ms per call in the step column;
  ``--warmup`` calls first: the re-optimisation's cost falls in the first ~20 calls of a process).

Every measurement runs in its own subprocess (fresh allocator and thread pool) with the glibc
setting ``lizrcl md`` uses for MACE (:func:`lizrcl_tools.potential.mace_plugin.tune_glibc_malloc`)
and ``--threads`` torch threads (default 2); ``pair_style pod`` is serial (1 MPI rank, no
OpenMP). Ratios are against ``plugin-f32`` at the same size, measured in the same run.

Usage::

    nice -n 5 .venv/bin/python scripts/bench_md_speed.py [--sizes 432 1728] [--steps 5]
    .venv/bin/python scripts/bench_md_speed.py --sizes 27 432 --paths plugin-f32 plugin-f32-nojit engine-f32 engine-f32-nojit
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

PATHS = ("ase-mace-f64", "plugin-f64", "plugin-f32", "fast", "fast-mpi2", "plugin-f32-nojit", "engine-f32",
         "engine-f32-nojit")
DEFAULT_PATHS = ("ase-mace-f64", "plugin-f64", "plugin-f32", "fast", "fast-mpi2")
SEED = 20240611
TEMPERATURE_K = 600.0
FAST_STEPS_FACTOR = 20
"""The fast tier runs this many times more timed steps (each step is that much cheaper)."""
ENGINE_CALLS_FACTOR = 4
"""Single points per timed MACE step of the engine paths (each call has its own set-up)."""


def bench_cell(n_atoms: int):
    """Trigonal Li2ZrCl6 P-3m1 supercell with ``n_atoms`` atoms (432 = the study's cell)."""
    from lizrcl_tools.structures import build

    return build("li2zrcl6-p3m1", n_atoms=n_atoms)


def default_model() -> Path:
    from lizrcl_tools.potential.evaluate import default_model_path

    path = default_model_path()
    if path is None:
        raise SystemExit("no packaged MACE model; pass --model")
    return Path(path)


def time_ase(model: Path, n_atoms: int, steps: int, warmup: int) -> float:
    import mace.modules  # noqa: F401  (import order for e3nn with torch >= 2.6)
    import numpy as np
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet
    from mace.calculators import MACECalculator

    atoms = bench_cell(n_atoms)
    atoms.calc = MACECalculator(model_paths=str(model), device="cpu", default_dtype="float64")
    MaxwellBoltzmannDistribution(atoms, temperature_K=TEMPERATURE_K, rng=np.random.default_rng(SEED))
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    dyn.run(warmup)
    start = time.perf_counter()
    dyn.run(steps)
    return 1000 * (time.perf_counter() - start) / steps


def time_lammps(spec, n_atoms: int, steps: int, warmup: int) -> tuple[float, int]:
    """ms/step of NVE in LAMMPS, and this process's MPI rank."""
    from lizrcl_tools.potential.mace_plugin import make_lammps

    lmp = make_lammps(bench_cell(n_atoms), spec)
    rank = lmp.extract_setting("world_rank")
    lmp.commands_list([
        f"velocity all create {TEMPERATURE_K} {SEED} mom yes rot no dist gaussian",
        "timestep 0.001", "fix nve all nve", "thermo 100000",
    ])
    lmp.command(f"run {warmup} post no")
    start = time.perf_counter()
    lmp.command(f"run {steps} post no")
    elapsed = time.perf_counter() - start
    lmp.close()
    return 1000 * elapsed / steps, rank


def time_engine(spec, n_atoms: int, calls: int, warmup: int) -> float:
    """ms per single point of a rattled copy of the cell through the LAMMPS engine."""
    import numpy as np

    from lizrcl_tools.potential.lammps_engine import LammpsEngine, to_lammps_frame

    atoms = bench_cell(n_atoms)
    cell, positions, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
    engine = LammpsEngine(spec, atoms.get_chemical_symbols(), cell, positions)
    rng = np.random.default_rng(SEED)
    rattled = [positions + rng.normal(scale=0.05, size=positions.shape) for _ in range(warmup + calls)]
    for p in rattled[:warmup]:
        engine.evaluate(cell, p)
    start = time.perf_counter()
    for p in rattled[warmup:]:
        engine.evaluate(cell, p)
    elapsed = time.perf_counter() - start
    engine.close()
    return 1000 * elapsed / calls


def child(args: argparse.Namespace) -> None:
    import torch

    from lizrcl_tools.potential.mace_plugin import tune_glibc_malloc

    torch.set_num_threads(args.threads)
    tune_glibc_malloc()
    rank = 0
    if args.child == "ase-mace-f64":
        ms = time_ase(Path(args.model), args.n_atoms, args.steps, args.warmup)
    elif args.child in ("fast", "fast-mpi2"):
        from lizrcl_tools.potential.pod import fast_potential

        ms, rank = time_lammps(fast_potential(args.fast_model), args.n_atoms,
                               args.steps * FAST_STEPS_FACTOR, args.warmup * FAST_STEPS_FACTOR)
    elif args.child.startswith("engine"):
        from lizrcl_tools.potential.mace_plugin import mace_potential

        ms = time_engine(mace_potential(args.model, dtype="float32", mode="single"), args.n_atoms,
                         args.steps * ENGINE_CALLS_FACTOR, args.warmup)
    else:
        from lizrcl_tools.potential.mace_plugin import mace_potential

        dtype = "float64" if args.child == "plugin-f64" else "float32"
        ms, rank = time_lammps(mace_potential(args.model, dtype=dtype, mode="single"),
                               args.n_atoms, args.steps, args.warmup)
    if rank == 0:
        print(json.dumps({"ms_per_step": ms}))


def run_child(path: str, n_atoms: int, args: argparse.Namespace) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    env.pop("LIZRCL_JIT_OPTIMIZE", None)
    if path.endswith("-nojit"):
        env["LIZRCL_JIT_OPTIMIZE"] = "0"
    launcher = []
    if path == "fast-mpi2":
        launcher = [str(Path(sys.prefix) / "bin" / "mpirun"), "-np", str(args.threads)]
        env["OMP_NUM_THREADS"] = "1"
    cmd = launcher + [sys.executable, __file__, "--child", path, "--n-atoms", str(n_atoms),
           "--model", str(args.model), "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--threads", str(args.threads)]
    if args.fast_model:
        cmd += ["--fast-model", args.fast_model]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{path} at {n_atoms} atoms failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["ms_per_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="MACE .model (default: the packaged one)")
    parser.add_argument("--fast-model", default=None, help="fast-tier folder (default: shipped)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[432, 1728], help="atom counts")
    parser.add_argument("--steps", type=int, default=5, help="timed MACE steps per path and size")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps (TorchScript warm-up)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (OMP_NUM_THREADS)")
    parser.add_argument("--paths", nargs="+", default=list(DEFAULT_PATHS), choices=PATHS,
                        help=f"default {' '.join(DEFAULT_PATHS)}")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--n-atoms", type=int, default=432, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model is None:
        args.model = default_model()
    if args.child:
        child(args)
        return

    from lizrcl_tools.potential.plugin_build import ensure_plugin

    ensure_plugin()  # build outside the timed children
    print(f"Li2ZrCl6 P-3m1, sizes {args.sizes}; MACE {Path(args.model).name}; "
          f"{args.threads} torch threads; {args.steps} timed MACE steps "
          f"({args.steps * FAST_STEPS_FACTOR} for fast) after warm-up; NVE 1 fs", flush=True)
    results = {}
    for n_atoms in args.sizes:
        for path in args.paths:
            results[(path, n_atoms)] = run_child(path, n_atoms, args)
            print(f"  {path:13s} {n_atoms:5d} atoms {results[(path, n_atoms)]:9.1f} ms/step",
                  flush=True)

    print("\n| path | atoms | ms/step | atom-steps/s | speed vs plugin-f32 |")
    print("| --- | --- | --- | --- | --- |")
    for n_atoms in args.sizes:
        base = results.get(("plugin-f32", n_atoms))
        for path in args.paths:
            ms = results[(path, n_atoms)]
            ratio = f"{base / ms:.2f}x" if base else "-"
            print(f"| {path} | {n_atoms} | {ms:.1f} | {n_atoms * 1000 / ms:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
