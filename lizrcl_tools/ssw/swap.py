"""The swap move of an SSW walk: two atoms of different elements exchange places, then the quench.

Why a third move: in an ionic solid quenched from a random start most of the excess energy sits
in chemical disorder (cations touching cations, anions touching anions), and neither a Gaussian
climb nor a random kick exchanges two species: that takes a long concerted rearrangement
the quench never finds. An exchange is one move and costs only the quench that follows it. The
same move undoes Li/Zr antisite mixing in Li2ZrCl6.

Which atoms: with ``swap_bias`` the first atom is drawn with weight ``1 + (like neighbours)``
(neighbours of the same element within 1.2 × the atom's nearest distance), the partner likewise
among the atoms of an allowed other element, so atoms in the wrong environment move first;
without it, uniformly. Allowed pairs: ``swap_pairs`` (e.g. ``("Li-Zr",)``), default every pair of
different elements. With ``swap_candidates`` k > 1, k such exchanges are drawn, each costs one
single point, and the lowest in energy goes to the quench (most random exchanges in a crystal put
an ion among its own kind; a single point sees that before a quench is spent on it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential.lammps_engine import LammpsEngine
from lizrcl_tools.ssw.climb import ClimbResult
from lizrcl_tools.ssw.parameters import SSWParameters

SHELL_FACTOR = 1.2
"""Neighbours of an atom: within this factor of its nearest distance (first coordination shell)."""


def allowed_pairs(symbols: Sequence[str], pairs: Sequence[str]) -> set[frozenset[str]]:
    """The element pairs a swap may exchange: ``pairs`` ("A-B") or, when empty, all unlike pairs.

    Raises
    ------
    SetupError
        A pair names an element not in the structure, or the same element twice, or no pair is
        possible (one element only).
    """
    present = sorted(set(symbols))
    if not pairs:
        out = {frozenset((a, b)) for i, a in enumerate(present) for b in present[i + 1:]}
    else:
        out = set()
        for text in pairs:
            parts = text.split("-")
            if len(parts) != 2 or parts[0] == parts[1] or not set(parts) <= set(present):
                raise SetupError(f"swap pair {text!r}: expected two different elements of this structure "
                                 f"({', '.join(present)}) written A-B, e.g. Li-Zr")
            out.add(frozenset(parts))
    if not out:
        raise SetupError(f"swap moves need two elements; the structure has only {', '.join(present)}")
    return out


def like_neighbours(symbols: Sequence[str], cell: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Per atom: how many atoms of its own element lie in its first shell, periodic images included.

    The shell of atom i holds every atom (and every periodic image, the atom's own included)
    within ``SHELL_FACTOR`` × i's nearest distance. Counting images matters in small cells: in a
    2 × 2 × 2 CsCl cell the two like neighbours along an axis are the same atom, seen twice.

    Parameters
    ----------
    symbols : sequence of str
        Element of each atom.
    cell : ndarray
        Cell rows, Å (periodic in all three directions).
    pos : ndarray
        Positions (N, 3), Å.

    Returns
    -------
    ndarray of int
        Like neighbours per atom.
    """
    atoms = Atoms(symbols, positions=pos, cell=cell, pbc=True)
    n = len(atoms)
    # A cutoff that surely holds every atom's nearest neighbour: grown until it does.
    cutoff = 1.5 * (atoms.get_volume() / n) ** (1.0 / 3.0)
    while True:
        i, j, d = neighbor_list("ijd", atoms, cutoff)
        nearest = np.full(n, np.inf)
        np.minimum.at(nearest, i, d)
        if np.isfinite(nearest).all() and SHELL_FACTOR * nearest.max() <= cutoff:
            break
        cutoff *= 1.5
    sym = np.asarray(symbols)
    in_shell = (d <= SHELL_FACTOR * nearest[i]) & (sym[i] == sym[j])
    return np.bincount(i[in_shell], minlength=n)


def swap(engine: LammpsEngine, params: SSWParameters, rng: np.random.Generator, symbols: Sequence[str],
         cell: np.ndarray, pos: np.ndarray) -> ClimbResult:
    """Exchange the positions of two atoms of an allowed pair of elements (phase ``swap``).

    The cell is unchanged; the quench follows in the walker. Force calls: none for one
    candidate, ``swap_candidates`` single points otherwise. See the module docstring for how
    the two atoms are drawn.
    """
    sym = np.asarray(symbols)
    pairs = allowed_pairs(symbols, params.swap_pairs)
    with engine.phase("swap"):
        weights = (1.0 + like_neighbours(symbols, cell, pos)) if params.swap_bias else np.ones(len(pos))
        partners = {e: np.isin(sym, [x for p in pairs if e in p for x in p if x != e]) for e in set(sym)}
        first = weights * np.array([partners[e].any() for e in sym])
        best, best_energy = None, np.inf
        for _ in range(params.swap_candidates):
            a = int(rng.choice(len(pos), p=first / first.sum()))
            second = weights * partners[sym[a]]
            b = int(rng.choice(len(pos), p=second / second.sum()))
            moved = pos.copy()
            moved[[a, b]] = pos[[b, a]]
            if params.swap_candidates == 1:
                return ClimbResult(cell.copy(), moved, [], 0)
            energy = engine.evaluate(cell, moved).energy
            if energy < best_energy:
                best, best_energy = moved, energy
    return ClimbResult(cell.copy(), best, [], 0)
