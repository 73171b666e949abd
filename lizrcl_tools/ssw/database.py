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

Duplicates: a new minimum is the same as a stored one with the same formula when
``|ΔE| < energy_tol`` (eV/atom) and the fingerprint cosine distance is below ``fp_tol``.

Concurrency: SQLite serialises writers, but "look for a duplicate, then insert" must be one
atomic unit across processes, so every write holds an exclusive ``fcntl`` lock on
``<db>.walkers.lock`` for its whole read–compare–write (POSIX file systems).
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from lizrcl_tools.errors import SetupError
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
        ``.db`` file; created on first write.
    energy_tol : float
        Duplicate energy tolerance, eV/atom.
    fp_tol : float
        Duplicate fingerprint tolerance (cosine distance).
    """

    def __init__(self, path, energy_tol: float = ENERGY_TOL_EV_ATOM, fp_tol: float = FP_TOL) -> None:
        self.path = Path(path)
        self.energy_tol = energy_tol
        self.fp_tol = fp_tol

    @contextlib.contextmanager
    def _locked(self) -> Iterator[object]:
        import ase.db

        self.path.parent.mkdir(parents=True, exist_ok=True)
        # ase.db already uses "<db>.lock" (a lock inside one write); ours spans read-compare-write.
        with open(f"{self.path}.walkers.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                # ASE's own O_EXCL lock file survives a killed process and then blocks
                # every later writer; the flock above dies with its process instead.
                with ase.db.connect(str(self.path), type="db", append=True, use_lock_file=False) as db:
                    yield db
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self):
        import ase.db

        if not self.path.exists():
            raise SetupError(f"{self.path}: no such minima database")
        return ase.db.connect(str(self.path), type="db", use_lock_file=False)

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
