"""Diagonal supercells: to an exact atom count (most cubic-like) or an explicit repetition."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError
from lizrcl_tools.structures.frameworks import most_cubic_repeat, perpendicular_widths


MAX_ATOMS = 100_000
"""Largest supercell (atoms) built without an explicit ``max_atoms``: ~10 MB of positions, but
far beyond what the MACE pair style runs on one machine (the study used 432 atoms), so a bigger
request is almost always a typo (``--repeat 60 60 60``). Checked before anything is allocated."""


def check_size(n_atoms: int, max_atoms: int | None = MAX_ATOMS, what: str = "supercell") -> None:
    """Refuse a cell of ``n_atoms`` above ``max_atoms`` (None: no limit), before it is built."""
    if max_atoms is not None and n_atoms > max_atoms:
        raise SetupError(
            f"the {what} would hold {n_atoms:,} atoms, above the limit of {max_atoms:,}; "
            "check the size, or raise the limit with --max-atoms N"
        )


def achievable_counts(n_cell: int, near: int, how_many: int = 6) -> list[int]:
    """Atom counts reachable by integer repetition of an ``n_cell``-atom cell, nearest ``near`` first."""
    low = max(1, near // n_cell - how_many) * n_cell
    candidates = [k * n_cell for k in range(low // n_cell, low // n_cell + 2 * how_many + 1) if k > 0]
    return sorted(sorted(candidates, key=lambda n: (abs(n - near), n))[:how_many])


def make_supercell(
    atoms: Atoms,
    n_atoms: int | None = None,
    repeat: Sequence[int] | None = None,
    max_atoms: int | None = MAX_ATOMS,
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
    max_atoms : int or None
        Refuse (before allocating) a result above this many atoms (default :data:`MAX_ATOMS`;
        None: no limit).

    Returns
    -------
    ase.Atoms
        The supercell; ``info`` is kept and ``info["repeat"]`` records the repetition.

    Raises
    ------
    SetupError
        Neither or both of ``n_atoms``/``repeat`` given, a non-positive repetition, an atom
        count that is not a multiple of ``len(atoms)`` (the message lists reachable counts),
        or a result above ``max_atoms``.
    """
    if (n_atoms is None) == (repeat is None):
        raise SetupError("give exactly one of n_atoms or repeat for a supercell")
    n_cell = len(atoms)
    if repeat is not None:
        rep = tuple(int(r) for r in repeat)
        if len(rep) != 3 or min(rep) < 1:
            raise SetupError(f"repeat must be three positive integers, got {tuple(repeat)}")
        check_size(n_cell * int(np.prod(rep)), max_atoms)
    else:
        assert n_atoms is not None
        if n_atoms < 1:
            raise SetupError(f"a supercell needs a positive atom count, got {n_atoms}")
        check_size(int(n_atoms), max_atoms)
        if n_atoms % n_cell:
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
