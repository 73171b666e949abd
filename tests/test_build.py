"""Structure builders: stoichiometry, charge, symmetry, distances, supercells, mixing, file round trips."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
from ase.geometry import get_distances
from ase.neighborlist import neighbor_list

from lizrcl_tools import keys
from lizrcl_tools.structures import (
    MIN_DISTANCE,
    SYMPREC,
    available_builders,
    build,
    make_supercell,
    mix,
    space_group,
    total_charge,
    write_structure,
)
from lizrcl_tools.cli import run
from lizrcl_tools.errors import SetupError
from lizrcl_tools.structures import read_lammps_data_cell

# name -> (Li, Zr, Cl per formula unit, spglib space-group number)
EXPECTED = {
    "licl": ((1, 0, 1), 225),
    "zrcl4": ((0, 1, 4), 29),
    "li2zrcl6-p3m1": ((2, 1, 6), 164),
    "li2zrcl6-c2m": ((2, 1, 6), 12),
}

# name -> {cellpar index: (low, high)}; Å and degrees, from the references in the docstrings.
LATTICE_RANGES = {
    "licl": {0: (5.10, 5.16), 1: (5.10, 5.16), 2: (5.10, 5.16)},
    "zrcl4": {0: (6.20, 6.30), 1: (7.35, 7.45), 2: (11.95, 12.10)},
    "li2zrcl6-p3m1": {0: (10.9, 11.0), 1: (10.9, 11.0), 2: (5.9, 6.0), 5: (119.99, 120.01)},
    "li2zrcl6-c2m": {0: (6.2, 6.5), 1: (10.8, 11.2), 2: (6.2, 6.5), 4: (109.0, 110.5)},
}


def counts(atoms) -> tuple[int, int, int]:
    symbols = atoms.get_chemical_symbols()
    return tuple(symbols.count(s) for s in keys.ELEMENTS)


def all_distances(atoms) -> np.ndarray:
    """Full minimum-image distance matrix (Å), computed independently of the builders' checks."""
    _, d = get_distances(atoms.positions, cell=atoms.cell, pbc=True)
    np.fill_diagonal(d, np.inf)
    return d


def assert_min_distances(atoms) -> None:
    d = all_distances(atoms)
    symbols = np.array(atoms.get_chemical_symbols())
    for pair, limit in MIN_DISTANCE.items():
        a, b = (sorted(pair) * 2)[:2]
        block = d[np.ix_(symbols == a, symbols == b)]
        if block.size:
            assert block.min() > limit, f"{a}-{b} {block.min():.3f} Å < {limit} Å"


def assert_octahedral(atoms, cutoff: float = 2.9) -> None:
    """Every cation has exactly six Cl within ``cutoff`` Å (periodic images counted)."""
    i, j = neighbor_list("ij", atoms, cutoff)
    symbols = np.array(atoms.get_chemical_symbols())
    cation_cl = (symbols[i] != "Cl") & (symbols[j] == "Cl")
    n_cl = np.bincount(i[cation_cl], minlength=len(atoms))[symbols != "Cl"]
    assert np.all(n_cl == 6), n_cl


def test_registry_and_unknown_name():
    from lizrcl_tools.structures.compounds import COMPOUNDS

    # Layered variants and the six compounds are tested in test_layered.py / test_compositions.py.
    extra = ["li2zrcl6-layered", "li2zrcl6-mdefect", *COMPOUNDS]
    assert available_builders() == sorted([*EXPECTED, *extra])
    with pytest.raises(SetupError, match="unknown structure 'li5zrcl9'.*available: li2zrcl6-c2m"):
        build("li5zrcl9")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builder_stoichiometry_charge_symmetry_distances(name):
    atoms = build(name)
    (f_li, f_zr, f_cl), sg_number = EXPECTED[name]
    n_li, n_zr, n_cl = counts(atoms)
    units = n_cl // f_cl
    assert (n_li, n_zr, n_cl) == (f_li * units, f_zr * units, f_cl * units)
    assert total_charge(atoms) == 0
    assert sum(keys.OXIDATION_STATES[s] for s in atoms.get_chemical_symbols()) == 0
    assert space_group(atoms, SYMPREC)[1] == sg_number
    assert_min_distances(atoms)
    assert_octahedral(atoms)
    for key in ("builder", "reference", "site_arrangement", "space_group"):
        assert atoms.info[key]
    assert atoms.info["builder"] == name
    # POSCAR-friendly order: Li block, then Zr, then Cl.
    order = [keys.ELEMENTS.index(s) for s in atoms.get_chemical_symbols()]
    assert order == sorted(order)


@pytest.mark.parametrize("name", sorted(LATTICE_RANGES))
def test_lattice_parameters_in_reported_ranges(name):
    cellpar = build(name).cell.cellpar()
    for index, (low, high) in LATTICE_RANGES[name].items():
        assert low <= cellpar[index] <= high, (index, cellpar[index])


