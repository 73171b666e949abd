"""Merge the minima databases of several walkers (one database per walker) into one.

Walkers on one workstation can share a database (file lock), or each write its own and be
merged afterwards, e.g. one walker per core with ``--db walker_N.db`` and then
``lizrcl minima all.db --merge walker_*.db``. Merging uses the same duplicate test as a
shared database (:meth:`~lizrcl_tools.ssw.database.MinimaDB.add_minimum`: energy per atom
within ``energy_tol`` and fingerprint cosine distance below ``fp_tol``), and every visit keeps
its ``(seed, step)`` key, so the merged database is the one the walkers would have written
together, and merging the same file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lizrcl_tools.errors import SetupError
from lizrcl_tools.ssw.database import MinimaDB


@dataclass(frozen=True)
class MergeReport:
    """What one merge did.

    Attributes
    ----------
    sources : int
        Databases read.
    minima_read : int
        Minimum rows read from the sources.
    new_minima : int
        Minima that were not in the target before.
    walk_points : int
        Walk points copied (a step's points are copied only if that (seed, step) has none yet).
    holes : int
        Hole structures copied (likewise once per (seed, step)).
    """

    sources: int
    minima_read: int
    new_minima: int
    walk_points: int
    holes: int = 0


def merge_minima(target: MinimaDB, sources: Iterable[MinimaDB]) -> MergeReport:
    """Add every minimum (with all its visits), walk point and hole of ``sources`` to ``target``.

    Parameters
    ----------
    target : MinimaDB
        Database written into (created if absent).
    sources : iterable of MinimaDB
        Walker databases; read only. The target itself is refused as a source.

    Returns
    -------
    MergeReport
    """
    n_src = n_read = n_new = n_walk = n_holes = 0
    for src in sources:
        if src.path.resolve() == target.path.resolve():
            raise SetupError(f"{src.path}: cannot merge a database into itself")
        n_src += 1
        for row in src.minima():
            n_read += 1
            keys = np.asarray(row.data.get("visit_keys", [[row.seed, row.found_step]]), dtype=int).reshape(-1, 2)
            atoms = row.toatoms()
            energy = float(row.energy)  # whole cell, eV (stored with the minimum)
            # A minimum that is new to the target counts once, however many visits it brings.
            new = False
            for seed, step in keys.tolist():
                rec = target.add_minimum(atoms, energy, seed=seed, step=step, potential=row.get("potential", ""),
                                         converged=bool(row.get("converged", True)))
                new = new or rec.new
            n_new += new
        present = {(int(r.seed), int(r.step)) for r in target.walk_points()} if target.path.exists() else set()
        groups: dict[tuple[int, int], list] = {}
        for row in src.walk_points():
            groups.setdefault((int(row.seed), int(row.step)), []).append(row)
        for (seed, step), rows in sorted(groups.items()):
            if (seed, step) in present:
                continue
            rows.sort(key=lambda r: r.point)
            frames = [(r.toatoms(), float(r.energy)) for r in rows]
            target.add_walk_points(frames, seed=seed, step=step)
            n_walk += len(frames)
        for row in src.holes():
            n_holes += target.add_hole(row.toatoms(), seed=int(row.seed), step=int(row.step),
                                       potential=row.get("potential", ""),
                                       contact_ratio=float(row.get("contact_ratio", float("nan"))),
                                       caught_ratio=float(row.get("caught_ratio", float("nan"))))
    return MergeReport(n_src, n_read, n_new, n_walk, n_holes)
