"""Layered Li2ZrCl6: stacking variants (two independent dedupe paths), ideal cell, M-defect."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lizrcl_tools.structures import build, min_pair_distances, total_charge
from lizrcl_tools.structures.checks import MIN_DISTANCE
from lizrcl_tools.structures.frameworks import DEFAULT_CL_CL
from lizrcl_tools.structures.layered import (
    IDEAL_SEQUENCE, equivalent_pairs, gap_zr_count, layered_cell, stacking_sequences, stacking_variants,
)


def _counts(atoms):
    s = atoms.get_chemical_symbols()
    return s.count("Li"), s.count("Zr"), s.count("Cl")


def _assert_sane(atoms):
    assert total_charge(atoms) == 0
    for pair, d in min_pair_distances(atoms).items():
        assert d >= MIN_DISTANCE[pair] - 1e-9, (pair, d)


@pytest.fixture(scope="module")
def variants():
    return stacking_variants(3)


def test_variants_are_distinct_contain_the_ideal_and_cover_every_sequence(variants):
    labels = [v.info["stacking"] for v in variants]
    assert labels == ["0", "01", "001", "012"]
    assert "".join(map(str, IDEAL_SEQUENCE)) in labels
    assert equivalent_pairs(variants) == []  # StructureMatcher: pairwise non-equivalent
    # Every sequence of up to 3 layers (repeats and symmetry images included) is one of them,
    # by StructureMatcher: the symmetry reduction lost nothing and split nothing.
    from pymatgen.analysis.structure_matcher import StructureMatcher
    from pymatgen.io.ase import AseAtomsAdaptor

    matcher = StructureMatcher(primitive_cell=True, scale=False, attempt_supercell=True)
    known = [AseAtomsAdaptor.get_structure(v) for v in variants]
    for n in (2, 3):
        for seq in itertools.product(range(3), repeat=n):
            s = AseAtomsAdaptor.get_structure(layered_cell(seq))
            hits = [v.info["stacking"] for v, k in zip(variants, known) if matcher.fit(s, k)]
            assert len(hits) == 1, (seq, hits)


def test_sequence_counts_per_period():
    counts = [sum(len(s) == n for s in stacking_sequences(6)) for n in range(1, 7)]
    assert counts == [1, 1, 2, 4, 8, 18]


@pytest.mark.parametrize("seq", [(0,), (0, 1), (0, 1, 2)])
def test_layered_cells_are_li2zrcl6_with_empty_gaps_and_no_zr_edge_sharing(seq):
    atoms = layered_cell(seq)
    n = len(seq)
    assert _counts(atoms) == (2 * n, n, 6 * n)
    _assert_sane(atoms)
    layers = atoms.arrays["hole_layer"][atoms.numbers != 17]
    assert np.all(layers % 2 == 0)  # every cation in a filled layer
    zr = atoms.positions[atoms.numbers == 40]
    d = atoms.get_all_distances(mic=True)[np.ix_(atoms.numbers == 40, atoms.numbers == 40)]
    if len(zr) > 1:
        # within a layer √3·d (honeycomb); across the gap at least the layer spacing c/n = √(8/3)·d
        assert d[d > 0].min() >= min(np.sqrt(3), np.sqrt(8 / 3)) * DEFAULT_CL_CL - 1e-6
    assert gap_zr_count(atoms, n) == 0


def test_mdefect_has_one_zr_in_the_gap_and_ideal_stoichiometry():
    ideal = build("li2zrcl6-layered")
    defect = build("li2zrcl6-mdefect")
    assert _counts(ideal) == (4, 2, 12)
    assert _counts(defect) == (8, 4, 24)
    _assert_sane(defect)
    assert gap_zr_count(ideal, 2) == 0
    assert gap_zr_count(defect, 2) == 1
    assert defect.info["n_zr_in_gap"] == 1 and defect.info["n_vacant_layer_sites"] == 1
    # The moved Zr sits one hole layer (c/4 of the two-layer cell) above a now empty layer octahedron.
    k = defect.info["defect_zr_index"]
    assert defect.get_chemical_symbols()[k] == "Zr"
    below = defect.positions[k] - defect.cell[2] / 4
    d = np.linalg.norm(((defect.get_scaled_positions() - np.linalg.solve(defect.cell.T, below)) + 0.5) % 1 - 0.5,
                       axis=1)
    cation = defect.numbers != 17
    assert np.min(d[cation]) > 0.05  # no cation left on the vacated site