def test_zrcl4_zigzag_chains_with_cis_terminal_chlorides():
    atoms = build("zrcl4")
    d = all_distances(atoms)
    symbols = np.array(atoms.get_chemical_symbols())
    zr, cl = np.flatnonzero(symbols == "Zr"), np.flatnonzero(symbols == "Cl")
    bonded = d[np.ix_(zr, cl)] < 2.9
    zr_per_cl = bonded.sum(axis=0)
    assert sorted(set(zr_per_cl)) == [1, 2]  # terminal and bridging only
    assert (zr_per_cl == 1).sum() == 2 * len(zr)  # two terminal Cl per Zr
    # Each Zr has two Zr neighbours (the chain, periodic images counted) near the reported 3.97 Å.
    i, j, dist = neighbor_list("ijd", atoms, 4.1)
    zz = (symbols[i] == "Zr") & (symbols[j] == "Zr")
    assert np.all(np.bincount(i[zz], minlength=len(atoms))[zr] == 2)
    assert np.all(np.abs(dist[zz] - 3.968) < 0.05)
    # The two terminal Cl of a Zr are cis (angle near 90°, far from trans 180°).
    for k, z in enumerate(zr):
        terminal = cl[bonded[k] & (zr_per_cl == 1)]
        v = [atoms.get_distance(z, t, mic=True, vector=True) for t in terminal]
        angle = np.degrees(np.arccos(np.dot(v[0], v[1]) / np.linalg.norm(v[0]) / np.linalg.norm(v[1])))
        assert 80 < angle < 115


def test_supercell_432_is_48_formula_units_of_li2zrcl6():
    atoms = build("li2zrcl6-p3m1", n_atoms=432)
    assert len(atoms) == 432
    assert counts(atoms) == (96, 48, 288)
    assert atoms.info["repeat"] == "2 2 4"  # most cubic-like: widths 19.0, 19.0, 23.8 Å
    assert space_group(atoms)[1] == 164
    assert total_charge(atoms) == 0


def test_supercell_explicit_repeat_and_impossible_count():
    cell = build("licl")
    assert len(make_supercell(cell, repeat=(2, 1, 3))) == 8 * 6
    assert make_supercell(cell, n_atoms=64).info["repeat"] == "2 2 2"
    with pytest.raises(SetupError, match=r"430 atoms .*achievable counts near it: .*405, 432"):
        build("li2zrcl6-p3m1", n_atoms=430)
    with pytest.raises(SetupError, match="exactly one of"):
        make_supercell(cell)


# x -> N with an exact integer solution (N = 2 n_Li + 5 n_Zr, n_Cl even for hcp)
MIX_CASES = [(0.0, 64), (0.2, 52), (1 / 3, 54), (0.5, 56), (0.75, 68), (1.0, 60)]


@pytest.mark.parametrize("framework", ["hcp", "ccp"])
@pytest.mark.parametrize("x,n_atoms", MIX_CASES)
def test_mix_composition_charge_distances_density(x, n_atoms, framework):
    atoms = mix(x, n_atoms, seed=3, framework=framework)
    n_li, n_zr, n_cl = counts(atoms)
    assert n_li + n_zr + n_cl == n_atoms
    assert n_cl == n_li + 4 * n_zr
    assert n_zr / (n_li + n_zr) == pytest.approx(x, abs=1e-12)
    assert total_charge(atoms) == 0
    assert_min_distances(atoms)
    assert_octahedral(atoms)
    d = all_distances(atoms)
    symbols = np.array(atoms.get_chemical_symbols())
    cl = symbols == "Cl"
    nearest_cl_cl = d[np.ix_(cl, cl)].min(axis=1)
    assert np.all((nearest_cl_cl > 3.6) & (nearest_cl_cl < 3.7))
    # Framework: hcp Cl has 2 Cl at √(8/3)·d = 5.96 Å (the atom straight above/below), ccp none.
    i, j, dist = neighbor_list("ijd", atoms, 6.1)
    shell = (symbols[i] == "Cl") & (symbols[j] == "Cl") & (dist > 5.85)
    between = np.bincount(i[shell], minlength=len(atoms))[cl]
    assert np.all(between == (2 if framework == "hcp" else 0))
    assert atoms.info["seed"] == 3 and atoms.info["framework"] == framework


def test_mix_avoids_zr_edge_sharing_when_possible():
    # Li2ZrCl6 composition: 6 Zr in 36 holes can all be kept apart (next-nearest holes only).
    for framework in ("hcp", "ccp"):
        atoms = mix(1 / 3, 54, seed=5, framework=framework)
        symbols = np.array(atoms.get_chemical_symbols())
        zz = all_distances(atoms)[np.ix_(symbols == "Zr", symbols == "Zr")]
        assert zz.min() > 4.0, (framework, zz.min())


