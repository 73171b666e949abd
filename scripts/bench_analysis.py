"""Time ``lizrcl analyze`` (reading + analysis) against kinisi and pymatgen-analysis-diffusion.

One synthetic trajectory: a 432-atom cell (96 Li random walkers of known D, 48 Zr + 288 Cl
static, the Li2ZrCl6 ratio), 10,000 frames, written as a LAMMPS dump (``id type xu yu zu``).
Then, on that same file:

* lizrcl: :func:`lizrcl_tools.analysis.analyze_run` (streaming dump reader + FFT MSD + window
  + block errors), reading and analysis timed separately; also the MDAnalysis reader the
  analysis used before (read only), for the reading speed-up;
* kinisi (optional, benchmark-only: ``.venv/bin/pip install kinisi``; not a dependency of
  lizrcl): ``DiffusionAnalyzer.from_universe`` on an MDAnalysis Universe of the dump, then
  ``diffusion(start_dt)`` (Bayesian regression, D as samples: mean ± std). Its time intervals
  are limited to 100 evenly spaced lags up to 1/5 of the run (its default, every lag, builds
  a 10⁴ × 10⁴ covariance) and the start is our window start;
* pymatgen-analysis-diffusion: ``DiffusionAnalyzer(structure, displacements, "Li", ...)``
  with ``smoothed="max"``. It has no LAMMPS reader, so it gets the positions as arrays; parsing
  them is not counted.

Prints one table: time to read, time to analyse, D ± error bar of each. A benchmark, not a
test; run ``nice -n 10 .venv/bin/python scripts/bench_analysis.py`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _kinisi(dump: Path, dt_fs: float, every: int, n_frames: int, start_ps: float, seed: int):
    """(read s, analysis s, D, D_err) with kinisi, or a string saying why not."""
    try:
        import kinisi  # noqa: F401
        import scipp as sc
        from kinisi.analyze import DiffusionAnalyzer
    except ImportError as exc:
        return f"kinisi not installed ({exc}); pip install kinisi to compare"
    import MDAnalysis as mda

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        universe = mda.Universe(str(dump), format="LAMMPSDUMP", topology_format="LAMMPSDUMP",
                                lammps_coordinate_convention="unwrapped", dt=dt_fs * every / 1000.0)
        universe.atoms.types = np.where(universe.atoms.types == "1", "Li", "X")
        frame_fs = dt_fs * every
        lags = np.unique(np.linspace(1, n_frames // 5, 100).astype(int)) * frame_fs
        ana = DiffusionAnalyzer.from_universe(
            universe, specie="Li", time_step=sc.scalar(dt_fs, unit="fs"), step_skip=sc.scalar(every),
            dt=sc.array(dims=["time interval"], values=lags, unit="fs"), progress=False)
    t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    ana.diffusion(sc.scalar(start_ps * 1000.0, unit="fs"), progress=False,
                  random_state=np.random.RandomState(seed))
    t_fit = time.perf_counter() - t0
    samples = sc.to_unit(ana.D, "cm^2/s").values
    return t_read, t_fit, float(np.mean(samples)), float(np.std(samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000, help="frames (default %(default)s)")
    parser.add_argument("--li", type=int, default=96, help="Li walkers; framework = 3.5 × Li (default %(default)s)")
    parser.add_argument("--D", type=float, default=1e-5, help="true D, cm²/s (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from pymatgen.analysis.diffusion.analyzer import DiffusionAnalyzer
    from pymatgen.core import Lattice, Structure

    from lizrcl_tools.analysis.diffusion import choose_fit_window, fit_diffusion
    from lizrcl_tools.analysis.msd import compute_msd
    from lizrcl_tools.analysis.runinfo import read_run_info
    from lizrcl_tools.analysis.synthetic import write_random_walk_run
    from lizrcl_tools.analysis.trajectory import read_mobile_trajectory

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_analysis_") as tmp:
        t0 = time.perf_counter()
        run = write_random_walk_run(Path(tmp) / "run", D_cm2_s=args.D, n_mobile=args.li, n_frames=args.frames,
                                    cell_A=np.diag([25.6, 22.2, 24.0]), seed=args.seed)
        info = read_run_info(run)
        dump = run / "nvt.lammpstrj"
        print(f"trajectory: {info.n_atoms} atoms ({info.n_mobile} Li), {args.frames} frames, "
              f"{dump.stat().st_size / 1e6:.0f} MB, written in {time.perf_counter() - t0:.1f} s; true D {args.D:.3e} cm²/s")

        import pandas  # noqa: F401  (imports are not timed, for any tool)

        t0 = time.perf_counter()
        traj = read_mobile_trajectory(info, progress=False)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        curves = compute_msd(traj.positions_A, traj.frame_interval_ps)
        window = choose_fit_window(curves)
        fit = fit_diffusion(curves, traj.positions_A, window)
        t_ours = time.perf_counter() - t0
        rows.append(("lizrcl (this reader)", t_read, t_ours, fit.D_cm2_s, fit.D_err_cm2_s,
                     f"block SE, window {window.start_ps:.3g}-{window.end_ps:.3g} ps"))

        import MDAnalysis as mda

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            universe = mda.Universe(str(dump), format="LAMMPSDUMP", topology_format="LAMMPSDUMP",
                                    lammps_coordinate_convention="unwrapped")
            li = universe.atoms.types == "1"
            old = np.array([ts.positions[li] for ts in universe.trajectory], dtype=np.float64)
        t_mda = time.perf_counter() - t0
        assert np.allclose(old, traj.positions_A - traj.positions_A[:1] + old[:1], atol=1e-3)
        rows.append(("MDAnalysis reader (read only)", t_mda, None, None, None, "the reader lizrcl used before"))
        del old, universe

        k = _kinisi(dump, info.timestep_fs, info.dump_every, args.frames, window.start_ps, args.seed)
        if isinstance(k, str):
            rows.append(("kinisi", None, None, None, None, k))
        else:
            rows.append(("kinisi " + __import__("kinisi").__version__, *k, "MDAnalysis read; D samples mean ± std"))

        lines = dump.read_text().splitlines()
        per_frame = 9 + info.n_atoms
        table = [line for i, line in enumerate(lines) if i % per_frame >= 9]
        data = np.array(" ".join(table).split(), dtype=float).reshape(args.frames, info.n_atoms, 5)
        del lines, table
        species = [info.elements[int(t) - 1] for t in data[0, :, 1]]
        t0 = time.perf_counter()
        structure = Structure(Lattice(info.cell_A), species, data[0, :, 2:], coords_are_cartesian=True)
        disp = np.transpose(data[:, :, 2:] - data[0, :, 2:], (1, 0, 2))
        pmg = DiffusionAnalyzer(structure, disp, "Li", info.temperature_K, time_step=info.timestep_fs,
                                step_skip=info.dump_every)
        t_pmg = time.perf_counter() - t0
        rows.append(("pymatgen-analysis-diffusion", None, t_pmg, pmg.diffusivity, pmg.diffusivity_std_dev,
                     f"arrays given (parsing not counted), smoothed='max', {pmg.dt[0] / 1000:.3g}-{pmg.dt[-1] / 1000:.3g} ps"))

    def cell(x, fmt):
        return f"{x:{fmt}}" if x is not None else "—"

    print(f"\n| tool | read (s) | analyse (s) | D (cm²/s) | error bar (cm²/s) | notes |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, tr, ta, d, e, note in rows:
        print(f"| {name} | {cell(tr, '.2f')} | {cell(ta, '.2f')} | {cell(d, '.4e')} | {cell(e, '.1e')} | {note} |")
    print(f"\nreading: MDAnalysis / lizrcl = {t_mda / t_read:.1f}x; "
          f"lizrcl end to end {t_read + t_ours:.2f} s")


if __name__ == "__main__":
    main()
