#!/usr/bin/env python
"""Milliseconds per MD step for a 432-atom Li2ZrCl6 cell: ASE + MACECalculator vs the LAMMPS plugin.

Every measurement runs in its own subprocess (fresh allocator, fresh torch thread pool), with
three allocator settings: glibc defaults; ``env``, the process started with

    MALLOC_MMAP_THRESHOLD_=17179869184 MALLOC_TRIM_THRESHOLD_=17179869184

which stops glibc from returning the large per-step autograd buffers to the kernel (and
faulting them back in on the next step); and ``mallopt``, the same requested in-process by
:func:`lizrcl_tools.potential.mace_plugin.tune_glibc_malloc`.

Paths compared (NVE, 1 fs, velocities from 600 K, same cell and model):

- ``ase-float64``: ``MACECalculator(default_dtype="float64")`` (mace's default) + ASE
  ``VelocityVerlet``;
- ``plugin-float64`` / ``plugin-float32``: ``pair_style mace/lizrcl no_domain_decomposition``
  (single-rank graph) with ``fix nve``.

Model: ``--model PATH`` (any MACE ``.model``), else the packaged default model in
``lizrcl_tools/data`` if there is one, else a random stand-in of the size in the platform notes
(32x0e+32x1o, r_max 5 Å, 2 interactions; seeded), which is fine for timing.

Usage::

    nice -n 10 .venv/bin/python scripts/bench_md_speed.py [--steps 10] [--model M.model]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MALLOC_TRICK = {
    "MALLOC_MMAP_THRESHOLD_": "17179869184",
    "MALLOC_TRIM_THRESHOLD_": "17179869184",
}
PATHS = ("ase-float64", "plugin-float64", "plugin-float32")
SEED = 20240611
TEMPERATURE_K = 600.0


def bench_cell():
    """The study's 432-atom trigonal Li2ZrCl6 supercell (stand-in if build.py is missing)."""
    try:
        from lizrcl_tools.structures import build, make_supercell

        return make_supercell(build("li2zrcl6-p3m1"), n_atoms=432)
    except ImportError:
        # Stand-in: rock-salt-like Li/Zr/Cl arrangement with the Li2ZrCl6 composition.
        import numpy as np
        from ase.build import bulk

        atoms = bulk("NaCl", "rocksalt", a=5.2, cubic=True).repeat((6, 6, 3))
        rng = np.random.default_rng(SEED)
        cations = [i for i, s in enumerate(atoms.get_chemical_symbols()) if s == "Na"]
        rng.shuffle(cations)
        symbols = ["Cl" if s == "Cl" else "Li" for s in atoms.get_chemical_symbols()]
        for i in cations[:72]:
            symbols[i] = "Zr"
        atoms.set_chemical_symbols(symbols)
        return atoms


def default_model(workdir: Path) -> Path:
    """Packaged default model if present, else a seeded random stand-in saved in ``workdir``."""
    data = Path(__file__).resolve().parents[1] / "lizrcl_tools" / "data"
    found = sorted(data.glob("*.model")) if data.is_dir() else []
    if found:
        return found[0]
    import mace.modules
    import numpy as np
    import torch
    from e3nn import o3

    torch.manual_seed(SEED)
    block = mace.modules.interaction_classes["RealAgnosticResidualInteractionBlock"]
    model = mace.modules.ScaleShiftMACE(
        r_max=5.0, num_bessel=8, num_polynomial_cutoff=5, max_ell=3,
        interaction_cls=block, interaction_cls_first=block, num_interactions=2,
        num_elements=3, hidden_irreps=o3.Irreps("32x0e+32x1o"), MLP_irreps=o3.Irreps("16x0e"),
        atomic_energies=np.array([-1.9, -8.5, -1.6]), avg_num_neighbors=20.0,
        atomic_numbers=[3, 17, 40], correlation=3, gate=torch.nn.functional.silu,
        atomic_inter_scale=1.0, atomic_inter_shift=0.0,
    )
    path = workdir / "standin-32x0e32x1o-r5.model"
    torch.save(model, path)
    return path


