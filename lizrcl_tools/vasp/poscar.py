"""One structure frame made ready for VASP: element order, cell handedness, POSCAR text.

What :func:`prepare_atoms` changes it says (flags), so the folder writer can report it:
atoms stably sorted into Li, Zr, Cl order (other elements after, by first appearance), a
left-handed cell's first two vectors swapped (Cartesian positions unchanged), velocities
dropped. Positions in Å.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from lizrcl_tools.errors import SetupError
from lizrcl_tools.keys import ELEMENTS


def element_rank(symbols: Sequence[str]) -> np.ndarray:
    """Rank of each symbol: Li, Zr, Cl first (0, 1, 2), other elements after by first appearance."""
    extra: dict[str, int] = {}
    ranks = []
    for sym in symbols:
        if sym in ELEMENTS:
            ranks.append(ELEMENTS.index(sym))
        else:
            ranks.append(extra.setdefault(sym, len(ELEMENTS) + len(extra)))
    return np.asarray(ranks)


def prepare_atoms(atoms: Any, where: str) -> tuple[Any, bool, bool, bool]:
    """Return a copy of ``atoms`` ready for POSCAR, and what was changed.

    Returns
    -------
    atoms : ase.Atoms
        Stably sorted by element rank (Li, Zr, Cl, others by first appearance), right-handed
        cell, no momenta.
    reordered, cell_swapped, dropped_velocities : bool
    """
    if atoms.cell.rank < 3:
        raise SetupError(f"{where}: no 3-D cell (VASP needs a periodic cell)")
    ranks = element_rank(atoms.get_chemical_symbols())
    reordered = bool(np.any(np.diff(ranks) < 0))
    out = atoms[np.argsort(ranks, kind="stable")] if reordered else atoms.copy()
    cell_swapped = bool(np.linalg.det(out.cell.array) < 0)
    if cell_swapped:
        # Swapping two vectors flips the handedness and keeps every Cartesian position; pymatgen
        # instead negates the lattice, which inverts the structure.
        out.set_cell(out.cell.array[[1, 0, 2]], scale_atoms=False)
    dropped = "momenta" in out.arrays
    if dropped:
        del out.arrays["momenta"]
    out.calc = None
    return out, reordered, cell_swapped, dropped


def poscar_text(atoms: Any, where: str) -> str:
    """POSCAR (VASP 5, direct coordinates, 16 decimals, selective dynamics from FixAtoms)."""
    from ase.io.vasp import write_vasp

    buffer = io.StringIO()
    try:
        write_vasp(buffer, atoms, direct=True, vasp5=True)
    except (RuntimeError, ValueError, NotImplementedError) as exc:
        raise SetupError(f"{where}: cannot write POSCAR: {exc}") from exc
    return buffer.getvalue()


def element_blocks(symbols: Sequence[str]) -> tuple[str, ...]:
    """Element blocks in POSCAR order (one per element after sorting)."""
    out: list[str] = []
    for sym in symbols:
        if not out or out[-1] != sym:
            out.append(sym)
    return tuple(out)
