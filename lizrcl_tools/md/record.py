"""The run record: the one typed form of a run folder's ``run.json``, written by MD, read by analysis.

:class:`RunRecord` is a frozen dataclass whose field names carry their units (``_K``, ``_fs``,
``_A``, ``_A3``, ``_bar``, ``_ps``). The MD runner (:mod:`lizrcl_tools.md.runner`) creates and
updates it and writes it with :meth:`RunRecord.to_dict`; the analysis
(:mod:`lizrcl_tools.analysis.runinfo`) reads it with :func:`read_run_record`, which validates
every key it relies on and raises :class:`~lizrcl_tools.errors.ParseError` naming the file and
the key. Keys this version does not know are kept in ``other`` and written back unchanged.

This module imports nothing heavy (no LAMMPS, ASE only for the element table), so the
analysis stage may import it.

Required keys: ``temperature_K``, ``timestep_fs`` (MD step), ``dump_every`` (MD steps between
frames), ``elements`` (element of each LAMMPS type, in type order), ``mobile`` (diffusing
element). Everything else is optional; ``volume_A3`` is the volume of the NVT production cell
(used for σ when present).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import ParseError

RUN_JSON = "run.json"
"""Name of the run record inside a run folder."""

DUMP_NAME = "nvt.lammpstrj"
"""Name of the production trajectory inside a run folder."""

COMPLETE = "complete"
RUNNING = "running"

CORE_KEYS = ("temperature_K", "timestep_fs", "dump_every", "elements", "mobile", "n_atoms",
             "n_mobile", "cell_A", "volume_A3")
"""Keys the analysis validates; :attr:`RunRecord.extra` is everything else."""


@dataclass(frozen=True)
class RunRecord:
    """Content of ``run.json``: settings, provenance and results of one MD run.

    Attributes
    ----------
    temperature_K, timestep_fs, dump_every, elements, mobile
        Required: thermostat temperature (K), MD step (fs), steps between frames, element of
        each LAMMPS type in type order, diffusing element.
    n_atoms, n_mobile : int or None
        Atom counts (checked against the dump by the analysis).
    cell_A : tuple or None
        Production (NVT) cell, 3×3 rows a, b, c (Å), LAMMPS frame.
    volume_A3 : float or None
        Production cell volume (Å³), used for σ.
    status : str or None
        ``running`` or ``complete``.
    npt_cell : dict or None
        NPT cell trace (``step``, ``volume_A3``) and the mean cell of its second half that the
        NVT run starts from (``mean_cell_A``, ``mean_volume_A3``, ``volume_std_A3``, window).
    nvt_segments : list or None
        Adaptive NVT length: per finished segment its end step and the Li D ± error (cm²/s).
    other : dict
        Every other key of run.json (protocol, potential, hashes, thermo summaries, ...),
        kept verbatim.
    path : Path or None
        The file it was read from (not written).
    """

    temperature_K: float
    timestep_fs: float
    dump_every: int
    elements: tuple[str, ...]
    mobile: str
    n_atoms: int | None = None
    n_mobile: int | None = None
    cell_A: tuple[tuple[float, float, float], ...] | None = None
    volume_A3: float | None = None
    status: str | None = None
    npt_cell: dict[str, Any] | None = None
    nvt_segments: tuple[dict[str, Any], ...] | None = None
    other: dict[str, Any] = field(default_factory=dict)
    path: Path | None = field(default=None, compare=False)

    # ---------------------------------------------------------------- derived
    @property
    def run_dir(self) -> Path:
        """The run folder (requires :attr:`path`)."""
        if self.path is None:
            raise ValueError("this run record was not read from a file")
        return self.path.parent

    @property
    def frame_interval_ps(self) -> float:
        """Time between frames (ps)."""
        return self.timestep_fs * self.dump_every / 1000.0

    @property
    def mobile_types(self) -> tuple[int, ...]:
        """1-based LAMMPS types whose element is the mobile one."""
        return tuple(i + 1 for i, el in enumerate(self.elements) if el == self.mobile)

    @property
    def finished(self) -> bool:
        """True once the runner has checked the dump and marked the run complete."""
        return self.status == COMPLETE

    @property
    def extra(self) -> dict[str, Any]:
        """Every key of :meth:`to_dict` except :data:`CORE_KEYS` (provenance for reports)."""
        return {k: v for k, v in self.to_dict().items() if k not in CORE_KEYS}

    def get(self, key: str, default: Any = None) -> Any:
        """Value of a run.json key, typed field or not (``default`` when absent)."""
        return self.to_dict().get(key, default)

    # ---------------------------------------------------------------- conversion
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready run.json content (typed fields that are None are left out)."""
        out: dict[str, Any] = {}
        if self.status is not None:
            out["status"] = self.status
        out.update(temperature_K=self.temperature_K, timestep_fs=self.timestep_fs,
                   dump_every=self.dump_every, elements=list(self.elements), mobile=self.mobile)
        for key in ("n_atoms", "n_mobile", "volume_A3"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.cell_A is not None:
            out["cell_A"] = [list(row) for row in self.cell_A]
        if self.npt_cell is not None:
            out["npt_cell"] = self.npt_cell
        if self.nvt_segments is not None:
            out["nvt_segments"] = [dict(s) for s in self.nvt_segments]
        for key, value in self.other.items():
            out.setdefault(key, value)
        return out

    def updated(self, **changes: Any) -> "RunRecord":
        """Copy with typed fields and/or other run.json keys changed."""
        names = {f.name for f in dataclasses.fields(self)}
        typed = {k: v for k, v in changes.items() if k in names}
        rest = {k: v for k, v in changes.items() if k not in names}
        if "cell_A" in typed and typed["cell_A"] is not None:
            typed["cell_A"] = tuple(tuple(float(x) for x in row) for row in typed["cell_A"])
        if "nvt_segments" in typed and typed["nvt_segments"] is not None:
            typed["nvt_segments"] = tuple(typed["nvt_segments"])
        return dataclasses.replace(self, **typed, other={**self.other, **rest})

    @classmethod
    def from_dict(cls, data: Any, path: str | os.PathLike | None = None) -> "RunRecord":
        """Validate and type a run.json mapping.

        Raises
        ------
        ParseError
            A missing required key or a bad value; the message names ``path`` and the key.
        """
        where = Path(path) if path is not None else Path(RUN_JSON)
        if not isinstance(data, dict):
            raise ParseError(where, "expected a JSON object at the top level")
        for key in ("temperature_K", "timestep_fs", "dump_every", "elements", "mobile"):
            if key not in data:
                raise ParseError(where, f"missing required key {key!r}")
        elements = data["elements"]
        if not (isinstance(elements, list | tuple) and elements and all(isinstance(e, str) for e in elements)):
            raise ParseError(where, f"key 'elements': expected a list of element symbols, got {elements!r}")
        from ase.data import chemical_symbols  # light: the symbol table only

        for el in elements:
            if el not in chemical_symbols[1:]:
                raise ParseError(where, f"key 'elements': unknown element symbol {el!r}")
        mobile = data["mobile"]
        if mobile not in elements:
            raise ParseError(where, f"key 'mobile': {mobile!r} is not one of elements {list(elements)}")

        def optional(key: str, integer: bool = False):
            return _positive(where, data, key, integer) if data.get(key) is not None else None

        cell = data.get("cell_A")
        if cell is not None:
            try:
                cell = tuple(tuple(float(x) for x in row) for row in cell)
            except (TypeError, ValueError) as exc:
                raise ParseError(where, f"key 'cell_A': expected a 3x3 list of numbers ({exc})") from exc
            if len(cell) != 3 or any(len(row) != 3 for row in cell):
                raise ParseError(where, "key 'cell_A': expected a 3x3 list of numbers (rows a, b, c in Å)")
        segments = data.get("nvt_segments")
        typed = {"status", "npt_cell", "nvt_segments", *CORE_KEYS}
        return cls(
            temperature_K=_positive(where, data, "temperature_K"),
            timestep_fs=_positive(where, data, "timestep_fs"),
            dump_every=_positive(where, data, "dump_every", integer=True),
            elements=tuple(elements),
            mobile=mobile,
            n_atoms=optional("n_atoms", integer=True),
            n_mobile=optional("n_mobile", integer=True),
            cell_A=cell,
            volume_A3=optional("volume_A3"),
            status=data.get("status"),
            npt_cell=data.get("npt_cell"),
            nvt_segments=tuple(segments) if segments is not None else None,
            other={k: v for k, v in data.items() if k not in typed},
            path=Path(path) if path is not None else None,
        )


def _positive(path: Path, data: dict, key: str, integer: bool = False) -> Any:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(path, f"key {key!r}: expected a number, got {value!r}")
    if integer and not float(value).is_integer():
        raise ParseError(path, f"key {key!r}: expected an integer, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ParseError(path, f"key {key!r}: must be positive, got {value!r}")
    return int(value) if integer else float(value)


def read_run_record(run_dir: str | os.PathLike) -> RunRecord:
    """Read and validate ``run.json`` of a run folder (or the file itself).

    Raises
    ------
    ParseError
        Missing file, invalid JSON, or a bad required key (file and key named).
    """
    from lizrcl_tools.fileio import read_json

    path = Path(run_dir)
    if path.is_dir():
        path = path / RUN_JSON
    if not path.is_file():
        raise ParseError(path, "run description not found (every run folder needs a run.json)")
    return RunRecord.from_dict(read_json(path), path)


def write_run_record(run_dir: str | os.PathLike, record: RunRecord) -> Path:
    """Write ``record`` to ``run_dir/run.json`` atomically (replacing the previous record)."""
    from lizrcl_tools.fileio import write_json_atomic

    target = Path(run_dir) / RUN_JSON
    write_json_atomic(target, record.to_dict(), overwrite=True)
    return target