def time_ase(model: Path, steps: int, warmup: int) -> float:
    """ms per VelocityVerlet step with MACECalculator (float64)."""
    import mace.modules  # noqa: F401
    import torch
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet
    from mace.calculators import MACECalculator

    atoms = bench_cell()
    net = torch.load(model, map_location="cpu", weights_only=False)
    atoms.calc = MACECalculator(models=net, device="cpu", default_dtype="float64")
    MaxwellBoltzmannDistribution(atoms, temperature_K=TEMPERATURE_K, rng=__import__("numpy").random.default_rng(SEED))
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    dyn.run(warmup)
    start = time.perf_counter()
    dyn.run(steps)
    return 1000 * (time.perf_counter() - start) / steps


def time_plugin(model: Path, dtype: str, steps: int, warmup: int, tune_malloc: bool) -> float:
    """ms per fix-nve step with the mace/lizrcl pair style (single-rank mode)."""
    import mace.modules  # noqa: F401

    from lizrcl_tools.potential.mace_plugin import mace_potential, make_lammps

    atoms = bench_cell()
    lmp = make_lammps(
        atoms, mace_potential(model, dtype=dtype, mode="single"), tune_malloc=tune_malloc
    )
    lmp.commands_list(
        [
            f"velocity all create {TEMPERATURE_K} {SEED} mom yes rot no dist gaussian",
            "timestep 0.001",
            "fix nve all nve",
            "thermo 1000",
        ]
    )
    lmp.command(f"run {warmup} post no")
    start = time.perf_counter()
    lmp.command(f"run {steps} post no")
    elapsed = time.perf_counter() - start
    lmp.close()
    return 1000 * elapsed / steps


def child(args: argparse.Namespace) -> None:
    if args.mallopt:
        from lizrcl_tools.potential.mace_plugin import tune_glibc_malloc

        tune_glibc_malloc()
    if args.path == "ase-float64":
        ms = time_ase(Path(args.model), args.steps, args.warmup)
    else:
        dtype = args.path.split("-")[1]
        ms = time_plugin(Path(args.model), dtype, args.steps, args.warmup, args.mallopt)
    print(json.dumps({"path": args.path, "ms_per_step": ms}))


def run_child(path: str, model: Path, steps: int, warmup: int, malloc: str) -> float:
    env = dict(os.environ)
    for key in MALLOC_TRICK:
        env.pop(key, None)
    if malloc == "env":
        env.update(MALLOC_TRICK)
    cmd = [sys.executable, __file__, "--child", path, "--model", str(model),
           "--steps", str(steps), "--warmup", str(warmup)]
    if malloc == "mallopt":
        cmd.append("--mallopt")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{path} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["ms_per_step"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="MACE .model (default: packaged or stand-in)")
    parser.add_argument("--steps", type=int, default=10, help="timed MD steps per path")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps (TorchScript warm-up)")
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--no-malloc-trick", action="store_true", help="skip the MALLOC_* runs")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--mallopt", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.path = args.child
        child(args)
        return

    from lizrcl_tools.potential.plugin_build import ensure_plugin

    ensure_plugin()  # build outside the timed children
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else default_model(Path(tmp))
        atoms = bench_cell()
        print(f"cell: {atoms.get_chemical_formula()} ({len(atoms)} atoms), model: {model.name}")
        print(f"torch threads: {os.environ.get('OMP_NUM_THREADS', 'default')}, "
              f"{args.steps} timed steps after {args.warmup} warm-up steps, NVE 1 fs")
        # default glibc; MALLOC_* env at process start; the same via mallopt() in-process.
        settings = ["default"] if args.no_malloc_trick else ["default", "env", "mallopt"]
        results = {}
        # Interleave the paths within each round so slow drifts in machine load hit all alike.
        for malloc in settings:
            for path in args.paths:
                results[(path, malloc)] = run_child(path, model, args.steps, args.warmup, malloc)
                print(f"  {path:15s} malloc={malloc:8s}"
                      f"{results[(path, malloc)]:8.1f} ms/step", flush=True)

    base = results.get(("ase-float64", "default"))
    print("\nms per MD step (lower is better); speed-up vs ASE float64 with default malloc")
    header = f"{'path':15s} " + " ".join(f"{'malloc ' + m:>16s}" for m in settings)
    print(header)
    for path in args.paths:
        cells = []
        for malloc in settings:
            ms = results[(path, malloc)]
            ratio = f" ({base / ms:4.2f}x)" if base else ""
            cells.append(f"{ms:8.1f}{ratio:>8s}")
        print(f"{path:15s} " + " ".join(cells))


if __name__ == "__main__":
    main()
