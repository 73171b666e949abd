"""The six compounds: stoichiometry and sanity; formation energies and the hull; pipeline on the classical potential."""

from __future__ import annotations

import numpy as np
import pytest

from lizrcl_tools.compositions.formation import above_hull, formation_energy, lower_hull
from lizrcl_tools.structures import build, min_pair_distances, total_charge
from lizrcl_tools.structures.checks import MIN_DISTANCE
from lizrcl_tools.structures.compounds import COMPOUNDS

# The study's formulas as (Li, Zr) per formula unit
STUDY = {"lizr2cl9": (0.5, 1), "lizrcl5": (1, 1), "li2zrcl6-hcp": (2, 1), "li3zrcl7": (3, 1),
         "li7zr2cl15": (7, 2), "li4zrcl8": (4, 1)}


@pytest.mark.parametrize("name", list(COMPOUNDS))
def test_compound_builders_have_the_studys_stoichiometry_and_no_close_contacts(name):
    c = COMPOUNDS[name]
    atoms = build(name)
    s = atoms.get_chemical_symbols()
    li, zr, cl = s.count("Li"), s.count("Zr"), s.count("Cl")
    a, b = STUDY[name]
    assert li * b == zr * a  # Li:Zr as in the study's formula
    assert cl == li + 4 * zr
    assert total_charge(atoms) == 0
    assert len(atoms) == c.n_atoms <= 60
    for pair, d in min_pair_distances(atoms).items():
        assert d >= MIN_DISTANCE[pair] - 1e-9, (pair, d)
    assert atoms.info["selection_rule"].startswith("lowest energy per atom")


def test_formation_energy_of_a_reference_or_a_reference_mixture_is_zero():
    e_licl, e_zrcl4 = -7.83, -25.77  # eV per formula unit, arbitrary
    assert formation_energy(4, 0, 4 * e_licl, e_licl, e_zrcl4)["total_eV"] == pytest.approx(0, abs=1e-12)
    assert formation_energy(0, 4, 4 * e_zrcl4, e_licl, e_zrcl4)["per_atom_eV"] == pytest.approx(0, abs=1e-12)
    f = formation_energy(2, 1, 2 * e_licl + e_zrcl4 - 0.09, e_licl, e_zrcl4)
    assert f["x"] == pytest.approx(1 / 3)
    assert f["total_eV"] == pytest.approx(-0.09)
    assert f["per_atom_eV"] == pytest.approx(-0.01)  # 9 atoms
    assert f["per_cation_eV"] == pytest.approx(-0.03)


def test_hull_points_are_on_or_above_the_hull_with_the_right_distances():
    x = [0.0, 1.0, 1 / 3, 0.5, 0.25, 2 / 3]
    e = [0.0, 0.0, -0.06, -0.02, -0.02, 0.01]
    hull = lower_hull(x, e)
    assert [x[i] for i in hull] == [0.0, 1 / 3, 1.0]
    d = above_hull(x, e)
    assert np.all(d >= -1e-12)
    assert d[[0, 1, 2]] == pytest.approx(0, abs=1e-12)
    # Hull at x = 0.5 between (1/3, −0.06) and (1, 0): −0.045; at 0.25 between (0, 0) and (1/3, −0.06): −0.045
    assert d[3] == pytest.approx(0.025)
    assert d[4] == pytest.approx(0.025)
    assert d[5] == pytest.approx(0.01 + 0.03)


def test_compositions_and_stacking_pipelines_on_the_classical_potential(tmp_path):
    """CLI smoke tests: one compound, references, Li2ZrCl6 cells; stacking up to 2 layers + M-defect + XRD."""
    from lizrcl_tools.cli import run
    from lizrcl_tools.fileio import read_json

    out = tmp_path / "comp"
    assert run(["compositions", "-o", str(out), "--compounds", "li2zrcl6-hcp", "--candidates", "2",
                "--potential", "classical"]) == 0
    res = read_json(out / "compositions.json")
    assert res["hull"]["model"][0] == "LiCl" and res["hull"]["model"][-1] == "ZrCl4"
    rows = {r["name"]: r for r in res["compounds"]}
    assert set(rows) == {"li2zrcl6-hcp", "li2zrcl6-layered", "li2zrcl6-p3m1"}
    for r in rows.values():
        assert r["x"] == pytest.approx(1 / 3)
        assert r["formation"]["model"]["above_hull_per_cation_eV"] >= -1e-12
        f = r["formation"]["model"]
        assert f["per_fu_eV"] == pytest.approx(9 * f["per_atom_eV"]) == pytest.approx(3 * f["per_cation_eV"])
    sel = res["selection"]["li2zrcl6-hcp"]
    best = min(sel["candidates"], key=lambda c: c["energy_eV_per_atom"])
    assert sel["selected_seed"] == best["seed"]
    assert (out / "compositions.png").stat().st_size > 0
    # A rerun reads the cells back instead of relaxing them again.
    before = (out / "cells" / "ref-licl.json").read_text()
    assert run(["compositions", "-o", str(out), "--compounds", "li2zrcl6-hcp", "--candidates", "2",
                "--potential", "classical"]) == 0
    assert (out / "cells" / "ref-licl.json").read_text() == before

    st = tmp_path / "stack"
    assert run(["stacking", "-o", str(st), "--max-layers", "2", "--potential", "classical"]) == 0
    res = read_json(st / "stacking.json")
    assert [v["stacking"] for v in res["variants"]] == ["0", "01"]
    assert min(v["relative_per_fu_meV"]["model"] for v in res["variants"]) == 0
    assert res["mdefect"]["formula_units"] == 4 and res["mdefect"]["defects_per_cell"] == 1
    assert (st / "xrd" / "xrd.png").exists()


def test_conductivity_start_cell_takes_whole_cells_of_a_builder():
    from lizrcl_tools.errors import LizrclWarning
    from lizrcl_tools.md.workflow import starting_cell

    with pytest.warns(LizrclWarning, match="using 36 atoms"):
        atoms = starting_cell("li2zrcl6-mdefect", 54)  # 36-atom cell under the quick protocol's 54
    assert len(atoms) == 36
    assert len(starting_cell("li2zrcl6-layered", 54)) == 54  # 3 whole cells: unchanged behaviour
