"""Synthetic run folders with a known answer: Gaussian random walks written as LAMMPS dumps.

A walker with diffusion coefficient D_α along Cartesian axis α takes independent Gaussian
steps of variance 2 D_α Δt per frame interval Δt, so MSD_α(t) = 2 D_α t exactly in
expectation and MSD_total = 6 D t for an isotropic walk. :func:`write_random_walk_run` writes
such a walk of the mobile ions (plus a static framework) in the run-folder contract of
:mod:`lizrcl_tools.analysis.runinfo`, so the whole analysis can be validated end to end::

    from lizrcl_tools.analysis.synthetic import write_random_walk_run
    write_random_walk_run("walk_600K", D_cm2_s=1e-5, temperature_K=600, seed=1)
    # lizrcl analyze walk_600K -o out   ->  D_cm2_s ≈ 1e-5

Units: D cm²/s, positions Å, time ps (fs for the MD time step), temperature K.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import constants

from lizrcl_tools.analysis.runinfo import DUMP_NAME, RUN_JSON
from lizrcl_tools.errors import SetupError
from lizrcl_tools.fileio import atomic_path, write_json_atomic

A2_PS_PER_CM2_S = constants.centi**2 / (constants.angstrom**2 / constants.pico)
"""1 cm²/s expressed in Å²/ps (= 10⁴)."""


def _lammps_box_lines(cell: np.ndarray) -> list[str]:
    """``ITEM: BOX BOUNDS`` header lines for a LAMMPS-oriented cell with origin 0."""
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = cell
    if np.allclose([xy, xz, yz], 0.0):
        return ["ITEM: BOX BOUNDS pp pp pp", f"0.0 {lx:.10g}", f"0.0 {ly:.10g}", f"0.0 {lz:.10g}"]
    # LAMMPS writes the bounding box of the tilted cell plus the tilt factors.
    xlo_b = min(0.0, xy, xz, xy + xz)
    xhi_b = lx + max(0.0, xy, xz, xy + xz)
    ylo_b = min(0.0, yz)
    yhi_b = ly + max(0.0, yz)
    return [
        "ITEM: BOX BOUNDS xy xz yz pp pp pp",
        f"{xlo_b:.10g} {xhi_b:.10g} {xy:.10g}",
        f"{ylo_b:.10g} {yhi_b:.10g} {xz:.10g}",
        f"0.0 {lz:.10g} {yz:.10g}",
    ]


def wrap_positions(positions_A: np.ndarray, cell_A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Wrapped positions (into the cell at the origin) and the integer image counts, r = r_w + n C."""
    cell = np.asarray(cell_A, dtype=float)
    frac = positions_A @ np.linalg.inv(cell)
    images = np.floor(frac)
    return (frac - images) @ cell, images


