"""VASP presets and run-folder writer: round trips through pymatgen's readers, overrides, errors."""

from __future__ import annotations

import csv
import json
import math
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from lizrcl_tools.errors import ParseError, PresetError, SetupError
from lizrcl_tools.vasp.presets import (
    available_presets,
    load_preset,
    parse_incar_assignments,
    preset_dirs,
    read_incar_overrides,
)
from lizrcl_tools.vasp.folders import write_vasp_inputs

REPO = Path(__file__).resolve().parents[1]
PRESETS = ("pbe-relax", "pbe-static", "beef-static")
RANK = {"Li": 0, "Zr": 1, "Cl": 2}


@pytest.fixture(autouse=True)
def _no_paw_files(monkeypatch):
    """Make POTCAR handling independent of the developer's pymatgen settings."""
    from pymatgen.core import SETTINGS

    monkeypatch.delitem(SETTINGS, "PMG_VASP_PSP_DIR", raising=False)


def mixed_cell():
    """A Li–Zr–Cl cell whose atoms are NOT in Li, Zr, Cl order (rocksalt, one Li -> Zr)."""
    atoms = bulk("LiCl", "rocksalt", a=5.13, cubic=True).repeat((2, 1, 1))
    atoms[2].symbol = "Zr"
    atoms.rattle(0.02, seed=7)
    return atoms


def sorted_copy(atoms):
    order = sorted(range(len(atoms)), key=lambda i: RANK[atoms[i].symbol])  # stable
    return atoms[order]


def same_value(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12)
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()  # pymatgen capitalises strings on reading
    return a == b


def read_incar(path):
    from pymatgen.io.vasp.inputs import Incar

    return dict(Incar.from_file(path))


# --------------------------------------------------------------------------- presets


def test_presets_are_found_and_hold_the_study_settings():
    assert set(PRESETS) <= set(available_presets())
    assert not any(name.startswith("_") for name in available_presets())
    for name in PRESETS:
        preset = load_preset(name)
        # SI "DFT Calculations": 450 eV, SCF 5e-6 eV, automatic mesh of length 25.
        assert preset.incar["ENCUT"] == 450
        assert preset.incar["EDIFF"] == pytest.approx(5e-6, rel=1e-12)
        assert preset.kpoints_length == 25
        assert dict(preset.potcar_symbols) == {"Li": "Li_sv", "Zr": "Zr_sv", "Cl": "Cl"}
        assert preset.potcar_functional.startswith("PBE")
    assert load_preset("pbe-relax").incar["EDIFFG"] == pytest.approx(-0.05)
    beef = load_preset("beef-static").incar
    assert (beef["GGA"], beef["LUSE_VDW"], beef["LBEEFENS"]) == ("BF", True, True)
    assert beef["ZAB_VDW"] == pytest.approx(-1.8867)
    assert "GGA" not in load_preset("pbe-static").incar  # PBE is the POTCAR default


