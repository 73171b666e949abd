"""Physical sanity checks shared by every structure builder and by the tests.

- :func:`space_group`: spglib's international symbol and number at a stated tolerance.
- :func:`min_pair_distances` / :func:`check_distances`: shortest distance per element pair,
  with periodic images, against :data:`MIN_DISTANCE`.
- :func:`total_charge`: sum of formal charges (``keys.OXIDATION_STATES``).
- :func:`check_input_structure` (:func:`check_finite`, :func:`check_min_distance`): boundary
  checks on structures read from users, with the per-pair default
  :data:`MIN_DISTANCE_FACTOR` × covalent radii and :func:`parse_min_distance` for
  ``--min-distance``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

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


# --- Input validation (files read from users, importers, MD inputs) -------------------------

MIN_DISTANCE_FACTOR = 0.5
"""Default input check: two atoms closer than this fraction of the sum of their covalent radii
(``ase.data.covalent_radii``, Cordero et al. 2008) are rejected. For Li–Zr–Cl this gives
Li–Li 1.28, Li–Zr 1.52, Li–Cl 1.15, Zr–Zr 1.75, Zr–Cl 1.39, Cl–Cl 1.02 Å: about half of any
real contact, so hot MD frames pass while overlapping atoms (a typo in a coordinate, a site
listed twice) do not. The built-cell table :data:`MIN_DISTANCE` is much stricter on purpose."""

def _pair_key(key: str | frozenset[str]) -> frozenset[str]:
    """``"Li-Cl"`` / ``"Cl-Li"`` / ``frozenset({"Li", "Cl"})`` → ``frozenset({"Li", "Cl"})``."""
    if isinstance(key, frozenset):
        return key
    parts = str(key).replace("–", "-").split("-")
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise SetupError(f"minimum-distance pair {key!r} is not of the form A-B (e.g. Li-Cl)")
    return frozenset(p.strip() for p in parts)


def _pair_name(pair: frozenset[str]) -> str:
    order = {s: k for k, s in enumerate(keys.ELEMENTS)}
    names = sorted(pair, key=lambda s: (order.get(s, len(order)), s))
    return f"{names[0]}–{names[-1]}"


def input_min_distances(
    symbols: Sequence[str], min_distance: Any = None
) -> dict[frozenset[str], float]:
    """Smallest accepted distance (Å) for every element pair among ``symbols``.

    Parameters
    ----------
    symbols : sequence of str
        Element symbols present.
    min_distance : float or mapping, optional
        None: :data:`MIN_DISTANCE_FACTOR` × sum of covalent radii for every pair. A number:
        that distance (Å) for every pair (0 turns the check off). A mapping ``{"Li-Cl": 1.0}``
        (keys ``"A-B"`` or frozensets; key ``"*"`` for all pairs): the default with those pairs
        replaced.
    """
    from ase.data import atomic_numbers, covalent_radii

    present = sorted(set(symbols))
    for s in present:
        if s not in atomic_numbers:
            raise SetupError(f"unknown element symbol {s!r}")
    table = {
        frozenset({a, b}): MIN_DISTANCE_FACTOR
        * float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])
        for a, b in itertools.combinations_with_replacement(present, 2)
    }
    if min_distance is None:
        return table
    if isinstance(min_distance, Mapping):
        overrides = dict(min_distance)
        if "*" in overrides:
            table = dict.fromkeys(table, float(overrides.pop("*")))
        for key, value in overrides.items():
            pair = _pair_key(key)
            if pair in table:  # pairs of elements absent from this structure are irrelevant
                table[pair] = float(value)
        return table
    return dict.fromkeys(table, float(min_distance))


def parse_min_distance(values: Sequence[str] | None) -> float | dict[str, float] | None:
    """Turn ``--min-distance`` arguments into the ``min_distance`` of :func:`check_input_structure`.

    ``["0.8"]`` → 0.8 Å for every pair; ``["Li-Cl=1.0", "Zr-Cl=1.2"]`` → those pairs changed,
    the rest at the default; ``["0"]`` → check off; None or ``[]`` → default.
    """
    if not values:
        return None
    out: dict[str, float] = {}
    for text in values:
        key, sep, value = str(text).partition("=")
        if not sep:
            key, value = "*", key
        try:
            number = float(value)
        except ValueError:
            raise SetupError(
                f"--min-distance {text!r}: expected a distance in Å (e.g. 0.8) or PAIR=Å "
                "(e.g. Li-Cl=1.0)"
            ) from None
        if not np.isfinite(number) or number < 0:
            raise SetupError(f"--min-distance {text!r}: the distance must be a finite number ≥ 0 Å")
        if key != "*":
            _pair_key(key)
        out[key.strip()] = number
    if list(out) == ["*"]:
        return out["*"]
    return out


def _fail(message: str, where: str, path: Any = None, line: int | None = None) -> None:
    from lizrcl_tools.errors import ParseError

    if path is not None:
        raise ParseError(path, f"{where}: {message}" if where else message, line)
    raise SetupError(f"{where}: {message}" if where else message)


def check_finite(
    atoms: Atoms, where: str = "structure", path: Any = None, line: int | None = None
) -> None:
    """Refuse non-finite positions or cell, and a periodic cell with zero or negative volume.

    Raises :class:`ParseError` (when ``path`` is given) or :class:`SetupError`, naming ``where``.
    """
    pos = np.asarray(atoms.positions, dtype=float)
    bad = np.flatnonzero(~np.isfinite(pos).all(axis=1))
    if bad.size:
        k = int(bad[0])
        _fail(
            f"atom #{k + 1} ({atoms[k].symbol}) has a non-finite position {pos[k].tolist()} "
            f"({bad.size} atom(s) affected); expected finite coordinates in Å",
            where,
            path,
            line,
        )
    cell = np.asarray(atoms.cell, dtype=float)
    if not np.isfinite(cell).all():
        _fail(f"the cell has non-finite entries {cell.tolist()}", where, path, line)
    if atoms.pbc.any():
        volume = abs(float(np.linalg.det(cell))) if atoms.pbc.all() else None
        if volume is not None and volume < 1e-6:
            _fail(
                f"the periodic cell has zero volume ({cell.tolist()}); expected three "
                "independent lattice vectors in Å",
                where,
                path,
                line,
            )


def _close_pairs(atoms: Atoms, cutoff: float):
    """All pairs closer than ``cutoff`` (Å): i, j, distance, integer image shift of j.

    pymatgen's compiled search is ~10× faster than ASE's neighbour list at cut-offs this short
    (measured 14 vs 169 ms for 432 atoms), which matters when a 34,648-frame set is imported.
    """
    if atoms.pbc.all():
        from pymatgen.optimization.neighbors import find_points_in_spheres

        pos = np.ascontiguousarray(atoms.positions, dtype=float)
        cell = np.ascontiguousarray(atoms.cell[:], dtype=float)
        i, j, shift, d = find_points_in_spheres(
            pos, pos, float(cutoff), np.ones(3, dtype=np.int64), cell, 1e-8
        )
        shift = np.rint(shift).astype(int)
        real = (i != j) | shift.any(axis=1)  # the search also returns each atom itself
        return i[real], j[real], d[real], shift[real]
    return neighbor_list("ijdS", atoms, cutoff)


def contact_ratio(atoms: Atoms) -> float:
    """Closest contact relative to its floor: min over element pairs of shortest distance / the
    default per-pair minimum (:data:`MIN_DISTANCE_FACTOR` × covalent radii); below 1 the
    structure fails :func:`check_min_distance` (inf when no pair is within 4 Å)."""
    table = input_min_distances(atoms.get_chemical_symbols())
    return min((d / table[pair] for pair, d in min_pair_distances(atoms).items() if table.get(pair, 0) > 0),
               default=float("inf"))


def check_min_distance(
    atoms: Atoms,
    where: str = "structure",
    min_distance: Any = None,
    path: Any = None,
    line: int | None = None,
    remedy: str | None = None,
) -> None:
    """Refuse two atoms closer than the per-pair minimum (periodic images included).

    Parameters
    ----------
    atoms : ase.Atoms
        Structure to check.
    where : str
        What the structure is (file and frame), put in the message.
    min_distance : float or mapping, optional
        See :func:`input_min_distances` (default :data:`MIN_DISTANCE_FACTOR` × covalent radii).
    path : str or PathLike, optional
        File the structure came from: the error is then a :class:`ParseError` naming it
        (and ``line``, where the structure starts, if given).
    remedy : str, optional
        What the reader can do, ending the message (default: how to lower the limit with
        ``--min-distance``, the input files' option).

    Raises
    ------
    ParseError or SetupError
        Naming the two atoms (1-based, file order), the pair, the distance and the limit.
    """
    if len(atoms) < 1:
        return
    symbols = np.array(atoms.get_chemical_symbols())
    table = input_min_distances(symbols, min_distance)
    cutoff = max(table.values(), default=0.0)
    if cutoff <= 0:
        return
    i, j, d, shift = _close_pairs(atoms, cutoff)
    # Each pair once; an atom and its own image across a short cell once (shift and -shift).
    lead = shift[np.arange(len(shift)), np.argmax(shift != 0, axis=1)] if len(shift) else np.zeros(0)
    sign = np.sign(lead)
    keep = (i < j) | ((i == j) & (sign > 0))
    i, j, d = i[keep], j[keep], d[keep]
    limits = np.array([table[frozenset({symbols[a], symbols[b]})] for a, b in zip(i, j)])
    too_close = np.flatnonzero(d < limits) if d.size else np.array([], dtype=int)
    if too_close.size == 0:
        return
    k = int(too_close[np.argmin(d[too_close] / limits[too_close])])
    a, b = int(i[k]), int(j[k])
    pair = frozenset({symbols[a], symbols[b]})
    how = (
        f"{MIN_DISTANCE_FACTOR} × sum of covalent radii"
        if min_distance is None
        else "as set"
    )
    what = (
        f"atom #{a + 1} ({symbols[a]}) is {d[k]:.3f} Å from its own periodic image"
        if a == b
        else f"atoms #{a + 1} ({symbols[a]}) and #{b + 1} ({symbols[b]}) are {d[k]:.3f} Å apart"
    )
    if remedy is None:
        remedy = (f"If this is intended, lower the limit for the pair: --min-distance "
                  f"{_pair_name(pair).replace('–', '-')}=X (min_distance={{'"
                  f"{_pair_name(pair).replace('–', '-')}': X}} in Python; 0 switches the check off)")
    _fail(
        f"{what} (1-based, file order); the minimum for {_pair_name(pair)} is "
        f"{table[pair]:.2f} Å ({how}); {too_close.size} pair(s) too close. {remedy}",
        where,
        path,
        line,
    )


def check_input_structure(
    atoms: Atoms,
    where: str = "structure",
    min_distance: Any = None,
    path: Any = None,
    line: int | None = None,
) -> None:
    """All boundary checks on a structure read from a user: finite numbers, a real cell,
    no atoms closer than the per-pair minimum (:func:`check_min_distance`).

    Occupancy is checked by the file reader (``fileio.iter_structures``), which sees the CIF sites.
    """
    check_finite(atoms, where, path, line)
    check_min_distance(atoms, where, min_distance, path, line)


def check_cell_vs_cutoff(
    atoms: Atoms, cutoff: float, small_cell_ok: bool, what: str = "the potential"
) -> None:
    """Refuse a periodic cell thinner than twice ``cutoff`` (Å) where the potential cannot use one.

    Below 2 × cutoff an atom interacts with more than one image of a neighbour. LAMMPS pair
    styles (ghost atoms) and ASE neighbour lists handle that correctly, so callers pass
    ``small_cell_ok=True`` for them; a potential that keeps one image per pair must pass False.

    Raises
    ------
    SetupError
        Naming the thinnest perpendicular width, the cutoff and the supercell that would do.
    """
    from lizrcl_tools.structures.frameworks import perpendicular_widths

    if small_cell_ok or not atoms.pbc.any():
        return
    widths = perpendicular_widths(np.asarray(atoms.cell))
    if widths.min() < 2 * cutoff:
        need = np.ceil(2 * cutoff / widths).astype(int)
        raise SetupError(
            f"the cell is {widths.min():.2f} Å thick (perpendicular widths "
            f"{', '.join(f'{w:.2f}' for w in widths)} Å), below twice the {cutoff} Å cutoff of "
            f"{what}, which does not handle several images of one atom; use a supercell of at "
            f"least {need[0]} × {need[1]} × {need[2]}"
        )

