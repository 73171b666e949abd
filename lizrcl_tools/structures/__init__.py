"""Li–Zr–Cl structures: named crystals, (LiCl)1−x(ZrCl4)x mixtures, supercells, output.

Public API (stable: MD, training and SSW code call exactly these)::

    build(name, seed=None, n_atoms=None, repeat=None, **builder_kw) -> Atoms
    available_builders() -> list[str]
    mix(x, n_atoms, seed, framework="hcp") -> Atoms
    make_supercell(atoms, n_atoms=None, repeat=None) -> Atoms
    write_structure(atoms, path, format=None) -> Path

Every returned cell is sorted Li, Zr, Cl, is charge neutral with Li⁺, Zr⁴⁺, Cl⁻, passes the
minimum-distance table :data:`MIN_DISTANCE` and records its provenance in ``atoms.info``
(builder, reference, site_arrangement, seed where one was used).

Example
-------
>>> from lizrcl_tools.structures import build
>>> cell = build("li2zrcl6-p3m1", n_atoms=432)   # the study's 48-formula-unit cell
>>> len(cell), cell.info["repeat"]
(432, '2 2 4')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from lizrcl_tools import keys
from lizrcl_tools.errors import SetupError
from lizrcl_tools.structures.checks import (
    MIN_DISTANCE,
    SYMPREC,
    check_distances,
    describe,
    min_pair_distances,
    sort_by_element,
    space_group,
    total_charge,
)
from lizrcl_tools.structures.mixing import composition, mix
from lizrcl_tools.structures.prototypes import BUILDERS, LI_SITE, VACANCY
from lizrcl_tools.structures.supercell import MAX_ATOMS, achievable_counts, check_size, make_supercell

__all__ = [
    "BUILDERS",
    "MAX_ATOMS",
    "MIN_DISTANCE",
    "SYMPREC",
    "available_builders",
    "achievable_counts",
    "build",
    "check_distances",
    "composition",
    "describe",
    "make_supercell",
    "min_pair_distances",
    "mix",
    "space_group",
    "total_charge",
    "write_structure",
]


def available_builders() -> list[str]:
    """Names accepted by :func:`build`, sorted (``mix`` is separate: it needs x and N)."""
    return sorted(BUILDERS)


def build(
    name: str,
    seed: int | None = None,
    n_atoms: int | None = None,
    repeat: Sequence[int] | None = None,
    max_atoms: int | None = MAX_ATOMS,
    **builder_kw: Any,
) -> Atoms:
    """Build a named crystal, optionally as a supercell and with a random Li arrangement.

    Parameters
    ----------
    name : str
        A key of :data:`BUILDERS` (see :func:`available_builders`).
    seed : int, optional
        For the Li2ZrCl6 builders: redistribute Li at random over all Li sites of the final
        (super)cell, including the sites the ordered cell leaves empty (see each builder's
        docstring). Without a seed the deterministic ordered arrangement is returned. A seed
        for a cell with no Li vacancies (licl, zrcl4) is refused.
    n_atoms, repeat :
        Optional supercell, as in :func:`make_supercell` (one of the two).
    max_atoms : int or None
        Refuse, before building, a cell above this many atoms (default :data:`MAX_ATOMS`).
    **builder_kw
        Passed to the builder (e.g. ``a`` for licl, ``d`` = Cl–Cl in Å for Li2ZrCl6).

    Returns
    -------
    ase.Atoms
        Sorted Li, Zr, Cl, with provenance in ``info``.

    Raises
    ------
    SetupError
        Unknown name (the message lists the known ones), bad supercell request, or a seed
        for a builder without partially occupied sites.
    """
    try:
        builder = BUILDERS[name]
    except KeyError:
        raise SetupError(
            f"unknown structure {name!r}; available: {', '.join(available_builders())} "
            "(and 'mix' for (LiCl)1-x(ZrCl4)x cells)"
        ) from None
    if n_atoms is not None:
        if int(n_atoms) < 1:
            raise SetupError(f"a supercell needs a positive atom count (--supercell N), got {n_atoms}")
        check_size(int(n_atoms), max_atoms)
    atoms = builder(**builder_kw)
    if n_atoms is not None or repeat is not None:
        n_cell = int(np.sum(atoms.numbers != 0))
        if n_atoms is not None and n_atoms % n_cell:
            near = ", ".join(str(n) for n in achievable_counts(n_cell, n_atoms))
            raise SetupError(
                f"{n_atoms} atoms is not a whole number of {n_cell}-atom {name} cells; "
                f"achievable counts near it: {near}"
            )
        # The placeholder sites travel with the cell; count only real atoms.
        target = None if n_atoms is None else n_atoms // n_cell * len(atoms)
        # The limit counts real atoms; placeholders make the intermediate cell larger.
        limit = None if max_atoms is None else max_atoms * len(atoms) // n_cell
        atoms = make_supercell(atoms, n_atoms=target, repeat=repeat, max_atoms=limit)
    has_vacancies = bool(np.any(atoms.numbers == 0))
    if seed is not None:
        if not has_vacancies:
            raise SetupError(f"{name} has no partially occupied Li sites; a seed has no effect, leave it out")
        atoms = _shuffle_li(atoms, int(seed))
    atoms.info["ordering"] = "random (seeded)" if seed is not None else "ordered (deterministic)"
    atoms = atoms[atoms.numbers != 0]
    for key in (LI_SITE,):
        if key in atoms.arrays:
            del atoms.arrays[key]
    atoms = sort_by_element(atoms)
    if total_charge(atoms) != 0:
        raise AssertionError(f"{name} built with net charge {total_charge(atoms)}")
    check_distances(atoms, where=name)
    return atoms


def _shuffle_li(atoms: Atoms, seed: int) -> Atoms:
    """Put the cell's Li on a random subset of its Li sites (placeholders take the rest)."""
    out = atoms.copy()
    sites = np.flatnonzero(out.arrays[LI_SITE])
    n_li = int(np.sum(out.numbers[sites] != 0))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(sites, size=n_li, replace=False)
    symbols = np.array(out.get_chemical_symbols(), dtype=object)
    symbols[sites] = VACANCY
    symbols[chosen] = "Li"
    out.set_chemical_symbols(list(symbols))
    out.info["seed"] = seed
    out.info["site_arrangement"] = (
        f"{atoms.info.get('site_arrangement', '')}; then Li redistributed at random over "
        f"{len(sites)} Li sites ({n_li} Li), seed {seed}"
    )
    out.info["space_group"] = "see spglib (random arrangement)"
    return out


