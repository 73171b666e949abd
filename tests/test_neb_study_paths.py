"""The study's seven Li hops: site counts, one Li moved, hop geometry on the ideal hcp cell."""

from __future__ import annotations

import numpy as np
import pytest
from ase.geometry import find_mic

from lizrcl_tools.errors import SetupError
from lizrcl_tools.neb.study_paths import STUDY_TABLE, build_study_paths, site_counts
from lizrcl_tools.structures import build
from lizrcl_tools.structures.frameworks import DEFAULT_CL_CL

REPEAT = (1, 1, 2)  # 54 atoms; same construction as the study's 2×2×2 (216 atoms)
D = DEFAULT_CL_CL  # Cl–Cl of the ideal cell, Å
C_HALF = np.sqrt(8 / 3) * D / 2  # LiA → LiB hop along c in ideal hcp, Å

# (atoms, vacancies, interstitials) at the initial and the final state of each path (54-atom cell)
EXPECTED = {
    "I-1": ((54, 0, 0), (54, 1, 1)),
    "I-2": ((54, 1, 1), (54, 2, 2)),
    "I-3": ((53, 1, 0), (53, 2, 1)),
    "II-1": ((55, 0, 1), (55, 0, 1)),
    "II-2": ((54, 1, 1), (54, 1, 1)),
    "III-1": ((53, 1, 0), (53, 1, 0)),
    "III-2": ((54, 1, 1), (54, 1, 1)),
}
HOP_A = {"I-1": C_HALF, "I-2": C_HALF, "I-3": C_HALF, "II-1": np.sqrt(3 / 8) * D, "II-2": D, "III-1": D, "III-2": D}


@pytest.fixture(scope="module")
def paths():
    return {p.name: p for p in build_study_paths(REPEAT)}


def test_all_seven_paths_are_built_with_the_studys_numbers(paths):
    assert list(paths) == list(STUDY_TABLE)
    assert paths["I-2"].study_barrier_eV == 0.14 and paths["I-2"].study_reaction_energy_eV == -0.29
    assert paths["III-2"].study_barrier_eV == 0.67


@pytest.mark.parametrize("name", list(EXPECTED))
def test_site_counts_and_one_li_moved(paths, name):
    p = paths[name]
    perfect = build("li2zrcl6-p3m1", repeat=REPEAT)
    for atoms, want in zip((p.initial, p.final), EXPECTED[name]):
        got = site_counts(atoms, perfect, REPEAT)
        assert (got["atoms"], got["vacancies"], got["interstitials"]) == want
        assert atoms.get_chemical_symbols() == sorted(atoms.get_chemical_symbols(), key="LiZrCl".index)
    moved = np.flatnonzero(np.linalg.norm(p.final.positions - p.initial.positions, axis=1) > 1e-9)
    assert moved.tolist() == [p.mover]
    assert p.initial.get_chemical_symbols()[p.mover] == "Li"
    hop, _ = find_mic(p.final.positions[p.mover] - p.initial.positions[p.mover], p.initial.cell, True)
    assert np.linalg.norm(hop) == pytest.approx(HOP_A[name], abs=1e-6)
    # Channel I hops along c (perpendicular to the layer); II and III stay in their plane.
    if name.startswith("I-"):
        assert abs(hop[2]) == pytest.approx(np.linalg.norm(hop), abs=1e-6)
    if name in ("II-2", "III-1", "III-2"):
        assert hop[2] == pytest.approx(0.0, abs=1e-6)


def test_o_t_o_waypoint_is_a_tetrahedral_void_shared_by_both_octahedra(paths):
    p = paths["II-2"]
    cl = p.initial[[s == "Cl" for s in p.initial.get_chemical_symbols()]]
    d, dist = find_mic(cl.positions - p.via, p.initial.cell, True)
    four = np.sort(dist)[:5]
    assert four[:4] == pytest.approx([np.sqrt(3 / 8) * D] * 4, abs=1e-6)  # ideal tetrahedral hole
    assert four[4] > 3.0
    for end in (p.initial, p.final):
        _, r = find_mic(end.positions[p.mover] - p.via, end.cell, True)
        assert r == pytest.approx(np.sqrt(3 / 8) * D, abs=1e-6)  # face-sharing with both octahedra


def test_study_paths_need_two_cells_along_c():
    with pytest.raises(SetupError, match="along c"):
        build_study_paths((2, 2, 1))
    with pytest.raises(SetupError, match="unknown study path"):
        build_study_paths(REPEAT, names=["IV-1"])


def test_the_studys_2x2x2_cell_has_216_atoms():
    p = build_study_paths((2, 2, 2), names=["I-1"])[0]
    assert len(p.initial) == 216
    assert site_counts(p.final, build("li2zrcl6-p3m1", repeat=(2, 2, 2)), (2, 2, 2))["vacancies"] == 1


def test_relaxed_unit_cell_repeated_is_a_relaxed_supercell_and_carries_the_sites():
    from lizrcl_tools.md.setup import resolve_potential
    from lizrcl_tools.neb.workflow import engine_calculator, relax_perfect_cell

    spec = resolve_potential("classical")
    perfect, summary = relax_perfect_cell(spec, REPEAT)
    calc = engine_calculator(spec, perfect)
    try:
        perfect.calc = calc
        forces, energy = perfect.get_forces(), perfect.get_potential_energy()
    finally:
        calc.engine.close()
    assert np.abs(forces).max() < 0.01  # the unit cell's relaxation holds in the supercell
    assert energy == pytest.approx(2 * summary["energy_eV_per_unit_cell"], abs=1e-4)
    assert summary["cellpar_relaxed"][2] != pytest.approx(summary["cellpar_ideal"][2], abs=0.01)
    paths = {p.name: p for p in build_study_paths(REPEAT, perfect=perfect)}
    counts = site_counts(paths["I-2"].final, perfect, REPEAT)
    assert (counts["vacancies"], counts["interstitials"]) == (2, 2)
