"""The minima database of SSW walks: an ASE SQLite database shared safely by several walkers.

Rows
----
``kind="minimum"``: one distinct minimum. Keys: ``e_per_atom`` (eV/atom), ``spacegroup``,
``sg_number`` (spglib, symprec 0.1 Å), ``q4`` (distance-weighted Steinhardt Q4), ``visits``
(how many SSW steps ended in it), ``seed`` and ``found_step`` (the walker and step that found
it first), ``potential``. Data: ``fingerprint`` and ``visit_keys`` (``[seed, step]`` of every
visit, so a step redone after a crash is not counted twice).

``kind="walk"``: an intermediate point of a walk (end of a biased relaxation), kept as
training-data candidates: ``seed``, ``step``, ``point``, ``e_per_atom``.

``kind="hole"``: where a quench slid into a hole of the potential (two atoms closer than the
contact floor, ``SSWParameters.reject_close_contacts``), the last structure on the way in that
passed the check: the potential already runs downhill there, so that is where it most needs
teacher labels. Keys ``seed``, ``step``, ``potential``, ``contact_ratio`` (its closest contact /
that pair's floor), ``caught_ratio`` (the same for the structure that failed); no energy.

Duplicates: a new minimum is the same as a stored one with the same formula when
``|ΔE| < energy_tol`` (eV/atom) and the fingerprint cosine distance is below ``fp_tol``.

Concurrency: SQLite serialises writers, but "look for a duplicate, then insert" must be one
atomic unit across processes, so every write holds an exclusive ``fcntl`` lock on
``<db>.walkers.lock`` for its whole read–compare–write (POSIX file systems).

Schema marker and foreign files: a lizrcl minima database carries a table ``lizrcl_schema``
(``name = "lizrcl-minima"``, ``version``) next to ASE's tables. An existing file is checked
when a :class:`MinimaDB` is made: a file that is not SQLite, an SQLite file of something else,
or an ASE database whose rows are not SSW minima/walk points/holes is a
:class:`~lizrcl_tools.errors.ParseError` naming the file and what was expected. A database
written before the marker existed (ASE tables, only ``kind=minimum``/``walk`` rows) is read as
it is and gets the marker on its next write. Reading (:meth:`MinimaDB.minima`, ``lizrcl
minima``, ``lizrcl pes-map``) opens the file read-only (SQLite ``mode=ro``), so it never
creates or changes anything in it.
"""

from __future__ import annotations

import contextlib
import fcntl
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.ssw.fingerprint import (
    fingerprint,
    fingerprint_distance,
    reduced_copy,
    spacegroup,
    weighted_steinhardt,
)

ENERGY_TOL_EV_ATOM = 0.002
"""Energies per atom closer than this (eV/atom) may be the same minimum."""

FP_TOL = 0.01
"""Fingerprint cosine distance below which two structures are the same."""

SCHEMA_NAME = "lizrcl-minima"
SCHEMA_VERSION = 1
"""Marker of a lizrcl minima database (table ``lizrcl_schema``); bump on incompatible changes."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_EXPECTED = "expected a lizrcl minima database written by `lizrcl ssw`"


def _connect_read_only(path: Path) -> sqlite3.Connection:
    # mode=ro: SQLite refuses every write, so a reader can never create tables in the file.
    return sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True, timeout=20)


def check_minima_file(path: str | Path) -> bool:
    """Check that an existing file is a lizrcl minima database, opening it read-only.

    Returns
    -------
    bool
        True if it carries the lizrcl schema marker, False for a database written before the
        marker existed (ASE tables holding only SSW rows) or an empty (0-byte) file.

    Raises
    ------
    SetupError
        The file does not exist.
    ParseError
        Not an SQLite file, an SQLite file without lizrcl's or ASE's tables, an ASE database
        holding rows that are not SSW minima, walk points or holes, or a newer schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise SetupError(f"{path}: no such minima database")
    with open(path, "rb") as fd:
        head = fd.read(len(_SQLITE_MAGIC))
    if not head:
        return False
    if head != _SQLITE_MAGIC:
        raise ParseError(path, f"not an SQLite database ({_EXPECTED})")
    try:
        con = _connect_read_only(path)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "lizrcl_schema" in tables:
                rows = con.execute("SELECT name, version FROM lizrcl_schema").fetchall()
                if len(rows) != 1 or rows[0][0] != SCHEMA_NAME:
                    raise ParseError(path, f"its lizrcl_schema table holds {rows!r}, not "
                                           f"[({SCHEMA_NAME!r}, {SCHEMA_VERSION})] ({_EXPECTED})")
                if int(rows[0][1]) > SCHEMA_VERSION:
                    raise ParseError(path, f"minima database schema version {rows[0][1]} is newer than "
                                           f"this lizrcl reads ({SCHEMA_VERSION}); update lizrcl")
                return True
            if "systems" not in tables or "text_key_values" not in tables:
                shown = ", ".join(sorted(tables)) or "none"
                raise ParseError(path, f"an SQLite database of something else (tables: {shown}; "
                                       f"{_EXPECTED})")
            n_rows = con.execute("SELECT COUNT(*) FROM systems").fetchone()[0]
            n_ssw = con.execute("SELECT COUNT(*) FROM text_key_values WHERE key='kind' "
                                "AND value IN ('minimum', 'walk', 'hole')").fetchone()[0]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise ParseError(path, f"unreadable as SQLite ({exc}; {_EXPECTED})") from exc
    if n_ssw != n_rows:
        raise ParseError(path, f"an ASE database, but {n_rows - n_ssw} of its {n_rows} rows are not "
                               f"SSW minima, walk points or holes ({_EXPECTED})")
    return False


