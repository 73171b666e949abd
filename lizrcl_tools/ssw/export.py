"""Reading the minima database back: a table of minima, structure export, frames for labelling.

Energies in the table are per atom, relative to the lowest minimum of the same formula
(eV/atom). ``labelling_frames`` gives the SSW-NN loop its new training candidates: every
minimum and every intermediate walk point within an energy window above the global minimum,
optionally thinned by a seeded random choice, and the rim of every hole of the walking
potential (the last structure on a quench's way into it that passed the contact check): there
the potential already runs downhill into the hole, so that is where it most needs labels.
Each frame carries ``config_type`` (``ssw_minimum`` / ``ssw_walk`` / ``ssw_hole``), ``source``
(``<db>:<row id>``) and, for minima and walk points, the walking potential's
energy ``ssw_energy`` (eV) in ``atoms.info`` — not ``REF_*``, which only reference labels use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from lizrcl_tools import keys
from lizrcl_tools.errors import SetupError
from lizrcl_tools.fileio import write_atoms_atomic
from lizrcl_tools.ssw.database import MinimaDB

HOLE_MIN_RATIO = 1.0
"""Holes whose stored structure has its closest contact below this fraction of the contact floor
are not offered for labelling (1: only structures that pass the input checks, as the learn loop's
physical filter requires; a rim fails only when the quench's first checked point already did)."""


@dataclass(frozen=True)
class MinimumRow:
    """One line of the minima table.

    Attributes
    ----------
    id : int
        Database row id.
    formula : str
        Empirical formula.
    natoms : int
        Atoms in the cell.
    e_per_atom : float
        Energy, eV/atom.
    e_above_min : float
        Energy above the lowest minimum of the same formula, eV/atom.
    spacegroup : str
        spglib international symbol.
    sg_number : int
        Space-group number.
    visits : int
        SSW steps that ended in this minimum.
    q4 : float
        Distance-weighted Steinhardt Q4.
    """

    id: int
    formula: str
    natoms: int
    e_per_atom: float
    e_above_min: float
    spacegroup: str
    sg_number: int
    visits: int
    q4: float


def minima_table(db: MinimaDB, formula: str | None = None) -> list[MinimumRow]:
    """All distinct minima, lowest first, with energies above each formula's global minimum."""
    rows = db.minima(formula)
    lowest: dict[str, float] = {}
    for r in rows:
        lowest[r.formula_e] = min(lowest.get(r.formula_e, np.inf), r.e_per_atom)
    return [
        MinimumRow(r.id, r.formula_e, r.natoms, r.e_per_atom, r.e_per_atom - lowest[r.formula_e], r.spacegroup,
                   r.sg_number, r.visits, r.q4)
        for r in rows
    ]


def format_table(table: list[MinimumRow], top: int | None = None) -> str:
    """Plain-text table of the ``top`` lowest minima."""
    lines = [f"{'id':>5} {'formula':<10} {'N':>4} {'E (eV/atom)':>12} {'ΔE (meV/atom)':>14} "
             f"{'space group':<12} {'visits':>6} {'Q4':>6}"]
    for m in table[:top]:
        lines.append(f"{m.id:>5} {m.formula:<10} {m.natoms:>4} {m.e_per_atom:>12.5f} {1000 * m.e_above_min:>14.1f} "
                     f"{m.spacegroup + ' (' + str(m.sg_number) + ')':<12} {m.visits:>6} {m.q4:>6.3f}")
    return "\n".join(lines)


def export_minima(db: MinimaDB, n: int, outdir, fmt: str = "cif", formula: str | None = None) -> list[Path]:
    """Write the ``n`` lowest minima as ``min<rank>_id<id>_<spacegroup>.<fmt>`` (cif or extxyz)."""
    if fmt not in ("cif", "extxyz", "vasp"):
        raise SetupError(f"unknown export format {fmt!r}; choose cif, extxyz or vasp")
    outdir = Path(outdir)
    paths = []
    for rank, row in enumerate(db.minima(formula)[:n]):
        atoms = row.toatoms()
        name = f"min{rank:03d}_id{row.id}_{row.spacegroup.replace('/', '_')}.{fmt if fmt != 'vasp' else 'vasp'}"
        paths.append(write_atoms_atomic(outdir / name, [atoms], format=fmt))
    return paths


def labelling_frames(
    db: MinimaDB,
    window_eV_atom: float = 0.5,
    max_walk_points: int | None = None,
    seed: int = 0,
    include_walk: bool = True,
    include_holes: bool = True,
    hole_min_ratio: float = HOLE_MIN_RATIO,
) -> list[Atoms]:
    """Minima and intermediate walk points within ``window_eV_atom`` of the global minimum.

    Parameters
    ----------
    db : MinimaDB
        The database.
    window_eV_atom : float
        Keep frames at most this far above the lowest minimum of their formula, eV/atom.
    max_walk_points : int, optional
        Keep at most this many walk points (random choice with ``seed``; all minima are kept).
    seed : int
        Seed of that choice (recorded as ``ssw_select_seed`` in each frame).
    include_walk : bool
        Add walk points (else minima only).
    include_holes : bool
        Add the holes' rims (``ssw_hole``, with ``contact_ratio`` and ``caught_ratio`` in
        ``info``; no energy window: the walking potential's energy is what is wrong there).
    hole_min_ratio : float
        Leave out holes whose stored closest contact is below this fraction of its floor.

    Returns
    -------
    list of ase.Atoms
        Frames without calculators, labels in ``info`` as described in the module docstring.
    """
    minima = db.minima()
    if not minima:
        raise SetupError(f"{db.path}: no minima recorded")
    lowest: dict[str, float] = {}
    for r in minima:
        lowest[r.formula_e] = min(lowest.get(r.formula_e, np.inf), r.e_per_atom)

    def frame(row, kind: str) -> Atoms:
        atoms = row.toatoms()
        energy = float(row.energy)
        atoms.calc = None
        atoms.info.update({keys.CONFIG_TYPE: kind, keys.SOURCE: f"{db.path}:{row.id}", "ssw_energy": energy,
                           "ssw_select_seed": seed})
        return atoms

    frames = [frame(r, "ssw_minimum") for r in minima if r.e_per_atom - lowest[r.formula_e] <= window_eV_atom]
    if include_walk:
        walk = [r for r in db.walk_points()
                if r.formula_e in lowest and r.e_per_atom - lowest[r.formula_e] <= window_eV_atom]
        if max_walk_points is not None and len(walk) > max_walk_points:
            pick = np.sort(np.random.default_rng(seed).choice(len(walk), max_walk_points, replace=False))
            walk = [walk[i] for i in pick]
        frames += [frame(r, "ssw_walk") for r in walk]
    if include_holes:
        for r in db.holes():
            if r.get("contact_ratio", 0.0) >= hole_min_ratio:
                atoms = r.toatoms()
                atoms.info.update({keys.CONFIG_TYPE: "ssw_hole", keys.SOURCE: f"{db.path}:{r.id}",
                                   "contact_ratio": float(r.contact_ratio),
                                   "caught_ratio": float(r.get("caught_ratio", float("nan"))),
                                   "ssw_select_seed": seed})
                frames.append(atoms)
    return frames