def test_wheel_data_files_cover_every_preset():
    """pyproject ships vasp_inputs/*.yaml so an installed wheel finds the same presets."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    data_files = config["tool"]["setuptools"]["data-files"]
    globs = [g for dest, gs in data_files.items() if dest.endswith("vasp_inputs") for g in gs]
    shipped = {p.name for g in globs for p in REPO.glob(g)}
    assert {f"{n}.yaml" for n in PRESETS} | {"_extra_incar_tags.yaml"} <= shipped
    # First folder searched: the repository's (editable install) or the wheel's copy.
    assert {f"{n}.yaml" for n in PRESETS} <= {p.name for p in preset_dirs()[0].glob("*.yaml")}


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("name", PRESETS)
def test_write_then_read_back_every_preset(tmp_path, name):
    from ase.io import read
    from pymatgen.io.vasp.inputs import Kpoints, KpointsSupportedModes, Poscar

    atoms = mixed_cell()
    report = write_vasp_inputs([atoms], name, tmp_path, {"ENCUT": 520, "ISMEAR": -5}, progress=False)
    folder = tmp_path / report.folders[0].folder
    expected = {**load_preset(name).incar, "ENCUT": 520, "ISMEAR": -5}

    incar = read_incar(folder / "INCAR")
    assert set(incar) == set(expected)
    for tag, value in expected.items():
        assert same_value(incar[tag], value), (tag, incar[tag], value)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        kpoints = Kpoints.from_file(folder / "KPOINTS")
    assert kpoints.style == KpointsSupportedModes.Automatic
    assert list(kpoints.kpts[0]) == [25]

    ref = sorted_copy(atoms)
    back = read(folder / "POSCAR", format="vasp")
    assert back.get_chemical_symbols() == ref.get_chemical_symbols()
    assert np.abs(back.cell.array - ref.cell.array).max() < 1e-6
    assert np.abs(back.positions - ref.positions).max() < 1e-6
    structure = Poscar.from_file(folder / "POSCAR").structure
    assert [s.specie.symbol for s in structure] == ref.get_chemical_symbols()
    assert np.abs(structure.cart_coords - ref.positions).max() < 1e-6

    assert (folder / "POTCAR.spec").read_text().split() == ["Li_sv", "Zr_sv", "Cl"]
    assert report.folders[0].reordered
    assert report.folders[0].formula == "Li7ZrCl8"


def test_strings_keep_their_spelling_and_equal_override_is_no_change(tmp_path):
    report = write_vasp_inputs(
        [bulk("LiCl", "rocksalt", a=5.13)], "beef-static", tmp_path, {"GGA": "bf"}, progress=False
    )
    assert report.applied_changes == []
    text = (tmp_path / "structure_00000" / "INCAR").read_text()
    assert "GGA = BF" in text  # pymatgen alone would write "Bf"


# --------------------------------------------------------------------------- overrides


def test_override_precedence_file_then_command_line(tmp_path):
    override_file = tmp_path / "my.yaml"
    override_file.write_text("incar:\n  ENCUT: 500\n  ISMEAR: -5\n  NCORE: 4\n  LASPH:\n")
    layers = [
        (str(override_file), read_incar_overrides(override_file)),
        ("--incar", parse_incar_assignments(["ENCUT=520", "ALGO=Fast", "NELM="])),
    ]
    report = write_vasp_inputs(
        [bulk("LiCl", "rocksalt", a=5.13)], "beef-static", tmp_path / "out", layers, progress=False
    )
    incar = read_incar(tmp_path / "out" / "structure_00000" / "INCAR")
    assert incar["ENCUT"] == 520  # command line beats the file, which beats the preset
    assert incar["ISMEAR"] == -5 and incar["NCORE"] == 4 and incar["ALGO"] == "Fast"
    assert "LASPH" not in incar and "NELM" not in incar  # null / empty value removes
    changes = {c.tag: c for c in report.applied_changes}
    assert set(changes) == {"ENCUT", "ISMEAR", "NCORE", "ALGO", "LASPH", "NELM"}
    assert (changes["ENCUT"].preset_value, changes["ENCUT"].value) == (450, 520)
    assert changes["ENCUT"].source == "--incar"
    assert changes["ISMEAR"].source == str(override_file)
    assert changes["NCORE"].action == "added" and changes["LASPH"].action == "removed"
    notes = (tmp_path / "out" / "structure_00000" / "NOTES.txt").read_text()
    assert "ENCUT: 450 -> 520.0 (from --incar)" in notes  # pymatgen types ENCUT as float
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert {c["tag"] for c in manifest["applied_changes"]} == set(changes)


def test_incar_file_override(tmp_path):
    incar_file = tmp_path / "INCAR.mine"
    incar_file.write_text("ENCUT = 600\nLREAL = Auto\n")
    assert read_incar_overrides(incar_file) == {"ENCUT": 600.0, "LREAL": "Auto"}


# --------------------------------------------------------------------------- errors


def test_unknown_incar_tag_in_override_is_an_error():
    with pytest.raises(PresetError, match=r"--incar: key 'ENCUTT': unknown INCAR tag"):
        parse_incar_assignments(["ENCUTT=520"])
    with pytest.raises(PresetError, match="expected TAG=VALUE"):
        parse_incar_assignments(["ENCUT"])


def test_unknown_section_and_unknown_tag_name_file_and_key(tmp_path):
    base = (REPO / "vasp_inputs" / "pbe-static.yaml").read_text()
    bad_section = tmp_path / "bad-section.yaml"
    bad_section.write_text(base + "\nparent: pbe-relax\n")
    with pytest.raises(PresetError, match=r"bad-section\.yaml: key 'parent': unknown section"):
        load_preset(bad_section)
    bad_tag = tmp_path / "bad-tag.yaml"
    bad_tag.write_text(base.replace("  NELM: 100", "  NELM: 100\n  NELMX: 3"))
    with pytest.raises(PresetError, match=r"bad-tag\.yaml: key 'NELMX': unknown INCAR tag"):
        load_preset(bad_tag)
    bad_type = tmp_path / "bad-type.yaml"
    bad_type.write_text(base.replace("EDIFF: 5.0e-6", "EDIFF: tight"))
    with pytest.raises(PresetError, match=r"'EDIFF': expected float"):
        load_preset(bad_type)
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text(base.replace("  NELM: 100", "  NELM: 100\n  ENCUT: 520"))
    with pytest.raises(ParseError, match=r"dup\.yaml:\d+: duplicate key 'ENCUT'"):
        load_preset(duplicate)


def test_yaml_exponent_without_dot_is_a_float(tmp_path):
    base = (REPO / "vasp_inputs" / "pbe-static.yaml").read_text()
    path = tmp_path / "exp.yaml"
    path.write_text(base.replace("EDIFF: 5.0e-6", "EDIFF: 1e-7"))
    assert load_preset(path).incar["EDIFF"] == pytest.approx(1e-7)


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(PresetError, match=r"'pbe-relx': unknown preset; available: .*pbe-relax"):
        load_preset("pbe-relx")


def test_element_without_potcar_is_an_error(tmp_path):
    with pytest.raises(PresetError, match=r"no POTCAR for Na"):
        write_vasp_inputs([bulk("NaCl", "rocksalt", a=5.64)], "pbe-static", tmp_path, progress=False)


# --------------------------------------------------------------------------- folders


def test_multiframe_extxyz_manifest_and_potcar_notice(tmp_path):
    from ase.io import write

    frames = []
    for i in range(5):
        atoms = mixed_cell()
        atoms.rattle(0.05, seed=i)
        frames.append(atoms)
    frames[3] = bulk("LiCl", "rocksalt", a=5.13)  # a different composition mid-file
    source = tmp_path / "md_frames.extxyz"
    write(source, frames)
    report = write_vasp_inputs([source], "pbe-static", tmp_path / "runs", progress=False)

    names = [f"md_frames_{i:05d}" for i in range(5)]
    assert [e.folder for e in report.folders] == names
    assert sorted(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir()) == names
    assert len(report.notices) == 1 and "PMG_VASP_PSP_DIR" in report.notices[0]
    assert report.potcar_file == "POTCAR.spec"
    assert (tmp_path / "runs" / names[3] / "POTCAR.spec").read_text().split() == ["Li_sv", "Cl"]
    assert "vdw_kernel.bindat" not in (tmp_path / "runs" / names[0] / "NOTES.txt").read_text()

    with open(tmp_path / "runs" / "manifest.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["folder"] for r in rows] == names
    assert [int(r["frame"]) for r in rows] == list(range(5))
    assert rows[3]["formula"] == "LiCl" and rows[3]["natoms"] == "2"
    assert rows[0]["formula"] == "Li7ZrCl8" and rows[0]["natoms"] == "16"
    manifest = json.loads((tmp_path / "runs" / "manifest.json").read_text())
    assert [f["folder"] for f in manifest["folders"]] == names
    assert all(f["source"] == str(source) for f in manifest["folders"])
    # No temporary folders are left behind.
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]


def test_beef_folder_has_the_kernel_note(tmp_path):
    report = write_vasp_inputs([bulk("LiCl", "rocksalt", a=5.13)], "beef-static", tmp_path, progress=False)
    notes = (tmp_path / report.folders[0].folder / "NOTES.txt").read_text()
    assert "vdw_kernel.bindat" in notes and "6.4.2" in notes


def test_existing_output_refuse_skip_overwrite(tmp_path):
    atoms = [bulk("LiCl", "rocksalt", a=5.13)]
    write_vasp_inputs(atoms, "pbe-static", tmp_path, progress=False)
    incar = tmp_path / "structure_00000" / "INCAR"
    with pytest.raises(SetupError, match="--overwrite"):
        write_vasp_inputs(atoms, "pbe-static", tmp_path, progress=False)
    again = write_vasp_inputs(atoms, "pbe-static", tmp_path, progress=False, existing="skip")
    assert (again.n_written, again.n_skipped) == (0, 1)
    with pytest.raises(SetupError, match="INCAR differs"):
        write_vasp_inputs(atoms, "pbe-static", tmp_path, {"ENCUT": 520}, progress=False, existing="skip")
    write_vasp_inputs(atoms, "pbe-static", tmp_path, {"ENCUT": 520}, progress=False, existing="overwrite")
    assert read_incar(incar)["ENCUT"] == 520


def test_left_handed_cell_keeps_positions(tmp_path):
    from ase.io import read

    atoms = mixed_cell()
    atoms.set_cell(atoms.cell.array[[1, 0, 2]], scale_atoms=False)  # det < 0, same positions
    assert np.linalg.det(atoms.cell.array) < 0
    report = write_vasp_inputs([atoms], "pbe-static", tmp_path, progress=False)
    back = read(tmp_path / "structure_00000" / "POSCAR", format="vasp")
    assert np.linalg.det(back.cell.array) > 0
    assert np.abs(back.positions - sorted_copy(atoms).positions).max() < 1e-6
    assert report.folders[0].cell_swapped and "left-handed" in report.structure_changes[1]


def test_cli_smoke(tmp_path, capsys):
    from ase.io import write

    from lizrcl_tools.cli import run

    source = tmp_path / "LiCl.vasp"
    write(source, bulk("LiCl", "rocksalt", a=5.13), format="vasp")
    out = tmp_path / "runs"
    assert run(["vasp", "write", str(source), "--preset", "pbe-relax", "-o", str(out),
                "--incar", "ENCUT=520", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "1 folder(s) written" in printed and "ENCUT: 450 -> 520" in printed
    assert "PMG_VASP_PSP_DIR" in printed  # the POTCAR notice, once
    assert read_incar(out / "LiCl_00000" / "INCAR")["EDIFFG"] == pytest.approx(-0.05)


def test_potcar_written_once_per_element_set_when_paw_files_are_configured(tmp_path, monkeypatch):
    """With PMG_VASP_PSP_DIR set, POTCAR comes from pymatgen's Potcar, built once per element set."""
    import pymatgen.io.vasp.inputs as pmg_inputs
    from pymatgen.core import SETTINGS

    built = []

    class FakePotcar:
        def __init__(self, symbols, functional):
            built.append((tuple(symbols), functional))
            self.text = "".join(f"PAW_PBE {s}\n" for s in symbols)

        def __str__(self):
            return self.text

    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(tmp_path / "psp"))
    monkeypatch.setattr(pmg_inputs, "Potcar", FakePotcar)
    frames = [mixed_cell(), bulk("LiCl", "rocksalt", a=5.13), mixed_cell()]
    report = write_vasp_inputs(frames, "pbe-static", tmp_path / "runs", progress=False)
    assert report.potcar_file == "POTCAR" and report.notices == []
    assert built == [(("Li_sv", "Zr_sv", "Cl"), "PBE_54"), (("Li_sv", "Cl"), "PBE_54")]
    folder = tmp_path / "runs" / "structure_00000"
    assert (folder / "POTCAR").read_text() == "PAW_PBE Li_sv\nPAW_PBE Zr_sv\nPAW_PBE Cl\n"
    assert not (folder / "POTCAR.spec").exists()


