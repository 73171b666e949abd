"""The run-folder contract between the MD stage and the analysis, and its validating reader.

A run folder holds

``nvt.lammpstrj``
    LAMMPS ``dump custom`` with columns ``id type xu yu zu`` (unwrapped Cartesian Å), sorted
    by id, orthogonal or triclinic box;
``run.json``
    required: ``temperature_K``, ``timestep_fs`` (MD step), ``dump_every`` (MD steps between
    frames), ``elements`` (element of each LAMMPS type, in type order), ``mobile`` (the
    diffusing element, ``"Li"``); optional: ``n_atoms``, ``n_mobile``, ``cell_A`` (3×3, rows
    a, b, c), ``volume_A3`` (final NPT volume, used for σ when present), ``potential``, ``seed``.

:func:`read_run_info` checks every key and raises :class:`~lizrcl_tools.errors.ParseError`
naming the file and the key.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import ParseError
from lizrcl_tools.fileio import read_json

RUN_JSON = "run.json"
"""Name of the run description inside a run folder."""

DUMP_NAME = "nvt.lammpstrj"
"""Name of the production trajectory inside a run folder."""


@dataclass(frozen=True)
class RunInfo:
    """Validated content of ``run.json``.

    Attributes
    ----------
    path : Path
        The run.json file.
    temperature_K : float
        Thermostat temperature (K).
    timestep_fs : float
        MD time step (fs).
    dump_every : int
        MD steps between trajectory frames.
    elements : tuple of str
        Element of LAMMPS type 1, 2, ...
    mobile : str
        Diffusing element.
    n_atoms, n_mobile : int or None
        Optional counts, checked against the dump.
    cell_A : tuple or None
        Optional 3×3 cell (Å), rows a, b, c.
    volume_A3 : float or None
        Optional cell volume for σ (Å³), e.g. the final NPT volume.
    extra : dict
        Other keys (``potential``, ``seed``...), kept for provenance.
    """

    path: Path
    temperature_K: float
    timestep_fs: float
    dump_every: int
    elements: tuple[str, ...]
    mobile: str
    n_atoms: int | None = None
    n_mobile: int | None = None
    cell_A: tuple[tuple[float, float, float], ...] | None = None
    volume_A3: float | None = None
    extra: dict[str, Any] | None = None

    @property
    def run_dir(self) -> Path:
        """The run folder."""
        return self.path.parent

    @property
    def frame_interval_ps(self) -> float:
        """Time between frames (ps)."""
        return self.timestep_fs * self.dump_every / 1000.0

    @property
    def mobile_types(self) -> tuple[int, ...]:
        """1-based LAMMPS types whose element is the mobile one."""
        return tuple(i + 1 for i, el in enumerate(self.elements) if el == self.mobile)


def _positive_number(path: Path, data: dict, key: str, integer: bool = False) -> float | int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParseError(path, f"key {key!r}: expected a number, got {value!r}")
    if integer and not float(value).is_integer():
        raise ParseError(path, f"key {key!r}: expected an integer, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ParseError(path, f"key {key!r}: must be positive, got {value!r}")
    return int(value) if integer else float(value)


def read_run_info(run_dir: str | os.PathLike) -> RunInfo:
    """Read and validate ``run.json`` of a run folder.

    Parameters
    ----------
    run_dir : str or PathLike
        The run folder (or the run.json file itself).

    Returns
    -------
    RunInfo

    Raises
    ------
    ParseError
        Missing file, invalid JSON, a missing required key or a bad value; the message names
        the file and the key.
    """
    path = Path(run_dir)
    if path.is_dir():
        path = path / RUN_JSON
    if not path.is_file():
        raise ParseError(path, "run description not found (every run folder needs a run.json)")
    data = read_json(path)
    if not isinstance(data, dict):
        raise ParseError(path, "expected a JSON object at the top level")
    for key in ("temperature_K", "timestep_fs", "dump_every", "elements", "mobile"):
        if key not in data:
            raise ParseError(path, f"missing required key {key!r}")

    temperature = _positive_number(path, data, "temperature_K")
    timestep = _positive_number(path, data, "timestep_fs")
    dump_every = _positive_number(path, data, "dump_every", integer=True)

    elements = data["elements"]
    if not (isinstance(elements, list) and elements and all(isinstance(e, str) for e in elements)):
        raise ParseError(path, f"key 'elements': expected a list of element symbols, got {elements!r}")
    from ase.data import chemical_symbols  # light import; only the symbol table

    for el in elements:
        if el not in chemical_symbols[1:]:
            raise ParseError(path, f"key 'elements': unknown element symbol {el!r}")
    mobile = data["mobile"]
    if mobile not in elements:
        raise ParseError(path, f"key 'mobile': {mobile!r} is not one of elements {elements}")

    n_atoms = _positive_number(path, data, "n_atoms", integer=True) if data.get("n_atoms") is not None else None
    n_mobile = _positive_number(path, data, "n_mobile", integer=True) if data.get("n_mobile") is not None else None
    volume = _positive_number(path, data, "volume_A3") if data.get("volume_A3") is not None else None

    cell = data.get("cell_A")
    if cell is not None:
        try:
            cell = tuple(tuple(float(x) for x in row) for row in cell)
        except (TypeError, ValueError) as exc:
            raise ParseError(path, f"key 'cell_A': expected a 3x3 list of numbers ({exc})") from exc
        if len(cell) != 3 or any(len(row) != 3 for row in cell):
            raise ParseError(path, "key 'cell_A': expected a 3x3 list of numbers (rows a, b, c in Å)")

    known = {"temperature_K", "timestep_fs", "dump_every", "elements", "mobile", "n_atoms", "n_mobile",
             "cell_A", "volume_A3"}
    return RunInfo(
        path=path,
        temperature_K=temperature,
        timestep_fs=timestep,
        dump_every=dump_every,
        elements=tuple(elements),
        mobile=mobile,
        n_atoms=n_atoms,
        n_mobile=n_mobile,
        cell_A=cell,
        volume_A3=volume,
        extra={k: v for k, v in data.items() if k not in known},
    )
