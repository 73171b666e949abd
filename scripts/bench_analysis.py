"""Time ``lizrcl analyze`` against pymatgen-analysis-diffusion on one synthetic trajectory.

A 432-atom cell (96 Li random walkers of known D, 48 Zr + 288 Cl static, the Li2ZrCl6
ratio) with 10,000 frames is written as a LAMMPS dump; then

* ours: :func:`lizrcl_tools.analysis.analyze_run` (MDAnalysis read + FFT MSD + window +
  block errors), with the read and the analysis timed separately;
* pymatgen: ``DiffusionAnalyzer(structure, displacements, "Li", ...)`` with its default
  ``smoothed="max"`` on the same positions (pymatgen has no LAMMPS dump reader, so it gets the
  arrays; parsing them is not counted).

Prints wall times, the ratio and both D values. A benchmark, not a test; run it with
``nice -n 10 .venv/bin/python scripts/bench_analysis.py`` (about 2 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000, help="frames (default %(default)s)")
    parser.add_argument("--li", type=int, default=96, help="Li walkers; framework = 3.5 × Li (default %(default)s)")
    parser.add_argument("--D", type=float, default=1e-5, help="true D, cm²/s (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Lattice, Structure

    from lizrcl_tools.analysis import analyze_run
    from lizrcl_tools.analysis.diffusion import choose_fit_window, fit_diffusion
    from lizrcl_tools.analysis.msd import compute_msd
    from lizrcl_tools.analysis.runinfo import read_run_info
    from lizrcl_tools.analysis.synthetic import write_random_walk_run
    from lizrcl_tools.analysis.trajectory import read_mobile_trajectory

    with tempfile.TemporaryDirectory(prefix="bench_analysis_") as tmp:
        t0 = time.perf_counter()
        run = write_random_walk_run(Path(tmp) / "run", D_cm2_s=args.D, n_mobile=args.li, n_frames=args.frames,
                                    cell_A=np.diag([25.6, 22.2, 24.0]), seed=args.seed)
        info = read_run_info(run)
        print(f"trajectory: {info.n_atoms} atoms ({info.n_mobile} Li), {args.frames} frames, "
              f"{(run / 'nvt.lammpstrj').stat().st_size / 1e6:.0f} MB, written in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        traj = read_mobile_trajectory(info, progress=False)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        curves = compute_msd(traj.positions_A, traj.frame_interval_ps)
        fit = fit_diffusion(curves, traj.positions_A, choose_fit_window(curves))
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        full, _ = analyze_run(run, progress=False)
        t_full = time.perf_counter() - t0

        # pymatgen gets every atom's positions as arrays; parsing them is not timed.
        lines = (run / "nvt.lammpstrj").read_text().splitlines()
        per_frame = 9 + info.n_atoms
        rows = [line for i, line in enumerate(lines) if i % per_frame >= 9]
        data = np.array(" ".join(rows).split(), dtype=float).reshape(args.frames, info.n_atoms, 5)
        del lines, rows
        species = [info.elements[int(t) - 1] for t in data[0, :, 1]]
        t0 = time.perf_counter()
        structure = Structure(Lattice(info.cell_A), species, data[0, :, 2:], coords_are_cartesian=True)
        disp = np.transpose(data[:, :, 2:] - data[0, :, 2:], (1, 0, 2))
        pmg = DiffusionAnalyzer(structure, disp, "Li", info.temperature_K, time_step=info.timestep_fs,
                                step_skip=info.dump_every)
        t_pmg = time.perf_counter() - t0

    print(f"true D                       : {args.D:.4e} cm²/s")
    print(f"lizrcl D (default window)    : {fit.D_cm2_s:.4e} ± {fit.D_err_cm2_s:.1e} cm²/s "
          f"(window {fit.window.start_ps:.3g}–{fit.window.end_ps:.3g} ps, "
          f"D_xy {fit.D_xy_cm2_s:.4e}, D_z {fit.D_z_cm2_s:.4e})")
    print(f"pymatgen D (smoothed='max')  : {pmg.diffusivity:.4e} ± {pmg.diffusivity_std_dev:.1e} cm²/s "
          f"(window {pmg.dt[0] / 1000:.3g}–{pmg.dt[-1] / 1000:.3g} ps)")
    print(f"lizrcl read dump (MDAnalysis): {t_read:8.2f} s")
    print(f"lizrcl MSD + fit + blocks    : {t_ours:8.2f} s")
    print(f"lizrcl analyze_run end to end: {t_full:8.2f} s")
    print(f"pymatgen DiffusionAnalyzer   : {t_pmg:8.2f} s (arrays given, no file reading)")
    print(f"ratio pymatgen / lizrcl analysis (excluding reading): {t_pmg / t_ours:.2f}")
    print(f"ratio pymatgen / lizrcl end to end (ours incl. reading): {t_pmg / t_full:.3f}")


if __name__ == "__main__":
    main()