def test_folders_left_from_a_longer_earlier_run_are_reported(tmp_path):
    frames = [bulk("LiCl", "rocksalt", a=5.13 + 0.01 * i) for i in range(3)]
    write_vasp_inputs(frames, "pbe-static", tmp_path, progress=False)
    report = write_vasp_inputs(frames[:2], "pbe-static", tmp_path, progress=False, existing="overwrite")
    assert any("1 older run folder" in n and "structure_00002" in n for n in report.notices)


# --------------------------------------------------------------------------- issue 12 guards


def test_overwrite_never_deletes_vasp_outputs(tmp_path):
    atoms = [bulk("LiCl", "rocksalt", a=5.13)]
    report = write_vasp_inputs(atoms, "pbe-static", tmp_path, progress=False)
    folder = tmp_path / "structure_00000"
    (folder / "OUTCAR").write_text("finished run\n")
    (folder / "vasprun.xml").write_text("<modeling/>\n")
    before = (folder / "INCAR").read_text()
    with pytest.raises(SetupError, match=r"OUTCAR, vasprun\.xml.*never deleted"):
        write_vasp_inputs(atoms, "pbe-static", tmp_path, {"ENCUT": 520}, progress=False, existing="overwrite")
    assert (folder / "OUTCAR").read_text() == "finished run\n"
    assert (folder / "vasprun.xml").exists() and (folder / "INCAR").read_text() == before
    # The notice about missing PAW files must not send the user to a destructive flag.
    assert report.notices and not any("--overwrite" in n for n in report.notices)
    # A folder holding only inputs is still replaced.
    (folder / "OUTCAR").unlink()
    (folder / "vasprun.xml").unlink()
    write_vasp_inputs(atoms, "pbe-static", tmp_path, {"ENCUT": 520}, progress=False, existing="overwrite")
    assert read_incar(folder / "INCAR")["ENCUT"] == 520


