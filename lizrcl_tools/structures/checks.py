"""Physical sanity checks shared by every structure builder and by the tests.

- :func:`space_group`: spglib's international symbol and number at a stated tolerance.
- :func:`min_pair_distances` / :func:`check_distances`: shortest distance per element pair,
  with periodic images, against :data:`MIN_DISTANCE`.
- :func:`total_charge`: sum of formal charges (``keys.OXIDATION_STATES``).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from lizrcl_tools import keys
from lizrcl_tools.errors import SetupError

SYMPREC = 1e-3
"""spglib distance tolerance, Å, used to report and test space groups of built cells."""

MIN_DISTANCE: dict[frozenset[str], float] = {
    # Cation–anion: the shortest real bond is terminal Zr–Cl, 2.31 Å (Krebs 1970); Li–Cl in
    # LiCl is 2.56 Å. Ideal close-packed holes give d/√2 ≈ 2.58 Å.
    frozenset({"Zr", "Cl"}): 2.2,
    frozenset({"Li", "Cl"}): 2.2,
    # Anion–anion: shared octahedron edges shrink to ≈ 3.3 Å in ZrCl4.
    frozenset({"Cl"}): 3.0,
    # Cation–cation: face-sharing holes of an ideal hcp framework are h = 0.816·d ≈ 2.98 Å
    # apart; Zr⁴⁺ must never sit that close to another Zr⁴⁺ (edge sharing gives d ≈ 3.65 Å).
    frozenset({"Li"}): 2.5,
    frozenset({"Li", "Zr"}): 2.8,
    frozenset({"Zr"}): 3.3,
}
"""Smallest physically acceptable distance (Å) for each element pair in a built cell."""


def space_group(atoms: Atoms, symprec: float = SYMPREC) -> tuple[str, int]:
    """International symbol and number of the space group of ``atoms`` (spglib, ``symprec`` in Å)."""
    import spglib

    cell = (np.asarray(atoms.cell), atoms.get_scaled_positions(), atoms.numbers)
    with warnings.catch_warnings():
        # spglib 2.x warns about its legacy error handling on every call; not our concern.
        warnings.simplefilter("ignore", DeprecationWarning)
        dataset = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if dataset is None:
        return "unknown", 0
    symbol = dataset.international if hasattr(dataset, "international") else dataset["international"]
    number = dataset.number if hasattr(dataset, "number") else dataset["number"]
    return str(symbol), int(number)


def min_pair_distances(atoms: Atoms, cutoff: float = 4.0) -> dict[frozenset[str], float]:
    """Shortest distance (Å, periodic images included) for each element pair present.

    Pairs with no contact inside ``cutoff`` are reported as ``inf``.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    i, j, d = neighbor_list("ijd", atoms, cutoff)
    present = sorted(set(symbols))
    out: dict[frozenset[str], float] = {}
    for a, b in itertools.combinations_with_replacement(present, 2):
        mask = ((symbols[i] == a) & (symbols[j] == b)) | ((symbols[i] == b) & (symbols[j] == a))
        out[frozenset({a, b})] = float(d[mask].min()) if mask.any() else float("inf")
    return out


def check_distances(atoms: Atoms, where: str = "structure") -> None:
    """Raise :class:`SetupError` naming the pair if any distance is below :data:`MIN_DISTANCE`."""
    for pair, dmin in min_pair_distances(atoms).items():
        limit = MIN_DISTANCE.get(pair)
        if limit is not None and dmin < limit:
            names = "–".join(sorted(pair)) if len(pair) == 2 else f"{next(iter(pair))}–{next(iter(pair))}"
            raise SetupError(f"{where}: {names} distance {dmin:.3f} Å is below the minimum {limit} Å")


def total_charge(atoms: Atoms) -> int:
    """Sum of formal oxidation states (``keys.OXIDATION_STATES``) over all atoms, in e."""
    try:
        return int(sum(keys.OXIDATION_STATES[s] for s in atoms.get_chemical_symbols()))
    except KeyError as exc:
        raise SetupError(f"element {exc.args[0]} is outside the Li–Zr–Cl system") from None


def sort_by_element(atoms: Atoms) -> Atoms:
    """Return a copy ordered Li, Zr, Cl (``keys.ELEMENTS``), stable within each element.

    Sorted cells give one species block per element in POSCAR files.
    """
    order = {s: k for k, s in enumerate(keys.ELEMENTS)}
    symbols = atoms.get_chemical_symbols()
    idx = sorted(range(len(atoms)), key=lambda k: (order.get(symbols[k], len(order)), k))
    out = atoms[idx]
    out.info = dict(atoms.info)
    return out


def describe(atoms: Atoms, symprec: float = SYMPREC) -> str:
    """Multi-line human summary: formula, count, cell lengths (Å) and angles (°), space group, sites."""
    a, b, c, alpha, beta, gamma = atoms.cell.cellpar()
    symbol, number = space_group(atoms, symprec)
    lines = [
        f"formula        {atoms.get_chemical_formula(mode='metal')}",
        f"atoms          {len(atoms)}",
        f"cell (Å)       a={a:.4f} b={b:.4f} c={c:.4f}",
        f"angles (°)     alpha={alpha:.3f} beta={beta:.3f} gamma={gamma:.3f}",
        f"volume (Å^3)   {atoms.get_volume():.3f}",
        f"space group    {symbol} ({number}), spglib symprec={symprec} Å",
    ]
    arrangement = atoms.info.get("site_arrangement")
    if arrangement:
        lines.append(f"sites          {arrangement}")
    if atoms.info.get("seed") is not None:
        lines.append(f"seed           {atoms.info['seed']}")
    return "\n".join(lines)


def closest_pair_below(atoms: Atoms, fraction: float) -> tuple[int, int, float, float] | None:
    """The shortest contact closer than ``fraction`` × (sum of covalent radii), or None.

    A generic overlap test for structures of any chemistry (e.g. before writing DFT inputs),
    unlike :func:`check_distances`, whose limits are tuned for built Li–Zr–Cl cells. Radii are
    ASE's covalent radii (Cordero et al. 2008), Å.

    Returns
    -------
    (i, j, d, limit) or None
        Atom indices, their distance (Å, periodic images included) and the limit (Å) it breaks;
        the pair with the largest shortfall ``limit - d``.
    """
    from ase.data import covalent_radii

    if fraction <= 0 or len(atoms) == 0:
        return None
    radii = covalent_radii[atoms.numbers]
    cutoff = 2.0 * fraction * float(radii.max()) + 1e-6
    i, j, d = neighbor_list("ijd", atoms, cutoff, self_interaction=False)
    if len(d) == 0:
        return None
    limit = fraction * (radii[i] + radii[j])
    shortfall = limit - d
    k = int(np.argmax(shortfall))
    if shortfall[k] <= 0:
        return None
    return int(i[k]), int(j[k]), float(d[k]), float(limit[k])