def _mark(path: Path) -> None:
    """Add the schema marker (the file is locked by the caller; idempotent)."""
    con = sqlite3.connect(str(path), timeout=20)
    try:
        with con:
            con.execute("CREATE TABLE IF NOT EXISTS lizrcl_schema (name TEXT NOT NULL, version INTEGER NOT NULL)")
            if con.execute("SELECT COUNT(*) FROM lizrcl_schema").fetchone()[0] == 0:
                con.execute("INSERT INTO lizrcl_schema VALUES (?, ?)", (SCHEMA_NAME, SCHEMA_VERSION))
    finally:
        con.close()


@dataclass(frozen=True)
class Recorded:
    """Outcome of :meth:`MinimaDB.add_minimum`: the row id and whether it was new."""

    id: int
    new: bool
    visits: int


class MinimaDB:
    """Minima of SSW walks in an ASE SQLite database (see the module docstring).

    Parameters
    ----------
    path : str or PathLike
        ``.db`` file; created on first write. An existing file is checked now
        (:func:`check_minima_file`).
    energy_tol : float
        Duplicate energy tolerance, eV/atom.
    fp_tol : float
        Duplicate fingerprint tolerance (cosine distance).
    """

    def __init__(self, path, energy_tol: float = ENERGY_TOL_EV_ATOM, fp_tol: float = FP_TOL) -> None:
        self.path = Path(path)
        self.energy_tol = energy_tol
        self.fp_tol = fp_tol
        self._marked = self.path.exists() and check_minima_file(self.path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[object]:
        import ase.db

        self.path.parent.mkdir(parents=True, exist_ok=True)
        # ase.db already uses "<db>.lock" (a lock inside one write); ours spans read-compare-write.
        with open(f"{self.path}.walkers.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not self._marked:
                    if self.path.exists():
                        check_minima_file(self.path)  # another process may have written it since
                    _mark(self.path)
                    self._marked = True
                # ASE's own O_EXCL lock file survives a killed process and then blocks
                # every later writer; the flock above dies with its process instead.
                with ase.db.connect(str(self.path), type="db", append=True, use_lock_file=False) as db:
                    yield db
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self):
        """The database opened read-only (an ase.db SQLite3Database whose connections are ``mode=ro``)."""
        from ase.db.sqlite import SQLite3Database

        check_minima_file(self.path)

        class _ReadOnly(SQLite3Database):
            def _connect(self):  # noqa: ANN202 - ASE's hook
                return _connect_read_only(Path(self.filename))

        db = _ReadOnly(str(self.path), create_indices=False, use_lock_file=False)
        # An empty file has no ASE tables and a read-only file cannot get them: nothing stored.
        return db if self.path.stat().st_size else _Empty()

    def add_minimum(
        self, atoms: Atoms, energy: float, *, seed: int, step: int, potential: str = "", converged: bool = True
    ) -> Recorded:
        """Record a minimum (energy in eV, whole cell); merge it into a duplicate if one exists.

        The structure is stored on the Minkowski-reduced basis of its lattice.

        Returns
        -------
        Recorded
            Row id, whether the minimum is new, and its visit count after this call.
        """
        atoms = reduced_copy(atoms)
        n = len(atoms)
        e_pa = energy / n
        fp = fingerprint(atoms)
        formula = atoms.get_chemical_formula(mode="metal", empirical=True)
        with self._locked() as db:
            lo, hi = e_pa - self.energy_tol, e_pa + self.energy_tol
            for row in db.select(f"kind=minimum,e_per_atom>{lo!r},e_per_atom<{hi!r}", formula_e=formula):
                if fingerprint_distance(row.data["fingerprint"], fp) < self.fp_tol:
                    keys = [tuple(k) for k in np.asarray(row.data.get("visit_keys", np.zeros((0, 2))), int).tolist()]
                    if (seed, step) not in keys:
                        keys.append((seed, step))
                    data = dict(row.data)
                    data["visit_keys"] = np.array(keys, dtype=int)
                    db.update(row.id, visits=len(keys), data=data)
                    return Recorded(row.id, False, len(keys))
            sg, sg_number = spacegroup(atoms)
            stored = atoms.copy()
            stored.calc = SinglePointCalculator(stored, energy=energy)
            row_id = db.write(
                stored,
                kind="minimum",
                formula_e=formula,
                e_per_atom=float(e_pa),
                spacegroup=sg,
                sg_number=sg_number,
                q4=weighted_steinhardt(atoms, 4),
                visits=1,
                seed=int(seed),
                found_step=int(step),
                potential=str(potential),
                converged=bool(converged),
                data={"fingerprint": fp, "visit_keys": np.array([[seed, step]], dtype=int)},
            )
            return Recorded(row_id, True, 1)

    def add_walk_points(self, frames: list[tuple[Atoms, float]], *, seed: int, step: int) -> None:
        """Store intermediate walk points ``(atoms, true energy eV)`` of one SSW step."""
        if not frames:
            return
        with self._locked() as db:
            for point, (atoms, energy) in enumerate(frames):
                stored = atoms.copy()
                stored.calc = SinglePointCalculator(stored, energy=energy)
                db.write(
                    stored,
                    kind="walk",
                    formula_e=atoms.get_chemical_formula(mode="metal", empirical=True),
                    e_per_atom=float(energy / len(atoms)),
                    seed=int(seed),
                    step=int(step),
                    point=point,
                )

    def add_hole(self, atoms: Atoms, *, seed: int, step: int, potential: str = "",
                 contact_ratio: float = float("nan"), caught_ratio: float = float("nan")) -> bool:
        """Store the rim of a hole of the potential the walk fell into (``kind=hole``).

        ``atoms``: the last structure on the way in that passed the contact check;
        ``contact_ratio``: its closest contact / that pair's floor (≥ 1 for a rim);
        ``caught_ratio``: the same for the structure that failed the check (< 1). One hole
        per (seed, step): a step redone on resume does not store it twice.

        Returns
        -------
        bool
            Whether it was stored (False: that step's hole was already there).
        """
        atoms = atoms.copy()
        atoms.calc = None
        with self._locked() as db:
            if db.count(kind="hole", seed=int(seed), step=int(step)):
                return False
            db.write(atoms, kind="hole", formula_e=atoms.get_chemical_formula(mode="metal", empirical=True),
                     seed=int(seed), step=int(step), potential=str(potential), contact_ratio=float(contact_ratio),
                     caught_ratio=float(caught_ratio))
        return True

    def holes(self) -> list:
        """All hole rows (structures rejected for too close contacts), oldest first."""
        return list(self._read().select(kind="hole")) if self.path.exists() else []

    def minima(self, formula: str | None = None) -> list:
        """All minimum rows (ase.db rows), lowest energy per atom first."""
        db = self._read()
        query = {"kind": "minimum"}
        if formula:
            query["formula_e"] = formula
        return sorted(db.select(**query), key=lambda r: r.e_per_atom)

    def walk_points(self) -> list:
        """All intermediate walk-point rows."""
        return list(self._read().select(kind="walk"))

    def count(self) -> int:
        """Number of distinct minima (0 if the database does not exist yet)."""
        if not self.path.exists():
            return 0
        return self._read().count(kind="minimum")

    def lowest(self) -> float | None:
        """Lowest energy per atom stored, eV/atom (None if empty)."""
        rows = self.minima() if self.path.exists() else []
        return rows[0].e_per_atom if rows else None


class _Empty:
    """Stands in for the ASE database of an empty (0-byte) file: no rows."""

    def select(self, *args, **kwargs) -> Iterator[object]:
        return iter(())

    def count(self, *args, **kwargs) -> int:
        return 0
