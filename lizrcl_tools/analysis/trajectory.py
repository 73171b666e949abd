"""Read the mobile-ion trajectory of a run folder with MDAnalysis.

The dump is read with ``lammps_coordinate_convention="unwrapped"`` (with ``"auto"``, a dump
holding both ``x`` and ``xu`` is read wrapped and the MSD is silently wrong) and frame time
= step × dt, with dt the MD time step in ps. Both orthogonal and triclinic boxes are read;
positions stay Cartesian (Å).

Drift: the centre of mass of the non-mobile framework is subtracted from the mobile ions frame
by frame (mass-weighted, ASE masses), so a slowly drifting cell does not add a ballistic t²
term to the MSD. Nosé–Hoover NVT conserves total momentum, so this is normally tiny.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lizrcl_tools.analysis.runinfo import DUMP_NAME, RunInfo
from lizrcl_tools.errors import ParseError


@dataclass(frozen=True)
class MobileTrajectory:
    """Unwrapped positions of the mobile ions of one run.

    Attributes
    ----------
    positions_A : ndarray, shape (n_frames, n_mobile, 3)
        Cartesian positions (Å), framework drift removed when ``drift_corrected``.
    frame_interval_ps : float
        Time between frames (ps), checked to be uniform.
    box_volume_A3 : float
        Mean volume of the dump's box over the frames (Å³).
    n_atoms : int
        Atoms in the dump.
    drift_corrected : bool
        Whether the framework centre of mass was subtracted.
    path : Path
        The dump file.
    """

    positions_A: np.ndarray
    frame_interval_ps: float
    box_volume_A3: float
    n_atoms: int
    drift_corrected: bool
    path: Path

    @property
    def n_frames(self) -> int:
        """Frames read."""
        return self.positions_A.shape[0]

    @property
    def n_mobile(self) -> int:
        """Mobile ions."""
        return self.positions_A.shape[1]


def read_mobile_trajectory(
    info: RunInfo,
    dump_path: str | os.PathLike | None = None,
    drift_correct: bool = True,
    progress: bool = True,
) -> MobileTrajectory:
    """Read the unwrapped positions of the mobile ions from a run's LAMMPS dump.

    Parameters
    ----------
    info : RunInfo
        Validated run.json of the run (elements, mobile element, time step, dump interval).
    dump_path : str or PathLike, optional
        Dump file (default: ``nvt.lammpstrj`` beside run.json).
    drift_correct : bool
        Subtract the framework centre-of-mass displacement from the mobile ions.
    progress : bool
        Show a tqdm bar while reading frames.

    Returns
    -------
    MobileTrajectory

    Raises
    ------
    ParseError
        Missing or unreadable dump, a LAMMPS type without an element in run.json, atom counts
        that disagree with run.json, or frames not equally spaced in time.
    """
    import MDAnalysis as mda
    from ase.data import atomic_masses, atomic_numbers
    from MDAnalysis.lib.mdamath import box_volume
    from tqdm import tqdm

    path = Path(dump_path) if dump_path is not None else info.run_dir / DUMP_NAME
    if not path.is_file():
        raise ParseError(path, "trajectory not found (expected a LAMMPS dump with id type xu yu zu)")
    dt_ps = info.timestep_fs / 1000.0
    try:
        with warnings.catch_warnings():
            # MDAnalysis warns about guessing masses from numeric types; masses come from run.json.
            warnings.simplefilter("ignore")
            universe = mda.Universe(
                str(path), format="LAMMPSDUMP", topology_format="LAMMPSDUMP",
                lammps_coordinate_convention="unwrapped", dt=dt_ps,
            )
    except (ValueError, KeyError, IndexError, OSError, EOFError) as exc:
        raise ParseError(path, f"cannot read as a LAMMPS dump with xu yu zu columns: {exc}") from exc

    types = np.array([int(t) for t in universe.atoms.types])
    if types.max() > len(info.elements) or types.min() < 1:
        raise ParseError(
            info.path,
            f"key 'elements': the dump {path.name} has LAMMPS types {sorted(set(types.tolist()))} "
            f"but elements lists only {len(info.elements)} ({list(info.elements)})",
        )
    mobile = np.isin(types, info.mobile_types)
    n_mobile = int(mobile.sum())
    if n_mobile == 0:
        raise ParseError(path, f"no atom of the mobile element {info.mobile!r} (types {info.mobile_types})")
    if info.n_atoms is not None and info.n_atoms != len(types):
        raise ParseError(info.path, f"key 'n_atoms': {info.n_atoms} but {path.name} has {len(types)} atoms")
    if info.n_mobile is not None and info.n_mobile != n_mobile:
        raise ParseError(info.path, f"key 'n_mobile': {info.n_mobile} but {path.name} has {n_mobile} {info.mobile}")

    framework = ~mobile
    do_drift = bool(drift_correct and framework.any())
    masses = np.array([atomic_masses[atomic_numbers[info.elements[t - 1]]] for t in types[framework]])
    weights = masses / masses.sum() if do_drift else None

    n_frames = len(universe.trajectory)
    positions = np.empty((n_frames, n_mobile, 3))
    times = np.empty(n_frames)
    volumes = np.empty(n_frames)
    i = 0
    try:
        frames = tqdm(universe.trajectory, total=n_frames, desc=f"read {path.parent.name}/{path.name}",
                      unit="frame", disable=not progress, leave=False)
        for i, ts in enumerate(frames):
            xyz = ts.positions.astype(np.float64)
            positions[i] = xyz[mobile]
            if do_drift:
                positions[i] -= weights @ xyz[framework]
            times[i] = ts.time
            volumes[i] = box_volume(ts.dimensions)
    except (ValueError, IndexError, EOFError) as exc:
        raise ParseError(path, f"frame {i}: {exc}") from exc

    if n_frames < 2:
        raise ParseError(path, f"only {n_frames} frame(s); an MSD needs a trajectory")
    intervals = np.diff(times)
    expected = info.frame_interval_ps
    # Uniform frames are what the FFT MSD assumes; a restart that repeats a frame breaks it.
    if not np.allclose(intervals, expected, rtol=1e-6, atol=1e-9):
        bad = int(np.argmax(~np.isclose(intervals, expected, rtol=1e-6, atol=1e-9)))
        raise ParseError(
            path,
            f"frames {bad} and {bad + 1} are {intervals[bad]:.6g} ps apart but run.json "
            f"(timestep_fs × dump_every) says {expected:.6g} ps; frames must be equally spaced",
        )
    return MobileTrajectory(
        positions_A=positions,
        frame_interval_ps=expected,
        box_volume_A3=float(volumes.mean()),
        n_atoms=len(types),
        drift_corrected=do_drift,
        path=path,
    )
