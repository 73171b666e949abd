"""Frames of ``lizrcl md`` run folders as structures: snapshots of the production (NVT) run.

What a potential sees in its own MD is where its errors matter; these frames, labelled by a
teacher (``lizrcl label``) and compared with ``lizrcl evaluate``, measure that. They can also
go into a training set.

A run folder (``run.json`` + ``nvt.lammpstrj``, see :mod:`lizrcl_tools.analysis.runinfo`) is
read with the streaming dump reader (:mod:`lizrcl_tools.analysis.lammpsdump`): the element of
each atom from its LAMMPS type and ``run.json`` → ``elements``, the cell from the frame's box
(triclinic included; LAMMPS frame, rows a, b, c, Å), positions from the unwrapped ``xu yu zu``
shifted to the box origin and wrapped into the cell. Atoms keep the dump's id order.

This module lives in the analysis stage because it reads the MD stage's outputs (which the
dataset stage must not import); it needs neither ASE calculators nor LAMMPS.

Each frame records in ``atoms.info``: ``run`` (the run folder), ``source`` (the dump file),
``md_step``, ``time_ps`` (MD step × time step, from the start of the production run),
``temperature_K`` (the thermostat's target), ``run_potential`` (the potential that made the
run, from ``run.json``), ``run_status`` and ``config_type``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from lizrcl_tools import keys
from lizrcl_tools.analysis.lammpsdump import LammpsDumpReader
from lizrcl_tools.analysis.runinfo import DUMP_NAME, read_run_info
from lizrcl_tools.errors import LizrclWarning, SetupError

COLUMNS = ("type", "xu", "yu", "zu")


def select_frames(
    times_ps: Sequence[float],
    n: int | None = None,
    every_ps: float | None = None,
    random: int | None = None,
    seed: int | None = None,
    start_ps: float = 0.0,
) -> list[int]:
    """Indices of the frames to take, from their times (ps); exactly one mode must be given.

    Only frames later than ``start_ps`` are candidates (the frame at ``start_ps`` itself, by
    default the rescaled start of the NVT run, is left out).

    * ``n``: the frames nearest to ``start_ps + k (t_last − start_ps) / n``, k = 1 … n (evenly
      spaced, ending with the last frame);
    * ``every_ps``: the frames nearest to ``start_ps + k every_ps`` up to the last frame;
    * ``random`` (with ``seed``): that many distinct candidates drawn uniformly.

    Returns
    -------
    list of int
        Sorted, distinct indices into ``times_ps``.
    """
    times = np.asarray(times_ps, dtype=float)
    modes = [m for m in (n, every_ps, random) if m is not None]
    if len(modes) != 1:
        raise SetupError("give exactly one of --n, --every-ps, --random")
    candidates = np.flatnonzero(times > start_ps + 1e-9)
    if candidates.size == 0:
        raise SetupError(f"no frame later than {start_ps} ps (last frame at "
                         f"{times.max() if times.size else float('nan')} ps)")
    t_last = times[candidates[-1]]
    if random is not None:
        if seed is None:
            raise SetupError("--random needs --seed (the draw is recorded by its seed)")
        if not 0 < random <= candidates.size:
            raise SetupError(f"--random {random}: there are {candidates.size} candidate frames")
        rng = np.random.default_rng(seed)
        return sorted(int(i) for i in rng.choice(candidates, size=random, replace=False))
    if n is not None:
        if n < 1:
            raise SetupError(f"--n must be at least 1, got {n}")
        targets = start_ps + (t_last - start_ps) * np.arange(1, n + 1) / n
    else:
        if not every_ps or every_ps <= 0:
            raise SetupError(f"--every-ps must be > 0, got {every_ps}")
        targets = start_ps + every_ps * np.arange(1, int(np.floor((t_last - start_ps) / every_ps + 1e-9)) + 1)
        if targets.size == 0:
            raise SetupError(f"--every-ps {every_ps}: the run holds only {t_last - start_ps:.3f} ps "
                             f"after {start_ps} ps")
    cand_t = times[candidates]
    picked = {int(candidates[np.argmin(np.abs(cand_t - t))]) for t in targets}
    if len(picked) < targets.size:
        warnings.warn(f"{targets.size} frames asked for but the run stores only {len(picked)} distinct "
                      "ones at those times", LizrclWarning, stacklevel=2)
    return sorted(picked)


def run_frames(
    run_dir: str | os.PathLike,
    n: int | None = None,
    every_ps: float | None = None,
    random: int | None = None,
    seed: int | None = None,
    start_ps: float = 0.0,
    config_type: str | None = None,
) -> list[Any]:
    """Selected frames of one run folder as :class:`ase.Atoms` (see the module docstring).

    Parameters
    ----------
    run_dir : str or PathLike
        ``lizrcl md`` run folder.
    n, every_ps, random, seed, start_ps
        Frame selection, see :func:`select_frames` (times in ps).
    config_type : str, optional
        ``config_type`` of every frame; default ``md_<folder name>``.

    Returns
    -------
    list of ase.Atoms
        Periodic frames, positions wrapped into the cell (Å), with the ``info`` keys above.

    Raises
    ------
    ParseError
        ``run.json`` or the dump is malformed (the message names the file).
    SetupError
        The selection cannot be made, or the dump's types do not match ``run.json``.
    """
    from ase import Atoms

    info = read_run_info(run_dir)
    run_dir = info.run_dir
    dump = run_dir / DUMP_NAME
    if not info.finished:
        warnings.warn(f"{run_dir}: run.json status is {info.status!r}, not complete; taking the "
                      "frames written so far", LizrclWarning, stacklevel=2)
    reader = LammpsDumpReader(dump)
    steps = np.concatenate([c.steps for c in reader.chunks(("type",))])
    times = steps * info.timestep_fs / 1000.0
    chosen = select_frames(times, n=n, every_ps=every_ps, random=random, seed=seed, start_ps=start_ps)
    wanted = set(chosen)
    potential = info.get("potential") or {}
    ctype = config_type if config_type is not None else f"md_{run_dir.name}"
    frames: list[Any] = []
    for chunk in LammpsDumpReader(dump).chunks(COLUMNS):
        for k in range(len(chunk.steps)):
            if chunk.first_frame + k not in wanted:
                continue
            table = chunk.table[k]
            types = table[:, 1].astype(int)
            if types.min() < 1 or types.max() > len(info.elements):
                raise SetupError(f"{dump}: LAMMPS types {types.min()}..{types.max()} but run.json "
                                 f"lists {len(info.elements)} elements {list(info.elements)}")
            atoms = Atoms([info.elements[t - 1] for t in types],
                          positions=table[:, 2:5] - chunk.origins[k], cell=chunk.cells[k], pbc=True)
            atoms.wrap()
            step = int(chunk.steps[k])
            atoms.info.update({
                keys.CONFIG_TYPE: ctype,
                "run": str(run_dir),
                "source": str(dump),
                "md_step": step,
                "time_ps": step * info.timestep_fs / 1000.0,
                "temperature_K": float(info.temperature_K),
                "run_potential": str(potential.get("name", "unknown")) if isinstance(potential, dict)
                else str(potential),
                "run_status": str(info.status),
            })
            if random is not None:
                atoms.info["selection_seed"] = int(seed)
            frames.append(atoms)
    return frames


def extract_frames(
    run_dirs: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    n: int | None = None,
    every_ps: float | None = None,
    random: int | None = None,
    seed: int | None = None,
    start_ps: float = 0.0,
    config_type: str | None = None,
    force: bool | None = False,
) -> dict[str, Any]:
    """Frames of several run folders into one extxyz file (written atomically).

    Parameters
    ----------
    run_dirs : sequence of str or PathLike
        Run folders, in output order.
    output : str or PathLike
        extxyz to write; an existing one is refused unless ``force`` (kept as a backup).
    n, every_ps, random, seed, start_ps, config_type
        See :func:`run_frames` (the same selection in every run).

    Returns
    -------
    dict
        ``output`` and per run folder the number of frames and their times (ps).
    """
    from lizrcl_tools.fileio import check_output, write_atoms_atomic

    if not run_dirs:
        raise SetupError("no run folder given")
    check_output(output, force=force, what="frames file")
    frames: list[Any] = []
    summary: dict[str, Any] = {"output": str(output), "runs": {}}
    for run_dir in run_dirs:
        got = run_frames(run_dir, n=n, every_ps=every_ps, random=random, seed=seed,
                         start_ps=start_ps, config_type=config_type)
        summary["runs"][str(run_dir)] = {"n_frames": len(got),
                                         "time_ps": [a.info["time_ps"] for a in got]}
        frames.extend(got)
    write_atoms_atomic(output, frames, format="extxyz", force=force)
    summary["n_frames"] = len(frames)
    return summary
