"""lizrcl data stats: compositions, x of (LiCl)1-x(ZrCl4)x, ranges, and the plot."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms

from lizrcl_tools import keys
from lizrcl_tools.dataset.stats import composition_x, dataset_stats, reduced_formula


@pytest.mark.parametrize(
    "counts, formula, x",
    [
        ({"Li": 4, "Zr": 2, "Cl": 12}, "Li2ZrCl6", 1 / 3),  # 2 LiCl + ZrCl4
        ({"Li": 4, "Cl": 4}, "LiCl", 0.0),
        ({"Zr": 2, "Cl": 8}, "ZrCl4", 1.0),
        ({"Li": 3, "Zr": 1, "Cl": 7}, "Li3ZrCl7", 0.25),
        ({"Li": 8}, "Li", None),  # Li metal: not in the series
        ({"Li": 1, "Zr": 1, "Cl": 6}, "LiZrCl6", None),  # not charge neutral
        ({"Li": 1, "Na": 1, "Cl": 2}, "NaLiCl2", None),
    ],
)
def test_formula_and_x(counts, formula, x):
    symbols = [s for s, n in counts.items() for _ in range(n)]
    assert reduced_formula(symbols) == formula
    assert composition_x(symbols) == (None if x is None else pytest.approx(x))


def _frame(symbols, energy, forces, config_type):
    atoms = Atoms(symbols, positions=np.zeros((len(symbols), 3)), cell=np.eye(3) * 10, pbc=True)
    atoms.info[keys.REF_ENERGY] = energy
    atoms.arrays[keys.REF_FORCES] = np.asarray(forces, dtype=float)
    atoms.info[keys.CONFIG_TYPE] = config_type
    return atoms


def test_dataset_stats_known_answers():
    frames = [
        _frame(["Li", "Cl"], -7.0, [[3, 4, 0], [0, 0, 0]], "md"),  # |F| max 5
        _frame(["Li", "Li", "Zr", "Cl", "Cl", "Cl", "Cl", "Cl", "Cl"], -36.0, np.ones((9, 3)), "md"),
        _frame(["Li", "Li"], -3.8, [[0, 0, 0.5], [0, 0, -0.5]], "interface"),
    ]
    stats = dataset_stats(iter(frames))  # a generator is enough: one pass
    assert stats["n_frames"] == 3 and stats["n_atoms"] == 13
    assert stats["by_formula"] == {"LiCl": 1, "Li2ZrCl6": 1, "Li": 1}
    assert stats["by_x"] == {"0.0000": 1, "0.3333": 1}
    assert stats["n_outside_x_series"] == 1
    assert stats["by_config_type"] == {"md": 2, "interface": 1}
    assert stats["energy_per_atom_eV"]["min"] == pytest.approx(-4.0)
    assert stats["energy_per_atom_eV"]["max"] == pytest.approx(-1.9)
    assert stats["max_abs_force_eV_A"]["max"] == pytest.approx(5.0)
    assert stats["max_abs_force_eV_A"]["min"] == pytest.approx(0.5)
    assert stats["n_with_stress"] == 0 and stats["n_without_energy"] == 0
    json.dumps(stats)  # plain types only


def test_cli_stats_on_collected_vasp(tmp_path, vasp_fixture):
    """Stats of a collected file agree with pymatgen's reading of the same run; PNG written."""
    from pymatgen.io.vasp import Vasprun

    from lizrcl_tools.cli import run

    src = vasp_fixture("Li_relax.vasprun.xml.gz")
    train = tmp_path / "train.extxyz"
    assert run(["vasp", "collect", str(src), "-o", str(train)]) == 0
    png, js = tmp_path / "stats.png", tmp_path / "stats.json"
    assert run(["data", "stats", str(train), "--plot", str(png), "--json", str(js)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stats = json.loads(js.read_text())
    steps = Vasprun(str(src), parse_dos=False, parse_eigen=False, parse_potcar_file=False).ionic_steps
    e = [s["e_fr_energy"] / len(s["structure"]) for s in steps]
    assert stats["n_frames"] == 3 and stats["by_formula"] == {"Li": 3}
    assert stats["by_config_type"] == {"relax": 3}
    assert stats["energy_per_atom_eV"]["min"] == pytest.approx(min(e), abs=1e-8)
    assert stats["energy_per_atom_eV"]["max"] == pytest.approx(max(e), abs=1e-8)
    assert stats["n_with_stress"] == 3


def test_unreadable_training_file_names_it(tmp_path):
    from lizrcl_tools.dataset.stats import stats_of_file
    from lizrcl_tools.errors import ParseError

    frames = [_frame(["Li", "Cl"], -7.0, np.zeros((2, 3)), "md") for _ in range(2)]
    import ase.io

    good = tmp_path / "good.extxyz"
    ase.io.write(good, frames, format="extxyz")
    cut = tmp_path / "cut.extxyz"
    cut.write_text("".join(good.read_text().splitlines(True)[:-1]))  # last atom line lost
    with pytest.raises(ParseError, match=r"cut\.extxyz: frame 1 \(0-based\) is not readable"):
        stats_of_file(cut)
    assert stats_of_file(good)["n_frames"] == 2


def test_non_finite_labels_are_reported_and_kept_out_of_the_ranges():
    from lizrcl_tools.dataset.stats import format_stats

    bad = _frame(["Li", "Cl"], -7.0, [[np.nan, 0, 0], [0, 0, 0]], "md")
    bad.info[keys.SOURCE] = "TrainStr.txt:7"
    frames = [
        _frame(["Li", "Cl"], -6.0, [[1, 0, 0], [0, 0, 0]], "md"),
        bad,
        _frame(["Li", "Cl"], float("nan"), [[2, 0, 0], [0, 0, 0]], "md"),
    ]
    stats = dataset_stats(frames)
    assert stats["n_non_finite"] == 2
    assert stats["non_finite_frames"][0] == {"frame": 1, "labels": [keys.REF_FORCES], "source": "TrainStr.txt:7"}
    assert stats["non_finite_frames"][1]["labels"] == [keys.REF_ENERGY]
    # Ranges come from the one finite frame, not nan .. nan.
    assert stats["energy_per_atom_eV"] == {"min": -3.0, "max": -3.0, "mean": -3.0}
    assert stats["max_abs_force_eV_A"]["max"] == pytest.approx(1.0)
    text = format_stats(stats)
    assert text.startswith("NON-FINITE: 2 frame(s) hold NaN or inf (0-based): frame 1 (REF_forces, TrainStr.txt:7)")
    assert "nan" not in text.split("\n", 1)[1]
