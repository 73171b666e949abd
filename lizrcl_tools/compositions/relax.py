"""Relax a cell with a LAMMPS potential and add single points (bare model, teacher); cached per cell.

A record is one JSON per structure label, ``DIR/cells/LABEL.json``, beside the relaxed cell
``DIR/cells/LABEL.extxyz``. A record made with the same potential and relaxation settings is
read back instead of recomputed (runs resume cell by cell); one made with others is refused
unless ``force`` (then the old files are kept as numbered backups). Single points missing from
a record (``bare_model``, ``teacher``) are added to it.

Relaxation: LAMMPS ``minimize`` (CG) with ``fix box/relax tri 0`` (all six cell degrees of
freedom, zero pressure), restarted up to 3 times until the energy stops changing
(:meth:`lizrcl_tools.potential.lammps_engine.LammpsEngine.minimize`); ``force_tol`` is LAMMPS's ftol, the
2-norm of the global force vector, eV/Å. Units: eV, Å.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError

FORCE_TOL = 0.1
"""LAMMPS ftol (2-norm of the global force vector, eV/Å) of every relaxation here."""

MAX_ITER = 100
"""Iterations per minimisation round."""


def potential_summary(spec: Any) -> dict[str, Any]:
    """Name, model checksum and dispersion of a PotentialSpec (what a record is keyed by)."""
    meta = getattr(spec, "metadata", {}) or {}
    disp = meta.get("dispersion") or {}
    return {"name": getattr(spec, "name", str(spec)), "sha256": meta.get("sha256"),
            "dtype": meta.get("dtype"), "dispersion": disp.get("method", "none"),
            "d3_cutoff_A": disp.get("cutoff_A"), "d3_cn_cutoff_A": disp.get("cn_cutoff_A")}


def relax(atoms: Atoms, spec: Any, force_tol: float = FORCE_TOL, max_iter: int = MAX_ITER) -> tuple[Atoms, float, float, int]:
    """Relax cell and positions of ``atoms`` with ``spec``; (relaxed Atoms, energy eV, max force eV/Å, force calls)."""
    from lizrcl_tools.potential.lammps_engine import LammpsEngine

    engine = LammpsEngine(spec, atoms.get_chemical_symbols(), atoms.cell[:], atoms.positions)
    try:
        ev = engine.minimize(relax_cell=True, force_tol=force_tol, max_iter=max_iter)
        out = engine.atoms()
    finally:
        engine.close()
    out.info.update(atoms.info)
    return out, float(ev.energy), float(np.sqrt((ev.forces**2).sum(axis=1)).max()), int(engine.force_calls)


def single_point(atoms: Atoms, spec: Any) -> float:
    """Energy (eV) of ``atoms`` with a LAMMPS potential, one force call."""
    from lizrcl_tools.potential.lammps_engine import LammpsEngine

    engine = LammpsEngine(spec, atoms.get_chemical_symbols(), atoms.cell[:], atoms.positions)
    try:
        return float(engine.evaluate().energy)
    finally:
        engine.close()


class Teacher:
    """A reference calculator (``dataset.references``), loaded on first use."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._ref = None

    def energy(self, atoms: Atoms) -> tuple[float, str]:
        """Energy (eV) of ``atoms`` and the reference's provenance string."""
        if self._ref is None:
            from lizrcl_tools.dataset.references import get_reference

            self._ref = get_reference(self.name)
        a = atoms.copy()
        a.calc = self._ref.calculator
        return float(a.get_potential_energy()), f"{self._ref.name}: {self._ref.version}"


def cell_record(
    label: str,
    atoms: Atoms,
    spec: Any,
    workdir: str | os.PathLike,
    *,
    bare_spec: Any | None = None,
    teacher: Teacher | None = None,
    force: bool = False,
    force_tol: float = FORCE_TOL,
    log: Any = None,
) -> tuple[dict[str, Any], Atoms]:
    """The (cached) record of one cell: relaxed with ``spec``, plus bare-model and teacher single points.

    Returns
    -------
    record, relaxed
        ``record`` keys: ``label``, ``formula``, ``n_atoms``, ``counts`` (Li, Zr, Cl),
        ``energy_eV`` (spec, relaxed), ``max_force_eV_A``, ``cellpar_relaxed`` / ``cellpar_start``,
        ``volume_A3``, ``seconds``, ``potential``, ``settings``, ``info`` (builder provenance),
        and, where asked, ``bare_model_energy_eV`` and ``teacher_energy_eV`` / ``teacher`` at the
        relaxed cell.
    """
    from ase.io import read

    from lizrcl_tools.fileio import backup_path, jsonable, read_json, write_atoms_atomic, write_json_atomic

    say = log or (lambda _m: None)
    workdir = Path(workdir)
    json_path, xyz_path = workdir / f"{label}.json", workdir / f"{label}.extxyz"
    settings = {"relaxation": "LAMMPS minimize cg + fix box/relax tri 0 bar, up to 3 rounds",
                "force_tol_eV_A": float(force_tol), "max_iter": MAX_ITER}
    potential = potential_summary(spec)
    record = None
    if json_path.exists() and xyz_path.exists():
        old = read_json(json_path)
        if old.get("potential") == potential and old.get("settings") == settings and not force:
            record, relaxed = old, read(xyz_path)
        elif not force:
            raise SetupError(f"{json_path} was made with another potential or settings; use --force")
        else:
            for p in (json_path, xyz_path):
                os.rename(p, backup_path(p))
    if record is None:
        start = time.perf_counter()
        relaxed, energy, fmax, calls = relax(atoms, spec, force_tol=force_tol)
        symbols = atoms.get_chemical_symbols()
        record = {
            "label": label, "formula": atoms.get_chemical_formula(), "n_atoms": len(atoms),
            "counts": {s: symbols.count(s) for s in ("Li", "Zr", "Cl")},
            "energy_eV": energy, "max_force_eV_A": fmax,
            "cellpar_start": [float(v) for v in atoms.cell.cellpar()],
            "cellpar_relaxed": [float(v) for v in relaxed.cell.cellpar()],
            "volume_A3": float(relaxed.get_volume()),
            "seconds": round(time.perf_counter() - start, 1), "force_calls": calls,
            "potential": potential, "settings": settings,
            "info": jsonable({k: v for k, v in atoms.info.items() if isinstance(v, (str, int, float, list))}),
        }
        write_atoms_atomic(xyz_path, [_plain(relaxed)], format="extxyz")
        say(f"{label}: relaxed in {record['seconds']:.0f} s ({calls} force calls), {energy / len(atoms):.4f} eV/atom")
    changed = False
    if bare_spec is not None and "bare_model_energy_eV" not in record:
        record["bare_model_energy_eV"] = single_point(relaxed, bare_spec)
        record["bare_model"] = potential_summary(bare_spec)
        changed = True
    if teacher is not None and "teacher_energy_eV" not in record:
        record["teacher_energy_eV"], record["teacher"] = teacher.energy(relaxed)
        changed = True
    if changed or not json_path.exists():
        write_json_atomic(json_path, jsonable(record))
    return record, relaxed


def _plain(atoms: Atoms) -> Atoms:
    """Copy with scalar/string info only (extxyz writes those), no calculator."""
    out = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True)
    out.info = {k: v for k, v in atoms.info.items() if isinstance(v, (str, int, float))}
    return out
