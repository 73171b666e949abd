"""The run-folder contract between the MD stage and the analysis, and its validating reader.

A run folder holds

``nvt.lammpstrj``
    LAMMPS ``dump custom`` with columns ``id type xu yu zu`` (unwrapped Cartesian Å), sorted
    by id, orthogonal or triclinic box;
``run.json``
    required: ``temperature_K``, ``timestep_fs`` (MD step), ``dump_every`` (MD steps between
    frames), ``elements`` (element of each LAMMPS type, in type order), ``mobile`` (the
    diffusing element, ``"Li"``); optional: ``n_atoms``, ``n_mobile``, ``cell_A`` (3×3, rows
    a, b, c), ``volume_A3`` (production cell volume, used for σ when present), ``potential``,
    ``seed``.

run.json has one typed form, :class:`lizrcl_tools.md.record.RunRecord`, written by the MD
runner; :func:`read_run_info` is its validating reader and raises
:class:`~lizrcl_tools.errors.ParseError` naming the file and the key.
"""

from __future__ import annotations

import os

from lizrcl_tools.md.record import DUMP_NAME, RUN_JSON, RunRecord, read_run_record

RunInfo = RunRecord
"""Validated content of ``run.json`` (the MD stage's run record)."""

__all__ = ["DUMP_NAME", "RUN_JSON", "RunInfo", "read_run_info"]


def read_run_info(run_dir: str | os.PathLike) -> RunInfo:
    """Read and validate ``run.json`` of a run folder (or the run.json file itself).

    Raises
    ------
    ParseError
        Missing file, invalid JSON, a missing required key or a bad value; the message names
        the file and the key.
    """
    return read_run_record(run_dir)