def write_structure(
    atoms: Atoms,
    path: str | os.PathLike,
    format: str | None = None,
    overwrite: bool = True,
    force: bool | None = None,
) -> Path:
    """Write one cell atomically in any format ASE writes (guessed from ``path`` unless given).

    ``force`` (the ``--force`` of ``lizrcl build``): the cell is a finished result, refused over
    an existing file unless True, which keeps the old file as a numbered backup (see
    :mod:`lizrcl_tools.fileio`).

    LAMMPS data files are written with ``atom_style atomic``, masses, and the types in the
    order of ``keys.ELEMENTS`` (1 = Li, 2 = Zr, 3 = Cl) even when an element is absent, so the
    type numbering is the same for every cell.
    """
    from lizrcl_tools.fileio import _guess_format, write_atoms_atomic

    fmt = format or _guess_format(Path(path))
    kwargs: dict[str, Any] = {}
    if fmt == "lammps-data":
        kwargs = {"specorder": list(keys.ELEMENTS), "atom_style": "atomic", "masses": True, "units": "metal"}
    elif fmt == "vasp":
        kwargs = {"direct": True}
    frame = atoms.copy()
    if fmt not in ("extxyz", "json", "traj"):
        frame.info = {}
    return write_atoms_atomic(path, [frame], format=fmt, overwrite=overwrite, force=force, **kwargs)


def read_lammps_data_cell(path: str | os.PathLike) -> Atoms:
    """Read a data file written by :func:`write_structure` back with Li, Zr, Cl types."""
    import ase.io
    from ase.data import atomic_numbers

    z_of_type = {k + 1: atomic_numbers[s] for k, s in enumerate(keys.ELEMENTS)}
    return ase.io.read(path, format="lammps-data", atom_style="atomic", Z_of_type=z_of_type, units="metal")
