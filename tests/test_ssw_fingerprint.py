"""Fingerprints and order parameters: known values for ideal lattices, supercell invariance."""

from __future__ import annotations

import pytest
from ase.build import bulk

from lizrcl_tools.ssw.fingerprint import fingerprint, fingerprint_distance, spacegroup, weighted_steinhardt


def test_rocksalt_steinhardt_known_values():
    rs = bulk("LiCl", "rocksalt", a=5.8, cubic=True)
    # Octahedral (simple-cubic-like) bond star: Q4 = sqrt(7/12), Q6 = sqrt(1/8).
    assert weighted_steinhardt(rs, 4, r0=2.9) == pytest.approx((7 / 12) ** 0.5, abs=1e-9)
    assert weighted_steinhardt(rs, 6, r0=2.9) == pytest.approx((1 / 8) ** 0.5, abs=1e-9)
    # Tetrahedral coordination has a different Q4.
    assert weighted_steinhardt(bulk("LiCl", "zincblende", a=6.3), 4) == pytest.approx((7 / 27) ** 0.5 * 1.0, abs=0.02)


def test_fingerprint_supercell_invariant_and_discriminating():
    rs = bulk("LiCl", "rocksalt", a=5.8)
    assert fingerprint_distance(fingerprint(rs), fingerprint(rs.repeat((2, 2, 2)))) < 1e-9
    wz = bulk("LiCl", "wurtzite", a=4.2, c=6.8)
    assert fingerprint_distance(fingerprint(rs), fingerprint(wz)) > 0.1
    strained = rs.copy()
    strained.set_cell(rs.cell[:] * 1.002, scale_atoms=True)
    assert fingerprint_distance(fingerprint(rs), fingerprint(strained)) < 0.01


def test_spacegroup():
    assert spacegroup(bulk("LiCl", "rocksalt", a=5.8)) == ("Fm-3m", 225)


def test_random_cell_respects_distance_and_seed():
    from ase.geometry import get_distances

    from lizrcl_tools.ssw.randomcell import random_cell

    a = random_cell(["Li", "Cl"] * 8, seed=4, volume_per_atom=24.5, min_distance=1.8)
    b = random_cell(["Li", "Cl"] * 8, seed=4, volume_per_atom=24.5, min_distance=1.8)
    assert (a.positions == b.positions).all() and a.info["random_cell_seed"] == 4
    _, d = get_distances(a.positions, cell=a.cell, pbc=True)
    assert d[d > 0].min() >= 1.8
    assert 0.9 * 16 * 24.5 <= a.get_volume() <= 1.2 * 16 * 24.5
