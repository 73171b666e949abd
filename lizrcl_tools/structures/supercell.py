"""Diagonal supercells: to an exact atom count (most cubic-like) or an explicit repetition."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError
from lizrcl_tools.structures.frameworks import most_cubic_repeat, perpendicular_widths


def achievable_counts(n_cell: int, near: int, how_many: int = 6) -> list[int]:
    """Atom counts reachable by integer repetition of an ``n_cell``-atom cell, nearest ``near`` first."""
    low = max(1, near // n_cell - how_many) * n_cell
    candidates = [k * n_cell for k in range(low // n_cell, low // n_cell + 2 * how_many + 1) if k > 0]
    return sorted(sorted(candidates, key=lambda n: (abs(n - near), n))[:how_many])


def make_supercell(
    atoms: Atoms,
    n_atoms: int | None = None,
    repeat: Sequence[int] | None = None,
) -> Atoms:
    """Repeat ``atoms`` along its cell vectors, by an atom count or by an explicit repetition.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic cell to repeat.
    n_atoms : int, optional
        Exact atom count of the result. Among the diagonal repetitions (i, j, k) with
        i·j·k·len(atoms) = n_atoms the most cubic-like is chosen: the one whose smallest
        distance between opposite cell faces (Å) is largest. E.g. the 27-atom trigonal
        Li2ZrCl6 cell gives 2 × 2 × 4 for the study's 432-atom cell (48 Li2ZrCl6 units).
    repeat : sequence of 3 int, optional
        Explicit repetition (a, b, c); exclusive with ``n_atoms``.

    Returns
    -------
    ase.Atoms
        The supercell; ``info`` is kept and ``info["repeat"]`` records the repetition.

    Raises
    ------
    SetupError
        Neither or both of ``n_atoms``/``repeat`` given, a non-positive repetition, or an atom
        count that is not a multiple of ``len(atoms)`` (the message lists reachable counts).
    """
    if (n_atoms is None) == (repeat is None):
        raise SetupError("give exactly one of n_atoms or repeat for a supercell")
    n_cell = len(atoms)
    if repeat is not None:
        rep = tuple(int(r) for r in repeat)
        if len(rep) != 3 or min(rep) < 1:
            raise SetupError(f"repeat must be three positive integers, got {tuple(repeat)}")
    else:
        assert n_atoms is not None
        if n_atoms < 1 or n_atoms % n_cell:
            near = ", ".join(str(n) for n in achievable_counts(n_cell, max(int(n_atoms), 1)))
            raise SetupError(
                f"{n_atoms} atoms is not a whole number of {n_cell}-atom cells "
                f"({atoms.get_chemical_formula(mode='metal')}); achievable counts near it: {near}"
            )
        rep = most_cubic_repeat(np.asarray(atoms.cell), n_atoms // n_cell)
    out = atoms.repeat(rep)
    out.info = dict(atoms.info)
    out.info["repeat"] = f"{rep[0]} {rep[1]} {rep[2]}"
    out.info["min_image_width_A"] = float(perpendicular_widths(np.asarray(out.cell)).min())
    return out
