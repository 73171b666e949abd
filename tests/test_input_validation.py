"""Bad input is refused at the boundary: distances, finite numbers, occupancy, garbled files."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii

from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.structures import build
from lizrcl_tools.structures.checks import (
    MIN_DISTANCE_FACTOR,
    check_input_structure,
    check_min_distance,
    input_min_distances,
    parse_min_distance,
)


def _pair(a: str, b: str, d: float, box: float = 8.0) -> Atoms:
    return Atoms(f"{a}{b}", positions=[[1, 1, 1], [1 + d, 1, 1]], cell=[box] * 3, pbc=True)


def test_default_min_distance_is_half_the_covalent_radii_sum():
    table = input_min_distances(["Li", "Zr", "Cl"])
    for pair, limit in table.items():
        a, b = (sorted(pair) * 2)[:2]
        expected = MIN_DISTANCE_FACTOR * (covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])
        assert limit == pytest.approx(expected)
    # Stated in the README: Li–Cl 1.15 Å, Zr–Cl 1.39 Å.
    assert table[frozenset({"Li", "Cl"})] == pytest.approx(1.15)
    assert table[frozenset({"Zr", "Cl"})] == pytest.approx(1.385)


def test_atoms_0p1_angstrom_apart_are_refused_with_file_and_atoms():
    with pytest.raises(ParseError) as err:
        check_input_structure(_pair("Li", "Cl", 0.1), "frame 1", path="cell.extxyz")
    msg = str(err.value)
    assert msg.startswith("cell.extxyz: frame 1:")
    assert "#1 (Li) and #2 (Cl) are 0.100 Å apart" in msg and "1.15 Å" in msg and "--min-distance" in msg


def test_min_distance_threshold_is_sharp_and_per_pair():
    limit = input_min_distances(["Li", "Cl"])[frozenset({"Li", "Cl"})]
    check_min_distance(_pair("Li", "Cl", limit + 1e-3))
    with pytest.raises(SetupError):
        check_min_distance(_pair("Li", "Cl", limit - 1e-3))
    # The flag's forms: a value for all pairs, a per-pair override, 0 = off.
    check_min_distance(_pair("Li", "Cl", 0.5), min_distance=parse_min_distance(["0.4"]))
    check_min_distance(_pair("Li", "Cl", 0.5), min_distance=parse_min_distance(["Cl-Li=0.4"]))
    check_min_distance(_pair("Li", "Cl", 0.01), min_distance=parse_min_distance(["0"]))
    with pytest.raises(SetupError):  # overriding another pair leaves Li–Cl at its default
        check_min_distance(_pair("Li", "Cl", 0.5), min_distance=parse_min_distance(["Zr-Cl=0.4"]))
    with pytest.raises(SetupError, match="expected a distance"):
        parse_min_distance(["Li-Cl=short"])


def test_periodic_image_counts_and_real_cells_pass():
    # One Li in a 1.0 Å-long periodic cell overlaps its own image.
    with pytest.raises(SetupError, match="own periodic image"):
        check_min_distance(Atoms("Li", cell=[1.0, 6, 6], pbc=True))
    # Through the boundary: 0.2 Å apart across the face of the cell.
    atoms = Atoms("LiCl", positions=[[0.1, 1, 1], [7.9, 1, 1]], cell=[8] * 3, pbc=True)
    with pytest.raises(SetupError, match="0.200 Å"):
        check_min_distance(atoms)
    check_input_structure(build("li2zrcl6-p3m1", n_atoms=432))


def test_non_finite_positions_and_flat_cells_are_refused():
    atoms = _pair("Li", "Cl", 2.5)
    atoms.positions[1, 2] = np.nan
    with pytest.raises(SetupError, match=r"#2 \(Cl\) has a non-finite position"):
        check_input_structure(atoms)
    flat = Atoms("LiCl", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[[5, 0, 0], [0, 5, 0], [5, 5, 0]], pbc=True)
    with pytest.raises(SetupError, match="zero volume"):
        check_input_structure(flat)