def test_mix_refuses_incompatible_atom_count():
    with pytest.raises(SetupError, match=r"55 atoms cannot hold .*nearest valid N: .*54"):
        mix(0.333, 55, seed=1)
    # 27 LiCl need 27 Cl: an odd count cannot tile hcp (2 Cl per hexagonal cell), ccp is fine.
    with pytest.raises(SetupError, match=r"even n_Cl for hcp; nearest valid N: .*52, 56"):
        mix(0.0, 54, seed=1, framework="hcp")
    assert len(mix(0.0, 54, seed=1, framework="ccp")) == 54
    with pytest.raises(SetupError, match=r"x must lie in \[0, 1\]"):
        mix(1.2, 54, seed=1)
    with pytest.raises(SetupError, match="unknown framework"):
        mix(0.333, 54, seed=1, framework="bcc")


def test_same_seed_same_cell_different_seed_different_arrangement():
    a, b, c = (mix(1 / 3, 54, seed=s) for s in (1, 1, 2))
    assert a.get_chemical_symbols() == b.get_chemical_symbols()
    assert np.array_equal(a.positions, b.positions)
    assert not (
        a.get_chemical_symbols() == c.get_chemical_symbols() and np.allclose(a.positions, c.positions)
    )
    for name in ("li2zrcl6-p3m1", "li2zrcl6-c2m"):
        p, q, r = (build(name, seed=s, n_atoms=108) for s in (7, 7, 8))
        assert np.array_equal(p.positions, q.positions) and p.get_chemical_symbols() == q.get_chemical_symbols()
        assert not np.array_equal(p.positions[p.numbers == 3], r.positions[r.numbers == 3])
        assert p.info["seed"] == 7 and counts(p) == (24, 12, 72) and total_charge(p) == 0
        assert_min_distances(p)
        assert_octahedral(p)
    with pytest.raises(SetupError, match="no partially occupied Li sites"):
        build("licl", seed=1)


def _assert_same_cell(before, after):
    assert after.get_chemical_symbols() == before.get_chemical_symbols()
    assert np.allclose(after.cell.cellpar(), before.cell.cellpar(), atol=1e-6)
    delta = after.get_scaled_positions(wrap=True) - before.get_scaled_positions(wrap=True)
    delta -= np.round(delta)
    assert np.abs(delta).max() < 1e-6


@pytest.mark.parametrize("filename", ["cell.extxyz", "POSCAR", "cell.data"])
def test_write_read_round_trip(tmp_path, filename):
    for atoms in (build("li2zrcl6-p3m1"), build("li2zrcl6-c2m"), mix(0.2, 52, seed=2)):
        path = write_structure(atoms, tmp_path / filename)
        if filename.endswith(".data"):
            back = read_lammps_data_cell(path)
        else:
            back = ase.io.read(path)
        _assert_same_cell(atoms, back)


def test_lammps_data_keeps_all_three_types_in_element_order(tmp_path):
    path = write_structure(build("zrcl4"), tmp_path / "zrcl4.data")
    text = path.read_text()
    assert "3 atom types" in text
    masses = text.split("Masses")[1].split("Atoms")[0].split()
    assert masses[0::4][:3] == ["1", "2", "3"] and masses[3::4][:3] == list(keys.ELEMENTS)
    back = read_lammps_data_cell(path)
    assert set(back.get_chemical_symbols()) == {"Zr", "Cl"}


def test_cli_build_smoke(tmp_path, capsys):
    out = tmp_path / "cell.extxyz"
    assert run(["build", "li2zrcl6-p3m1", "--supercell", "432", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Li96Zr48Cl288" in printed and "P-3m1 (164)" in printed and "6g" in printed
    back = ase.io.read(out)
    assert len(back) == 432 and back.info["builder"] == "li2zrcl6-p3m1"
    # A finished cell is not replaced without --force; with it, the old one is kept.
    with pytest.raises(SetupError, match="already exists.*--force"):
        run(["build", "licl", "-o", str(out)])
    assert len(ase.io.read(out)) == 432
    assert run(["build", "licl", "-o", str(out), "--force"]) == 0
    assert len(ase.io.read(out)) == 8 and len(ase.io.read(tmp_path / "cell.bak1.extxyz")) == 432


def test_supercell_size_is_checked_before_building():
    with pytest.raises(SetupError, match="positive atom count"):
        build("li2zrcl6-p3m1", n_atoms=0)
    with pytest.raises(SetupError, match="1,728,000 atoms, above the limit of 100,000"):
        build("licl", repeat=(60, 60, 60))
    with pytest.raises(SetupError, match="above the limit"):
        make_supercell(build("licl"), n_atoms=8 * 20_000)
    # The limit counts real atoms and can be raised.
    assert len(build("licl", repeat=(2, 2, 2), max_atoms=64)) == 64
    with pytest.raises(SetupError, match="above the limit of 5,000"):
        mix(0.333, 6001, seed=1)
