"""Bad input is refused at the boundary: distances, finite numbers, occupancy, garbled files."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii

from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.structures import build

# The checks are imported inside each test, so that each test fails on its own where they
# are missing rather than the whole module failing to import.


def _pair(a: str, b: str, d: float, box: float = 8.0) -> Atoms:
    return Atoms(f"{a}{b}", positions=[[1, 1, 1], [1 + d, 1, 1]], cell=[box] * 3, pbc=True)


def test_default_min_distance_is_half_the_covalent_radii_sum():
    from lizrcl_tools.structures.checks import MIN_DISTANCE_FACTOR, input_min_distances

    table = input_min_distances(["Li", "Zr", "Cl"])
    for pair, limit in table.items():
        a, b = (sorted(pair) * 2)[:2]
        expected = MIN_DISTANCE_FACTOR * (covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])
        assert limit == pytest.approx(expected)
    # Stated in the README: Li–Cl 1.15 Å, Zr–Cl 1.39 Å.
    assert table[frozenset({"Li", "Cl"})] == pytest.approx(1.15)
    assert table[frozenset({"Zr", "Cl"})] == pytest.approx(1.385)


def test_atoms_0p1_angstrom_apart_are_refused_with_file_and_atoms():
    from lizrcl_tools.structures.checks import check_input_structure

    with pytest.raises(ParseError) as err:
        check_input_structure(_pair("Li", "Cl", 0.1), "frame 1", path="cell.extxyz")
    msg = str(err.value)
    assert msg.startswith("cell.extxyz: frame 1:")
    assert "#1 (Li) and #2 (Cl) are 0.100 Å apart" in msg and "1.15 Å" in msg and "--min-distance" in msg


def test_min_distance_threshold_is_sharp_and_per_pair():
    from lizrcl_tools.structures.checks import check_min_distance, input_min_distances, parse_min_distance

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
    from lizrcl_tools.structures.checks import check_input_structure, check_min_distance

    # One Li in a 1.0 Å-long periodic cell overlaps its own image.
    with pytest.raises(SetupError, match="own periodic image"):
        check_min_distance(Atoms("Li", cell=[1.0, 6, 6], pbc=True))
    # Through the boundary: 0.2 Å apart across the face of the cell.
    atoms = Atoms("LiCl", positions=[[0.1, 1, 1], [7.9, 1, 1]], cell=[8] * 3, pbc=True)
    with pytest.raises(SetupError, match="0.200 Å"):
        check_min_distance(atoms)
    check_input_structure(build("li2zrcl6-p3m1", n_atoms=432))


def test_non_finite_positions_and_flat_cells_are_refused():
    from lizrcl_tools.structures.checks import check_input_structure

    atoms = _pair("Li", "Cl", 2.5)
    atoms.positions[1, 2] = np.nan
    with pytest.raises(SetupError, match=r"#2 \(Cl\) has a non-finite position"):
        check_input_structure(atoms)
    flat = Atoms("LiCl", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[[5, 0, 0], [0, 5, 0], [5, 5, 0]], pbc=True)
    with pytest.raises(SetupError, match="zero volume"):
        check_input_structure(flat)


# --- The overwrite policy (fileio) ---------------------------------------------------------

def test_finished_result_is_refused_then_replaced_with_numbered_backups(tmp_path):
    from lizrcl_tools.fileio import backup_path, check_output, write_text_atomic

    target = tmp_path / "train.extxyz"
    write_text_atomic(target, "first\n", force=False)
    with pytest.raises(SetupError, match=r"train.extxyz already exists; refusing.*--force.*train.bak1.extxyz"):
        write_text_atomic(target, "second\n", force=False)
    with pytest.raises(SetupError, match="already exists"):
        check_output(target)
    assert target.read_text() == "first\n"
    write_text_atomic(target, "second\n", force=True)
    write_text_atomic(target, "third\n", force=True)
    assert target.read_text() == "third\n"
    assert (tmp_path / "train.bak1.extxyz").read_text() == "first\n"
    assert (tmp_path / "train.bak2.extxyz").read_text() == "second\n"
    assert backup_path(target).name == "train.bak3.extxyz"
    assert backup_path(tmp_path / "POSCAR").name == "POSCAR.bak1"


def test_output_under_a_file_or_onto_a_folder_is_a_clear_error(tmp_path):
    from lizrcl_tools.fileio import write_json_atomic

    (tmp_path / "taken").write_text("a file")
    with pytest.raises(SetupError, match=r"taken is a file, not a folder"):
        write_json_atomic(tmp_path / "taken" / "sub" / "r.json", {})
    with pytest.raises(SetupError, match="it is a folder"):
        write_json_atomic(tmp_path, {})


# --- The structure reader -----------------------------------------------------------------

PARTIAL_CIF = """data_licl_half
_cell_length_a 5.13
_cell_length_b 5.13
_cell_length_c 5.13
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'F m -3 m'
_symmetry_Int_Tables_number 225
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
Li1 Li 0 0 0 {occ}
Cl1 Cl 0.5 0.5 0.5 1.0
"""


def test_partially_occupied_cif_site_is_refused_with_file_line_and_site(tmp_path):
    from lizrcl_tools.fileio import read_structure

    path = tmp_path / "half.cif"
    path.write_text(PARTIAL_CIF.format(occ=0.5))
    with pytest.raises(ParseError, match=r"half.cif:17: site Li1 \(Li\) has occupancy 0.5"):
        read_structure(path)
    path.write_text(PARTIAL_CIF.format(occ=1.0))
    atoms = read_structure(path)  # the fully occupied version is rock salt: 4 Li + 4 Cl
    assert atoms.get_chemical_formula() == "Cl4Li4"


def test_reader_refuses_close_atoms_unless_the_limit_is_lowered(tmp_path):
    from lizrcl_tools.fileio import read_structure

    path = tmp_path / "POSCAR"
    path.write_text("LiCl\n1.0\n5 0 0\n0 5 0\n0 0 5\nLi Cl\n1 1\nDirect\n0 0 0\n0.02 0 0\n")
    with pytest.raises(ParseError, match=r"POSCAR: atoms #1 \(Li\) and #2 \(Cl\) are 0.100 Å apart"):
        read_structure(path)
    assert len(read_structure(path, min_distance={"Li-Cl": 0.05})) == 2


@pytest.mark.parametrize(
    "text, where",
    [
        ("", "the file is empty"),
        ("\n  \n", "the file is empty"),
        ("LiCl\n1.0\n5 0 0\n0 5\n0 0 5\nLi Cl\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n",
         r"POSCAR:4: expected lattice vector 2"),
        ("LiCl\n1.0\n5 0 0\n0 5 0\n0 0 5\nLi Cl\none 1\nDirect\n0 0 0\n0.5 0.5 0.5\n",
         r"POSCAR:7: expected the atom counts"),
        ("LiCl\n1.0\n5 0 0\n0 5 0\n0 0 5\nLi Cl\n1 1\nDirect\n0 0 0\n", r"POSCAR:9: the file ends before line 10, where coordinates of atom 2 of 2"),
    ],
)
def test_empty_or_garbled_poscar_names_the_line(tmp_path, text, where):
    from lizrcl_tools.fileio import read_structure

    path = tmp_path / "POSCAR"
    path.write_text(text)
    with pytest.raises(ParseError, match=where):
        read_structure(path)


# --- evaluate: the model file -------------------------------------------------------------

def test_evaluate_refuses_a_file_that_is_not_a_model_before_loading(tmp_path):
    import zipfile

    from lizrcl_tools.potential.evaluate import check_model_file, default_model_path, evaluate_file

    data = tmp_path / "data.extxyz"
    data.write_text("unused: the model is checked first\n")
    text = tmp_path / "notes.model"
    text.write_text("not a model\n")
    with pytest.raises(ParseError, match=r"notes.model: not a torch.save file \(starts with 'not a model'\)"):
        evaluate_file(data, model=text)
    empty = tmp_path / "empty.model"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match="the file is empty"):
        check_model_file(empty)
    exported = tmp_path / "m-lammps.pt"
    with zipfile.ZipFile(exported, "w") as archive:
        archive.writestr("m-lammps/code/__torch__.py", "")
        archive.writestr("m-lammps/constants.pkl", "")
    with pytest.raises(ParseError, match="TorchScript export"):
        check_model_file(exported)
    with pytest.raises(SetupError, match="does not exist"):
        check_model_file(tmp_path / "missing.model")
    shipped = default_model_path()
    assert shipped is not None and check_model_file(shipped) == shipped


def test_vasp_collect_refuses_an_existing_dataset_unless_forced(tmp_path, vasp_fixture):
    import ase.io

    from lizrcl_tools.cli import run

    run_file = str(vasp_fixture("NaCl_static.vasprun.xml.gz"))
    out = tmp_path / "train.extxyz"
    out.write_text("finished dataset\n")
    with pytest.raises(SetupError, match="train.extxyz already exists; refusing to overwrite a finished dataset"):
        run(["vasp", "collect", run_file, "-o", str(out)])
    assert out.read_text() == "finished dataset\n"
    assert run(["vasp", "collect", run_file, "-o", str(out), "--force"]) == 0
    assert len(ase.io.read(out, index=":")) >= 1
    assert (tmp_path / "train.bak1.extxyz").read_text() == "finished dataset\n"


def test_export_refuses_an_existing_export_before_compiling(tmp_path):
    from lizrcl_tools.potential.evaluate import default_model_path
    from lizrcl_tools.potential.export import export_model

    out = tmp_path / "model-lammps.pt"
    out.write_bytes(b"finished export")
    with pytest.raises(SetupError, match="model-lammps.pt already exists; refusing .*--force"):
        export_model(default_model_path(), out, dtype="float32", force=False)
    assert out.read_bytes() == b"finished export"


def test_cell_thinner_than_twice_the_cutoff_only_where_unsupported():
    from lizrcl_tools.structures.checks import check_cell_vs_cutoff

    cell = build("li2zrcl6-p3m1")  # c ≈ 5.96 Å
    check_cell_vs_cutoff(cell, 5.0, small_cell_ok=True)
    with pytest.raises(SetupError, match=r"5.96 Å thick .* twice the 5.0 Å cutoff .* at least 2 × 2 × 2"):
        check_cell_vs_cutoff(cell, 5.0, small_cell_ok=False)
    check_cell_vs_cutoff(cell.repeat((2, 2, 2)), 5.0, small_cell_ok=False)