def write_lammps_dump(
    path: str | os.PathLike,
    positions_A: np.ndarray,
    types: Sequence[int],
    cell_A: np.ndarray,
    steps: Sequence[int],
    overwrite: bool = False,
    style: str = "unwrapped",
) -> Path:
    """Write a LAMMPS ``dump custom`` file, atomically.

    ``style``: ``"unwrapped"`` → ``id type xu yu zu`` (positions as given); ``"images"`` →
    ``id type x y z ix iy iz`` (wrapped into the cell, with image flags); ``"wrapped"`` →
    ``id type x y z`` (wrapped, no image flags); ``"scaled"`` → ``id type xs ys zs ix iy iz``
    (fractional, with image flags).

    Parameters
    ----------
    path : str or PathLike
        Output file.
    positions_A : ndarray, shape (n_frames, n_atoms, 3)
        Unwrapped Cartesian positions (Å).
    types : sequence of int
        1-based LAMMPS type of each atom (ids are 1 … n_atoms in this order).
    cell_A : ndarray, shape (3, 3)
        Cell rows a, b, c in LAMMPS orientation (a along x, b in the xy plane), origin at 0.
    steps : sequence of int
        MD step number of each frame.
    overwrite : bool
        Replace an existing file.
    """
    cell = np.asarray(cell_A, dtype=float)
    if cell.shape != (3, 3) or not np.allclose([cell[0, 1], cell[0, 2], cell[1, 2]], 0.0):
        raise SetupError("cell_A must be 3x3 in LAMMPS orientation (a along x, b in the xy plane)")
    n_frames, n_atoms, _ = positions_A.shape
    box = "\n".join(_lammps_box_lines(cell))
    ids = np.arange(1, n_atoms + 1, dtype=float)
    columns = {"unwrapped": "xu yu zu", "images": "x y z ix iy iz", "wrapped": "x y z",
               "scaled": "xs ys zs ix iy iz"}[style]
    if style != "unwrapped":
        wrapped, images = wrap_positions(positions_A, cell)
        if style == "scaled":
            wrapped = wrapped @ np.linalg.inv(cell)
        positions_A = np.concatenate([wrapped, images], axis=2) if style in ("images", "scaled") else wrapped
    coord = "%.9f" if style == "scaled" else "%.6f"
    fmt = (f"%d %d {coord} {coord} {coord}" + (" %d %d %d" if style in ("images", "scaled") else "") + "\n") * n_atoms
    with atomic_path(path, overwrite=overwrite) as tmp, open(tmp, "w") as handle:
        for step, frame in zip(steps, positions_A, strict=True):
            table = np.column_stack([ids, np.asarray(types, dtype=float), frame])
            handle.write(f"ITEM: TIMESTEP\n{int(step)}\nITEM: NUMBER OF ATOMS\n{n_atoms}\n{box}\n")
            handle.write(f"ITEM: ATOMS id type {columns}\n")
            handle.write(fmt % tuple(table.ravel()))
    return Path(path)