def test_overlapping_atoms_are_refused_naming_frame_and_pair(tmp_path):
    from ase import Atoms
    from ase.io import write

    good = bulk("LiCl", "rocksalt", a=5.13)
    bad = Atoms("LiCl", positions=[[0, 0, 0], [0.1, 0, 0]], cell=[5.0, 5.0, 5.0], pbc=True)
    source = tmp_path / "frames.extxyz"
    write(source, [good, bad])
    with pytest.raises(ParseError, match=r"frames\.extxyz: frame 2 \(1-based\): atoms #1 \(Li\) and #2 \(Cl\) are 0\.100 Å apart.*Li–Cl is 1\.15 Å"):
        write_vasp_inputs([source], "pbe-static", tmp_path / "runs", progress=False)
    # The limit follows the pair: Li–Cl at 1.2 Å passes 0.5 × (1.28 + 1.02) = 1.15 Å.
    near = Atoms("LiCl", positions=[[0, 0, 0], [1.2, 0, 0]], cell=[5.0, 5.0, 5.0], pbc=True)
    write_vasp_inputs([near], "pbe-static", tmp_path / "near", progress=False)
    # In-memory frames get the same check (after reordering, so indices are Li, Zr, Cl order).
    with pytest.raises(SetupError, match=r"atoms #1 \(Li\) and #2 \(Cl\) are 0\.100 Å apart"):
        write_vasp_inputs([bad], "pbe-static", tmp_path / "mem", progress=False)
    report = write_vasp_inputs([bad], "pbe-static", tmp_path / "off", progress=False, min_distance=0)
    assert report.n_written == 1


