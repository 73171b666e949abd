"""The rigid-ion Li/Zr/Cl test potential: known lattice constant, E/F consistency, metadata."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.spacegroup import crystal

from lizrcl_tools.keys import ELEMENTS, OXIDATION_STATES
from lizrcl_tools.md.static import relax, single_point
from lizrcl_tools.potential import PotentialSpec
from lizrcl_tools.potential.classical import classical_potential, pair_parameters

pytestmark = pytest.mark.lammps

LICL_A_EXP = 5.13  # Å, rocksalt LiCl at room temperature


def _li2zrcl6_test_cell(seed: int = 3) -> "object":
    """Rattled K2PtCl6-type Li2ZrCl6 (primitive, 9 atoms): all three elements, no symmetry left."""
    atoms = crystal(
        ["Zr", "Li", "Cl"], [(0, 0, 0), (0.25, 0.25, 0.25), (0.215, 0, 0)],
        spacegroup=225, cellpar=[11.3, 11.3, 11.3, 90, 90, 90], primitive_cell=True,
    )
    atoms.rattle(0.1, seed=seed)
    return atoms


def test_spec_is_charge_style_and_neutral():
    spec = classical_potential()
    assert spec.atom_style == "charge"
    assert spec.elements == ELEMENTS
    assert spec.charges == {s: float(q) for s, q in OXIDATION_STATES.items()}
    assert spec.commands[0].startswith("pair_style born/coul/dsf")
    # One pair_coeff line per unordered type pair.
    assert sum(c.startswith("pair_coeff") for c in spec.commands) == 6
    assert PotentialSpec.from_dict(spec.to_dict()) == spec
    atoms = _li2zrcl6_test_cell()
    assert sum(spec.charges[s] for s in atoms.get_chemical_symbols()) == 0


def test_tosi_fumi_licl_parameters():
    """A = c_ij b with Pauling factor 1.375 for Li+Cl− and b = 0.338e-19 J = 0.2110 eV."""
    p = pair_parameters("Li", "Cl")
    assert p["A_eV"] == pytest.approx(1.375 * 0.21096, rel=1e-3)
    assert p["sigma_A"] == pytest.approx(0.84 + 1.585)
    # Mayer C(Cl-Cl) = 111e-79 J m^6 = 69.3 eV Å^6, scaled by 1.5.
    assert pair_parameters("Cl", "Cl")["C_eV_A6"] == pytest.approx(1.5 * 69.28, rel=1e-3)
    assert pair_parameters("Zr", "Cl")["C_eV_A6"] == 0.0
    with pytest.raises(ValueError, match="'Na'"):
        pair_parameters("Na", "Cl")


def test_licl_rocksalt_lattice_constant():
    """Rocksalt LiCl relaxes to within 3% of the experimental a = 5.13 Å, staying cubic."""
    atoms = bulk("LiCl", "rocksalt", a=5.4, cubic=True)  # start 5% too large
    relaxed = relax(atoms, classical_potential(), relax_cell="iso")
    a, b, c, alpha, beta, gamma = relaxed.cell.cellpar()
    assert a == pytest.approx(LICL_A_EXP, rel=0.03)
    assert (a, b) == pytest.approx((b, c))
    # Lattice energy of LiCl is ~8.6-8.8 eV per formula unit (Born-Haber: 853 kJ/mol).
    e_per_fu = relaxed.info["energy_eV"] / (len(relaxed) / 2)
    assert -9.3 < e_per_fu < -8.2


def test_rocksalt_is_the_licl_ground_state():
    """Rocksalt LiCl is below wurtzite and zincblende (eV/atom, each relaxed at zero pressure)."""
    spec = classical_potential()
    cells = {
        "rocksalt": (bulk("LiCl", "rocksalt", a=5.1, cubic=True), "iso"),
        "wurtzite": (bulk("LiCl", "wurtzite", a=3.9, c=6.3), "aniso"),
        "zincblende": (bulk("LiCl", "zincblende", a=5.6, cubic=True), "iso"),
    }
    e = {}
    for name, (atoms, mode) in cells.items():
        relaxed = relax(atoms, spec, relax_cell=mode)
        e[name] = relaxed.info["energy_eV"] / len(relaxed)
    assert e["rocksalt"] < e["wurtzite"] - 0.02
    assert e["rocksalt"] < e["zincblende"] - 0.02


def test_forces_are_minus_energy_gradient():
    """LAMMPS forces equal central finite differences of the LAMMPS energy (h = 1e-4 Å)."""
    spec = classical_potential()
    atoms = _li2zrcl6_test_cell()
    forces = single_point(atoms, spec)["forces_eV_A"]
    assert np.abs(forces).max() > 0.1  # rattled: forces are far from zero
    h = 1e-4
    rng = np.random.default_rng(0)
    picks = [(0, 0), (1, 2), (3, 1)] + [(int(i), int(k)) for i, k in zip(rng.integers(0, len(atoms), 3), rng.integers(0, 3, 3))]
    for i, k in picks:
        energies = []
        for sign in (1, -1):
            displaced = atoms.copy()
            displaced.positions[i, k] += sign * h
            energies.append(single_point(displaced, spec)["energy_eV"])
        fd = -(energies[0] - energies[1]) / (2 * h)
        assert fd == pytest.approx(forces[i, k], abs=2e-4, rel=1e-4), (i, k)


def test_trigonal_li2zrcl6_relaxes_near_experiment():
    """Layered P-3m1 Li2ZrCl6 keeps octahedral Zr and Li, a and c within 3 % of experiment
    (10.95 Å, 5.93 Å) and Zr–Cl ≈ 2.45–2.50 Å, with the cell angle kept at 120°."""
    from ase.neighborlist import neighbor_list

    from lizrcl_tools.structures import build

    start = build("li2zrcl6-p3m1")
    relaxed = relax(start, classical_potential(), relax_cell="aniso")
    a, b, c, alpha, beta, gamma = relaxed.cell.cellpar()
    assert a == pytest.approx(10.95, rel=0.03) and c == pytest.approx(5.93, rel=0.03)
    assert gamma == pytest.approx(120.0, abs=0.01)
    i, j, d = neighbor_list("ijd", relaxed, 3.0)
    sym = np.array(relaxed.get_chemical_symbols())
    for element in ("Zr", "Li"):
        pairs = (sym[i] == element) & (sym[j] == "Cl")
        assert (np.bincount(i[pairs], minlength=len(sym))[sym == element] == 6).all(), element
    assert d[(sym[i] == "Zr") & (sym[j] == "Cl")].mean() == pytest.approx(2.475, abs=0.05)