def random_walk(
    n_frames: int,
    n_walkers: int,
    D_cm2_s: float | Sequence[float],
    frame_interval_ps: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Displacements of independent Gaussian random walkers, starting at 0.

    Parameters
    ----------
    n_frames, n_walkers : int
        Frames and walkers.
    D_cm2_s : float or sequence of 3 floats
        Diffusion coefficient, isotropic or per Cartesian axis (cm²/s).
    frame_interval_ps : float
        Time between frames (ps).
    rng : numpy.random.Generator
        Random source (seeded by the caller).

    Returns
    -------
    ndarray, shape (n_frames, n_walkers, 3)
        Displacements (Å).
    """
    d_axes = np.broadcast_to(np.asarray(D_cm2_s, dtype=float), (3,)) * A2_PS_PER_CM2_S
    step_sd = np.sqrt(2.0 * d_axes * frame_interval_ps)
    steps = rng.normal(size=(n_frames, n_walkers, 3)) * step_sd
    steps[0] = 0.0
    return np.cumsum(steps, axis=0)


def grid_random_walk(
    n_frames: int,
    n_mobile: int,
    n_framework: int,
    D_cm2_s: float,
    frame_interval_ps: float,
    box_A: float = 16.0,
    grid_A: float = 1.0 / 16.0,
    seed: int = 0,
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """A random walk whose every coordinate is a multiple of ``grid_A`` in a cubic box.

    With a power-of-two box and grid, every position, wrapped position and fractional
    coordinate is exact in binary (float32 included) and in 6–8 decimals, so every file
    format stores the same numbers: the readers can be compared to machine precision.
    Framework atoms (Zr:Cl = 1:6) sit still on grid points. Steps are Gaussian of variance
    2 D Δt per axis, rounded to the grid, so D is close to (not exactly) ``D_cm2_s``.

    Returns
    -------
    positions : ndarray, shape (n_frames, n_mobile + n_framework, 3)
        Unwrapped Cartesian positions (Å), Li first.
    types : list of int
        LAMMPS types (1 Li, 2 Zr, 3 Cl).
    cell : ndarray (3, 3)
        The cubic cell (Å).
    """
    rng = np.random.default_rng(seed)
    n_zr = n_framework // 7
    types = [1] * n_mobile + [2] * n_zr + [3] * (n_framework - n_zr)
    n_cells = int(round(box_A / grid_A))
    start = rng.integers(0, n_cells, size=(len(types), 3)) * grid_A
    sd = np.sqrt(2.0 * D_cm2_s * A2_PS_PER_CM2_S * frame_interval_ps) / grid_A
    steps = np.rint(rng.normal(size=(n_frames, n_mobile, 3)) * sd)
    steps[0] = 0.0
    positions = np.repeat(start[None], n_frames, axis=0)
    positions[:, :n_mobile] += np.cumsum(steps, axis=0) * grid_A
    return positions, types, np.eye(3) * box_A


def write_random_walk_run(
    run_dir: str | os.PathLike,
    D_cm2_s: float | Sequence[float],
    temperature_K: float = 600.0,
    n_mobile: int = 96,
    n_framework: int | None = None,
    n_frames: int = 1000,
    timestep_fs: float = 1.0,
    dump_every: int = 10,
    cell_A: np.ndarray | None = None,
    volume_A3: float | None = None,
    drift_A_per_ps: Sequence[float] = (0.0, 0.0, 0.0),
    seed: int = 0,
    overwrite: bool = False,
    n_zr: int | None = None,
    framework_D_cm2_s: float = 0.0,
) -> Path:
    """Write a run folder (``nvt.lammpstrj`` + ``run.json``) of Li random walkers of known D.

    The framework (Zr and Cl in a 1:6 ratio) sits still at random positions; an optional
    uniform drift moves every atom, to exercise drift correction.

    Parameters
    ----------
    run_dir : str or PathLike
        Folder to create (or fill).
    D_cm2_s : float or sequence of 3 floats
        Li diffusion coefficient, isotropic or per Cartesian axis x, y, z (cm²/s).
    temperature_K : float
        Temperature written to run.json (K); it only matters for σ.
    n_mobile : int
        Li walkers.
    n_framework : int, optional
        Framework atoms (default 3.5 × n_mobile, the Li2ZrCl6 ratio).
    n_frames : int
        Frames, ``dump_every`` MD steps of ``timestep_fs`` apart.
    timestep_fs : float
        MD time step written to run.json (fs).
    dump_every : int
        MD steps between frames.
    cell_A : ndarray (3, 3), optional
        Cell rows in LAMMPS orientation (Å); default a 16 Å cube. Triclinic cells are allowed.
    volume_A3 : float, optional
        Written to run.json as ``volume_A3`` when given.
    drift_A_per_ps : sequence of 3 floats
        Uniform velocity added to all atoms (Å/ps).
    seed : int
        Random seed, recorded in run.json.
    overwrite : bool
        Replace existing files.
    n_zr : int, optional
        Zr atoms among the framework (default ``n_framework // 7``, the ZrCl6 ratio); the rest is Cl.
    framework_D_cm2_s : float
        Isotropic diffusion coefficient of the framework atoms (cm²/s); 0 (default) keeps them
        still, a positive value mimics a molten cell.

    Returns
    -------
    Path
        The run folder.
    """
    run_dir = Path(run_dir)
    cell = np.diag([16.0, 16.0, 16.0]) if cell_A is None else np.asarray(cell_A, dtype=float)
    n_framework = int(round(3.5 * n_mobile)) if n_framework is None else n_framework
    n_zr = n_framework // 7 if n_zr is None else n_zr
    if not 0 <= n_zr <= n_framework:
        raise SetupError(f"n_zr = {n_zr} must lie between 0 and n_framework = {n_framework}")
    types = [1] * n_mobile + [2] * n_zr + [3] * (n_framework - n_zr)
    rng = np.random.default_rng(seed)
    dt_ps = timestep_fs * dump_every / 1000.0

    start = rng.random((len(types), 3)) @ cell
    positions = np.repeat(start[None], n_frames, axis=0)
    positions[:, :n_mobile] += random_walk(n_frames, n_mobile, D_cm2_s, dt_ps, rng)
    if framework_D_cm2_s > 0:
        positions[:, n_mobile:] += random_walk(n_frames, n_framework, framework_D_cm2_s, dt_ps, rng)
    times = np.arange(n_frames) * dt_ps
    positions += times[:, None, None] * np.asarray(drift_A_per_ps, dtype=float)

    extra = {"potential": "synthetic Gaussian random walk",
             "synthetic_D_cm2_s": np.broadcast_to(np.asarray(D_cm2_s, dtype=float), (3,)).tolist(),
             "synthetic_framework_D_cm2_s": float(framework_D_cm2_s)}
    if volume_A3 is not None:
        extra["volume_A3"] = float(volume_A3)
    return _write_run(run_dir, positions, n_mobile, n_zr, cell, temperature_K, timestep_fs, dump_every, seed,
                      extra, overwrite)


def _write_run(run_dir: Path, positions: np.ndarray, n_mobile: int, n_zr: int, cell: np.ndarray,
               temperature_K: float, timestep_fs: float, dump_every: int, seed: int, extra: dict,
               overwrite: bool) -> Path:
    """Write ``nvt.lammpstrj`` (Li, then Zr, then Cl) and, last, ``run.json`` with ``extra`` keys."""
    n_framework = positions.shape[1] - n_mobile
    types = [1] * n_mobile + [2] * n_zr + [3] * (n_framework - n_zr)
    write_lammps_dump(run_dir / DUMP_NAME, positions, types, cell,
                      steps=np.arange(len(positions)) * dump_every, overwrite=overwrite)
    info = {
        "temperature_K": float(temperature_K),
        "timestep_fs": float(timestep_fs),
        "dump_every": int(dump_every),
        "elements": ["Li", "Zr", "Cl"],
        "mobile": "Li",
        "n_atoms": len(types),
        "n_mobile": n_mobile,
        "composition": {"Li": n_mobile, "Zr": n_zr, "Cl": n_framework - n_zr},
        "cell_A": cell.tolist(),
        "seed": seed,
        **extra,
    }
    # run.json last: a run folder with a run.json is complete.
    write_json_atomic(run_dir / RUN_JSON, info, overwrite=overwrite)
    return run_dir


def write_caged_run(
    run_dir: str | os.PathLike,
    temperature_K: float = 700.0,
    n_mobile: int = 12,
    n_frames: int = 240,
    dump_every: int = 50,
    rattle_A: float = 0.4,
    excursion_A: float = 1.0,
    seed: int = 0,
) -> Path:
    """Write a run folder whose Li never leave their cages: no diffusive window exists in it.

    Every Li rattles about its site (independent Gaussian displacements of ``rattle_A`` Å per
    axis and frame) and makes one correlated excursion of ``excursion_A`` Å that returns twice
    within the run (a sinusoid of period T/2, random phase per axis): its MSD rises to a cage
    plateau, grows to a peak at T/4 and falls back by T/2, as a caged run with back-hops does
    at half-run lags. The framework sits still. Otherwise as :func:`write_random_walk_run`
    (16 Å cube, Zr:Cl 1:6, ``run.json`` with the seed).

    Parameters
    ----------
    run_dir : str or PathLike
        Folder to create.
    temperature_K : float
        Temperature written to run.json (K).
    n_mobile, n_frames, dump_every : int
        Li ions, frames and MD steps (1 fs) between frames.
    rattle_A, excursion_A : float
        Amplitudes of the rattling and of the excursion, Å.
    seed : int
        Random seed, recorded in run.json.

    Returns
    -------
    Path
        The run folder.
    """
    cell = np.diag([16.0, 16.0, 16.0])
    n_framework = int(round(3.5 * n_mobile))
    rng = np.random.default_rng(seed)
    positions = np.repeat((rng.random((n_mobile + n_framework, 3)) @ cell)[None], n_frames, axis=0)
    frames = np.arange(n_frames)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n_mobile, 3))
    positions[:, :n_mobile] += rattle_A * rng.normal(size=(n_frames, n_mobile, 3))
    positions[:, :n_mobile] += excursion_A * np.sin(4.0 * np.pi * frames[:, None, None] / n_frames + phase)
    extra = {"potential": "synthetic caged ions (rattle + returning excursion)",
             "synthetic_D_cm2_s": [0.0, 0.0, 0.0], "synthetic_framework_D_cm2_s": 0.0}
    return _write_run(Path(run_dir), positions, n_mobile, n_framework // 7, cell, temperature_K, 1.0, dump_every,
                      seed, extra, overwrite=False)