@pytest.mark.parametrize(
    "item, message",
    [
        ("NSW=-1", "must be >= 0"),
        ("IBRION=4", "is not one of"),
        ("ISIF=9", "must be <= 8"),
        ("ISMEAR=-6", "must be >= -5"),
        ("ENCUT=0", "must be > 0"),
        ("EDIFF=-1e-6", "must be > 0"),
        ("ISPIN=3", "is not one of"),
        ("NELM=0", "must be >= 1"),
    ],
)
def test_incar_values_outside_vasp_rules_are_errors(item, message):
    with pytest.raises(PresetError, match=rf"--incar.*{item.split('=')[0]}.*{message}"):
        parse_incar_assignments([item])


def test_incar_values_inside_the_rules_pass_and_rules_apply_to_presets(tmp_path):
    ok = parse_incar_assignments(["NSW=0", "ISMEAR=-5", "ISMEAR=-14", "ISMEAR=2", "IBRION=-1", "ISIF=3"])
    assert ok["NSW"] == 0 and ok["ISMEAR"] == 2
    text = (REPO / "vasp_inputs" / "pbe-static.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  NSW: 0\n", "  NSW: -1\n", 1))
    with pytest.raises(PresetError, match=r"bad\.yaml.*NSW.*must be >= 0"):
        load_preset(bad)
