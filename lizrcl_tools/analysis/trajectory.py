"""Read the mobile ions of any trajectory as continuous Cartesian paths, streaming.

Readers, by :attr:`~lizrcl_tools.analysis.sources.TrajectorySource.family`:

``lammps``
    :class:`~lizrcl_tools.analysis.lammpsdump.LammpsDumpReader` (our own: only the id and
    coordinate columns are parsed, in blocks, with pandas' C parser). The coordinate
    convention follows the columns: ``xu yu zu`` (or ``xsu ysu zsu``) unwrapped, ``x y z`` (or
    ``xs ys zs``) with ``ix iy iz`` image flags, else wrapped → minimum-image unwrapping.
    Elements from an ``element`` column, else ``type`` mapped by run.json ``elements`` /
    ``--types``. Frame time = step × dt; frames must be equally spaced.
``ase``
    ``ase.io.iread`` (vasprun.xml, XDATCAR, extxyz, .traj), frame by frame.
``mdanalysis``
    ``MDAnalysis.Universe(topology, trajectory)`` (DCD, XTC, TRR, …), frame by frame.

Coordinates from ASE and MDAnalysis carry no convention, so they are unwrapped by the minimum
image (:mod:`~lizrcl_tools.analysis.unwrap`; a no-op on paths that are already continuous).
Every frame is checked for NaN/inf (refused, naming file and frame). Memory: the positions of
the mobile ions and one block of frames; never the whole trajectory.

Drift: the centre of mass of the non-mobile framework (mass-weighted, ASE masses, unwrapped)
is subtracted from the mobile ions frame by frame, so a slowly drifting cell does not add a
ballistic t² term to the MSD.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lizrcl_tools.analysis import unwrap as uw
from lizrcl_tools.analysis.runinfo import RunInfo
from lizrcl_tools.analysis.sources import ASE_FORMAT, TrajectorySource, source_from_run_dir
from lizrcl_tools.errors import LizrclWarning, ParseError, SetupError

BLOCK_FRAMES = 512
"""Frames gathered per block by the ASE and MDAnalysis readers."""


class IncompleteTrajectoryWarning(LizrclWarning):
    """The trajectory is shorter than announced, or its last frame is cut."""


@dataclass(frozen=True)
class MobileTrajectory:
    """Continuous positions of the mobile ions of one trajectory.

    Attributes
    ----------
    positions_A : ndarray, shape (n_frames, n_mobile, 3)
        Cartesian positions (Å), framework drift removed when ``drift_corrected``.
    frame_interval_ps : float
        Time between frames (ps).
    box_volume_A3 : float
        Mean cell volume over the frames (Å³).
    n_atoms : int
        Atoms per frame.
    drift_corrected : bool
        Whether the framework centre of mass was subtracted.
    path : Path
        The trajectory file.
    coordinates : str
        Convention used: ``unwrapped``, ``image flags`` or ``minimum image``.
    max_step_fraction : float
        Largest displacement between consecutive frames, in box lengths.
    warnings : tuple of str
        Problems that did not stop the analysis (unfinished run, cut last frame).
    n_frames_expected : int or None
        Frames the run announced.
    """

    positions_A: np.ndarray
    frame_interval_ps: float
    box_volume_A3: float
    n_atoms: int
    drift_corrected: bool
    path: Path
    coordinates: str = uw.UNWRAPPED
    max_step_fraction: float = 0.0
    warnings: tuple[str, ...] = ()
    n_frames_expected: int | None = None

    @property
    def n_frames(self) -> int:
        """Frames read."""
        return self.positions_A.shape[0]

    @property
    def n_mobile(self) -> int:
        """Mobile ions."""
        return self.positions_A.shape[1]


class _Collector:
    """Keeps the mobile ions (drift-corrected) and the volumes of each block of frames."""

    def __init__(self, source: TrajectorySource, elements: np.ndarray, drift_correct: bool, where: Path) -> None:
        from ase.data import atomic_masses, atomic_numbers

        self.mobile = elements == source.mobile
        n_mobile = int(self.mobile.sum())
        if n_mobile == 0:
            raise ParseError(where, f"no atom of the mobile element {source.mobile!r} "
                             f"(elements present: {sorted(set(elements.tolist()))}); set --mobile")
        framework = ~self.mobile
        self.drift = bool(drift_correct and framework.any())
        masses = np.array([atomic_masses[atomic_numbers[e]] for e in elements[framework]])
        self.weights = masses / masses.sum() if self.drift else None
        self.framework = framework
        self.blocks: list[np.ndarray] = []
        self.volumes: list[np.ndarray] = []
        self.n_atoms = len(elements)
        self.n_mobile = n_mobile

    def add(self, r: np.ndarray, cells: np.ndarray) -> None:
        mob = r[:, self.mobile]
        if self.drift:
            mob = mob - np.einsum("f,kfi->ki", self.weights, r[:, self.framework])[:, None, :]
        self.blocks.append(mob)
        self.volumes.append(np.abs(np.linalg.det(cells)))

    def positions(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.empty((0, self.n_mobile, 3))


def _check_finite(path: Path, coords: np.ndarray, cells: np.ndarray, first_frame: int, steps=None, labels=None) -> None:
    bad = ~(np.isfinite(coords).all(axis=(1, 2)) & np.isfinite(cells).all(axis=(1, 2)))
    if bad.any():
        f = int(np.argmax(bad))
        atoms = np.nonzero(~np.isfinite(coords[f]).all(axis=1))[0]
        step = f" (step {int(steps[f])})" if steps is not None else ""
        who = (f"{len(atoms)} atoms, first {labels[atoms[0]] if labels is not None else atoms[0]}"
               if len(atoms) else "the box")
        raise ParseError(path, f"frame {first_frame + f}{step}: NaN/inf coordinates ({who}): the simulation "
                         "blew up there; analyse only the frames before it (cut the file)")


def _elements_from_types(source: TrajectorySource, types: np.ndarray, where: Path) -> np.ndarray:
    if source.elements_by_type is None:
        raise SetupError(f"{where}: atoms are identified by numeric type only ({sorted(set(types.tolist()))}); "
                         "pass --types with the element of each type in type order, e.g. --types Li,Zr,Cl")
    if types.min() < 1 or types.max() > len(source.elements_by_type):
        msg = (f"the dump {where.name} has LAMMPS types {sorted(set(types.tolist()))} but elements lists only "
               f"{len(source.elements_by_type)} ({list(source.elements_by_type)})")
        if source.run_json is not None:
            raise ParseError(source.run_json, f"key 'elements': {msg}")
        raise SetupError(f"--types: {msg}")
    return np.array(source.elements_by_type)[types - 1]


def _read_lammps(source: TrajectorySource, collector_args, progress: bool):
    from tqdm import tqdm

    from lizrcl_tools.analysis.lammpsdump import LammpsDumpReader

    reader = LammpsDumpReader(source.path)
    cols = set(reader.columns)
    ids = reader.first_frame_column("id").astype(float).astype(np.int64)
    if "element" in cols:
        elements = reader.first_frame_column("element")
    elif "type" in cols:
        elements = _elements_from_types(source, reader.first_frame_column("type").astype(int), source.path)
    else:
        raise ParseError(source.path, "the dump has neither an 'element' nor a 'type' column")
    images: tuple[str, ...] = ()
    if {"xu", "yu", "zu"} <= cols:
        coords, mode, scaled = ("xu", "yu", "zu"), uw.UNWRAPPED, False
    elif {"xsu", "ysu", "zsu"} <= cols:
        coords, mode, scaled = ("xsu", "ysu", "zsu"), uw.UNWRAPPED, True
    else:
        scaled = not {"x", "y", "z"} <= cols
        coords = ("xs", "ys", "zs") if scaled else ("x", "y", "z")
        if not set(coords) <= cols:
            raise ParseError(source.path, f"no coordinate columns (xu yu zu, x y z or xs ys zs) in {' '.join(reader.columns)}")
        if {"ix", "iy", "iz"} <= cols:
            mode, images = uw.IMAGES, ("ix", "iy", "iz")
        else:
            mode = uw.MINIMUM_IMAGE
    unwrapper = uw.Unwrapper(mode, source.path, labels=ids, fix=uw.FIX_UNWRAPPED if mode != uw.MINIMUM_IMAGE else "")
    collector = _Collector(source, elements, *collector_args)
    steps_all = []
    bar = tqdm(total=source.n_frames_expected, desc=f"read {source.path.name}", unit="frame",
               disable=not progress, leave=False)
    with bar:
        for chunk in reader.chunks(coords + images):
            if not np.array_equal(chunk.table[:, :, 0], np.broadcast_to(ids, chunk.table.shape[:2])):
                raise ParseError(source.path, f"frames {chunk.first_frame}+: atom ids differ from the first frame's")
            xyz = chunk.table[:, :, 1:4]
            _check_finite(source.path, xyz, chunk.cells, chunk.first_frame, chunk.steps, ids)
            img = chunk.table[:, :, 4:7] if images else None
            r = unwrapper(xyz, chunk.cells, chunk.origins, img, scaled, chunk.steps)
            collector.add(r, chunk.cells)
            steps_all.append(chunk.steps)
            bar.update(len(chunk.steps))
    steps = np.concatenate(steps_all) if steps_all else np.empty(0, dtype=np.int64)
    notes = [reader.incomplete_tail] if reader.incomplete_tail else []
    return collector, unwrapper, steps, notes


def _blocks_of(frames, size: int):
    block = []
    for item in frames:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def _read_frames(source: TrajectorySource, frames, elements: np.ndarray, collector_args):
    """Shared loop of the ASE and MDAnalysis readers: frames yield (positions, cell rows)."""
    unwrapper = uw.Unwrapper(uw.MINIMUM_IMAGE, source.path)
    collector = _Collector(source, elements, *collector_args)
    n = 0
    for block in _blocks_of(frames, BLOCK_FRAMES):
        xyz = np.array([b[0] for b in block], dtype=np.float64)
        cells = np.array([b[1] for b in block], dtype=np.float64)
        _check_finite(source.path, xyz, cells, n)
        if np.any(np.abs(np.linalg.det(cells)) < 1e-6):
            raise ParseError(source.path, f"frames {n}+: no periodic cell; a diffusion analysis needs one")
        collector.add(unwrapper(xyz, cells), cells)
        n += len(block)
    return collector, unwrapper, None, []


def _read_ase(source: TrajectorySource, collector_args, progress: bool):
    import ase.io
    from tqdm import tqdm

    fmt = ASE_FORMAT[source.format]
    try:
        first = ase.io.read(source.path, index=0, format=fmt)
        elements = np.array(first.get_chemical_symbols())
        frames = ((a.positions, a.cell.array) for a in tqdm(
            ase.io.iread(source.path, index=":", format=fmt), desc=f"read {source.path.name}",
            unit="frame", disable=not progress, leave=False))
        return _read_frames(source, frames, elements, collector_args)
    except (ValueError, KeyError, IndexError, OSError, EOFError, StopIteration) as exc:
        raise ParseError(source.path, f"cannot read as {fmt} with ASE: {exc}") from exc


def _read_mdanalysis(source: TrajectorySource, collector_args, progress: bool):
    import MDAnalysis as mda
    from ase.data import chemical_symbols
    from MDAnalysis.lib.mdamath import triclinic_vectors
    from tqdm import tqdm

    fmt = source.format.upper()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # guessed masses and the like: elements come from us
            universe = mda.Universe(str(source.topology), str(source.path), format=fmt)
    except (ValueError, KeyError, IndexError, OSError, EOFError, TypeError) as exc:
        raise ParseError(source.path, f"cannot read with MDAnalysis (format {fmt}, topology "
                         f"{source.topology}): {exc}") from exc
    atoms = universe.atoms
    if source.elements_by_type is not None:
        try:
            types = np.array([int(t) for t in atoms.types])
        except ValueError as exc:
            raise SetupError(f"--types given but the topology's types are not numbers: {exc}") from exc
        elements = _elements_from_types(source, types, source.topology)
    elif hasattr(atoms, "elements") and all(e.capitalize() in chemical_symbols[1:] for e in atoms.elements):
        elements = np.array([e.capitalize() for e in atoms.elements])
    elif all(str(t).capitalize() in chemical_symbols[1:] for t in atoms.types):
        elements = np.array([str(t).capitalize() for t in atoms.types])
    else:
        raise SetupError(f"{source.topology}: no element names in the topology; pass --types "
                         "(the element of each numeric type, in type order)")
    frames = ((ts.positions, triclinic_vectors(ts.dimensions)) for ts in tqdm(
        universe.trajectory, desc=f"read {source.path.name}", unit="frame", disable=not progress, leave=False))
    return _read_frames(source, frames, elements, collector_args)


def read_mobile_trajectory(
    info: RunInfo | TrajectorySource,
    dump_path: str | os.PathLike | None = None,
    drift_correct: bool = True,
    progress: bool = True,
) -> MobileTrajectory:
    """Read the continuous positions of the mobile ions of one trajectory.

    Parameters
    ----------
    info : RunInfo or TrajectorySource
        A validated run.json (run folder) or any trajectory source.
    dump_path : str or PathLike, optional
        Replace the trajectory file of ``info``.
    drift_correct : bool
        Subtract the framework centre-of-mass displacement from the mobile ions.
    progress : bool
        Show a tqdm bar while reading.

    Returns
    -------
    MobileTrajectory

    Raises
    ------
    ParseError
        Missing or unreadable file, counts or types that disagree with run.json, NaN
        coordinates, unwrapped coordinates that jump by half a box, wrapped frames too far apart
        to unwrap, or frames not equally spaced in time.
    SetupError
        Metadata the file lacks and no flag gave (the flag is named).
    """
    source = source_from_run_dir(info.path) if isinstance(info, RunInfo) else info
    if dump_path is not None:
        source = dataclasses.replace(source, path=Path(dump_path))
    path = source.path
    if not path.is_file():
        raise ParseError(path, "trajectory not found")
    args = (drift_correct, path)
    reader = {"lammps": _read_lammps, "ase": _read_ase, "mdanalysis": _read_mdanalysis}[source.family]
    collector, unwrapper, steps, notes = reader(source, args, progress)
    positions = collector.positions()
    n_frames = positions.shape[0]

    where = source.run_json or path
    if source.n_atoms is not None and source.n_atoms != collector.n_atoms:
        raise ParseError(where, f"key 'n_atoms': {source.n_atoms} but {path.name} has {collector.n_atoms} atoms")
    if source.n_mobile is not None and source.n_mobile != collector.n_mobile:
        raise ParseError(where, f"key 'n_mobile': {source.n_mobile} but {path.name} has "
                         f"{collector.n_mobile} {source.mobile}")
    if n_frames < 2:
        raise ParseError(path, f"only {n_frames} frame(s); an MSD needs a trajectory")

    every = source.every
    said = "run.json (timestep_fs × dump_every)" if source.run_json is not None else "--timestep-fs × --every"
    if steps is not None:
        intervals = np.diff(steps)
        if every is None:
            every = int(intervals[0])
            said = "the first two frames"
        if every <= 0 or not np.all(intervals == every):
            bad = int(np.argmax(intervals != every))
            dt = source.timestep_fs / 1000.0
            raise ParseError(
                path,
                f"frames {bad} and {bad + 1} are {intervals[bad] * dt:.6g} ps apart but {said} says "
                f"{every * dt:.6g} ps; frames must be equally spaced (a restart that repeats frames?)",
            )
    notes = [*source.warnings, *notes]
    if source.n_frames_expected is not None and n_frames < source.n_frames_expected:
        notes.append(f"{path.name}: {n_frames} of {source.n_frames_expected} frames: the run is unfinished "
                     "(or its trajectory cut short); D is from the frames present")
    for note in notes:
        warnings.warn(note, IncompleteTrajectoryWarning, stacklevel=2)
    return MobileTrajectory(
        positions_A=positions,
        frame_interval_ps=source.timestep_fs * every / 1000.0,
        box_volume_A3=float(np.concatenate(collector.volumes).mean()),
        n_atoms=collector.n_atoms,
        drift_corrected=collector.drift,
        path=path,
        coordinates=unwrapper.mode,
        max_step_fraction=unwrapper.max_step_fraction,
        warnings=tuple(notes),
        n_frames_expected=source.n_frames_expected,
    )
