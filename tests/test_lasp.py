"""lizrcl data import-lasp: known numbers from a hand-written 3-structure pair, pairing errors
with their lines, archive input, and the stress convention checked against a VASP run."""

from __future__ import annotations

import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from ase.units import GPa

from lizrcl_tools import keys
from lizrcl_tools.errors import LizrclWarning, ParseError, SetupError
from lizrcl_tools.dataset.lasp import extract_lasp_pair, import_lasp, read_lasp

DATA = Path(__file__).parent / "data" / "lasp"
STR, FOR = DATA / "TrainStr.txt", DATA / "TrainFor.txt"


def _variant(tmp_path, name, src, edit):
    """Write ``edit(lines)`` of ``src`` to tmp_path/name (the committed files stay pristine)."""
    lines = src.read_text().splitlines(True)
    out = tmp_path / name
    out.write_text("".join(edit(lines)))
    return out


def test_known_numbers():
    frames = list(read_lasp(STR, FOR))
    assert [len(a) for a in frames] == [2, 5, 3]
    assert [a.info[keys.REF_ENERGY] for a in frames] == [-6.8421, -27.3015, -31.0152]
    assert frames[1].get_chemical_symbols() == ["Zr", "Cl", "Cl", "Cl", "Cl"]
    np.testing.assert_allclose(frames[0].cell[:], [[0, 2.565, 2.565], [2.565, 0, 2.565], [2.565, 2.565, 0]])
    np.testing.assert_allclose(frames[2].positions[2], [1.3, 4.1, 1.7])
    np.testing.assert_allclose(frames[1].arrays[keys.REF_FORCES][2], [-0.11, -0.18, 0.40])
    # LASP order xx xy xz yy yz zz = .011 .012 .013 .022 .023 .033 -> Voigt xx yy zz yz xz xy
    np.testing.assert_allclose(
        frames[2].info[keys.REF_STRESS], [0.011, 0.022, 0.033, 0.023, 0.013, 0.012]
    )
    assert [a.info[keys.SOURCE_STEP] for a in frames] == [0, 1, 2]
    assert frames[2].info[keys.SOURCE] == f"{STR}:2"
    assert all(a.calc is None and a.info[keys.CONFIG_TYPE] == "lasp" for a in frames)


def test_stress_units_and_order_options():
    (a, *_), (b, *_), (c, *_) = (
        list(read_lasp(STR, FOR, stress_unit=u))[2:] for u in ("eV/A3", "kbar", "GPa")
    )
    np.testing.assert_allclose(b.info[keys.REF_STRESS], a.info[keys.REF_STRESS] * 0.1 * GPa)
    np.testing.assert_allclose(c.info[keys.REF_STRESS], a.info[keys.REF_STRESS] * GPa)
    voigt = list(read_lasp(STR, FOR, stress_order="voigt"))[2]
    np.testing.assert_allclose(voigt.info[keys.REF_STRESS], [0.011, 0.012, 0.013, 0.022, 0.023, 0.033])
    assert keys.REF_STRESS not in list(read_lasp(STR, FOR, stress_unit="none"))[0].info


def test_vasp_to_lasp_convention_round_trip(tmp_path, vasp_fixture):
    """A pair written the way public VASP->LASP scripts write it (-kB / (kB per eV/Å³), order
    xx xy xz yy yz zz) reads back to exactly the labels collect() gives for the same run."""
    from lizrcl_tools.vasp.collect import read_vasp_output

    frames, _ = read_vasp_output(vasp_fixture("Li_relax.vasprun.xml.gz"))
    from pymatgen.io.vasp import Vasprun

    steps = Vasprun(str(vasp_fixture("Li_relax.vasprun.xml.gz")), parse_dos=False,
                    parse_eigen=False, parse_potcar_file=False).ionic_steps
    s_txt, f_txt = [], []
    for step in steps:
        st = step["structure"]
        s_txt += [" Start one structure", f"Energy is {step['e_fr_energy']:.8f} eV",
                  f"total number of element is {len(st)}", "element in structure:", "symbol Li",
                  "No. 3", f"number {len(st)}", "weight 1.000 1.000"]
        s_txt += [f"lat {v[0]:.10f} {v[1]:.10f} {v[2]:.10f}" for v in st.lattice.matrix]
        s_txt += [f"ele 3 {x:.10f} {y:.10f} {z:.10f} 0.0" for x, y, z in st.cart_coords]
        s_txt += [" End one structure", ""]
        kb = np.asarray(step["stress"])
        lasp = -kb / (1 / (0.1 * GPa))
        six = [lasp[0, 0], lasp[0, 1], lasp[0, 2], lasp[1, 1], lasp[1, 2], lasp[2, 2]]
        f_txt += [" Start one structure", "stress " + " ".join(f"{v:.12e}" for v in six)]
        f_txt += [f"force 3 {x:.10f} {y:.10f} {z:.10f}" for x, y, z in step["forces"]]
        f_txt += [" End one structure", ""]
    (tmp_path / "TrainStr.txt").write_text("\n".join(s_txt))
    (tmp_path / "TrainFor.txt").write_text("\n".join(f_txt))
    lasp_frames = list(read_lasp(tmp_path / "TrainStr.txt", tmp_path / "TrainFor.txt"))
    assert len(lasp_frames) == len(frames) == 3
    for a, b in zip(lasp_frames, frames):
        assert a.info[keys.REF_ENERGY] == pytest.approx(b.info[keys.REF_ENERGY], abs=1e-8)
        np.testing.assert_allclose(a.info[keys.REF_STRESS], b.info[keys.REF_STRESS], atol=1e-12)
        np.testing.assert_allclose(a.arrays[keys.REF_FORCES], b.arrays[keys.REF_FORCES], atol=1e-9)
        np.testing.assert_allclose(a.positions, b.positions, atol=1e-6)


def test_z_mismatch_names_trainfor_line_and_writes_nothing(tmp_path):
    # Line 10 of TrainFor.txt is structure 2's second force line (a Cl): claim it is Li.
    bad = _variant(tmp_path, "TrainFor.txt", FOR,
                   lambda ls: ls[:9] + [ls[9].replace("force   17", "force    3")] + ls[10:])
    out = tmp_path / "out.extxyz"
    out.write_text("previous result\n")
    with pytest.raises(ParseError, match=r"TrainFor\.txt:10: atom 2: Z=3 here but Z=17 in .*TrainStr\.txt:16"):
        import_lasp([STR, bad], out, progress=False, force=True)
    assert out.read_text() == "previous result\n"  # and no backup: nothing was replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["TrainFor.txt", "out.extxyz"]


def test_count_mismatch_both_ways(tmp_path):
    short_for = _variant(tmp_path, "TrainFor.txt", FOR, lambda ls: ls[:15])
    with pytest.raises(ParseError, match=r"TrainFor\.txt:15: file ends after this line, but .*TrainStr\.txt:34 still has"):
        list(read_lasp(STR, short_for))
    short_str = _variant(tmp_path, "TrainStr.txt", STR, lambda ls: ls[:33])
    with pytest.raises(ParseError, match=r"TrainFor\.txt:16: structure 3 here, but .* has only 2"):
        list(read_lasp(short_str, FOR))


def test_missing_force_line(tmp_path):
    bad = _variant(tmp_path, "TrainFor.txt", FOR, lambda ls: ls[:12] + ls[13:])
    with pytest.raises(ParseError, match=r"TrainFor\.txt:13: 4 force lines, but .* has 5 atoms"):
        list(read_lasp(STR, bad))


def test_unknown_and_disallowed_elements(tmp_path):
    bad = _variant(tmp_path, "TrainStr.txt", STR,
                   lambda ls: ls[:26] + [ls[26].replace("ele   40", "ele  140")] + ls[27:])
    with pytest.raises(ParseError, match=r"TrainStr\.txt:27: atomic number 140 is not an element"):
        list(read_lasp(bad, FOR))
    with pytest.raises(ParseError, match=r"TrainStr\.txt:27: element Zr \(Z=40\) is not in the allowed list"):
        list(read_lasp(STR, FOR, elements=["Li", "Cl"]))
    assert len(list(read_lasp(STR, FOR, elements=["Li", "Zr", "Cl"]))) == 3


def test_truncated_trainstr(tmp_path):
    bad = _variant(tmp_path, "TrainStr.txt", STR, lambda ls: ls[:28])
    with pytest.raises(ParseError, match=r"TrainStr\.txt:28: file ends after this line, where atom 3 of 5"):
        list(read_lasp(bad, FOR))


def test_suspicious_stress_magnitude_warns(tmp_path):
    kbar_like = _variant(tmp_path, "TrainFor.txt", FOR,
                         lambda ls: ls[:16] + ["stress 11 12 13 22 23 33\n"] + ls[17:])
    with pytest.warns(LizrclWarning, match="1 of 3 structures have .*check the unit"):
        list(read_lasp(STR, kbar_like))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(read_lasp(STR, kbar_like, stress_unit="kbar"))


def test_archive_input(tmp_path):
    archive = tmp_path / "Trainfile_LiZrCl.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(STR, arcname="Trainfile/TrainStr.txt")
        tar.add(FOR, arcname="Trainfile/TrainFor.txt")
        tar.add(DATA, arcname="Trainfile/other", recursive=False)
    (tmp_path / "x").mkdir()
    s, f = extract_lasp_pair(archive, tmp_path / "x")
    assert s.read_text() == STR.read_text() and f.read_text() == FOR.read_text()
    assert import_lasp([tmp_path / "x"], tmp_path / "from_dir.extxyz").n_structures == 3
    out = tmp_path / "train.extxyz"
    summary = import_lasp([archive], out, progress=False)
    assert (summary.n_structures, summary.n_atoms) == (3, 10)
    import ase.io

    back = ase.io.read(out, index=":")
    assert back[2].info[keys.SOURCE] == f"{archive}!TrainStr.txt:2"
    np.testing.assert_allclose(back[2].info[keys.REF_STRESS], [0.011, 0.022, 0.033, 0.023, 0.013, 0.012])
    only_str = tmp_path / "half.tar"
    with tarfile.open(only_str, "w") as tar:
        tar.add(STR, arcname="TrainStr.txt")
    with pytest.raises(ParseError, match=r"half\.tar: need exactly one trainfor\.txt .* found: \['none'\]"):
        import_lasp([only_str], tmp_path / "x.extxyz")


def test_cli_import_lasp(tmp_path):
    import ase.io

    from lizrcl_tools.cli import run

    out = tmp_path / "train.extxyz"
    assert run(["data", "import-lasp", str(STR), str(FOR), "-o", str(out), "--no-progress",
                "--elements", "Li,Zr,Cl"]) == 0
    back = ase.io.read(out, index=":")
    assert [a.info[keys.REF_ENERGY] for a in back] == [-6.8421, -27.3015, -31.0152]
    np.testing.assert_allclose(back[1].arrays[keys.REF_FORCES][0], [0.01, -0.02, 0.03])


def test_existing_dataset_is_refused_before_reading_and_force_keeps_a_backup(tmp_path):
    out = tmp_path / "train.extxyz"
    out.write_text("finished dataset\n")
    with pytest.raises(SetupError, match=r"train.extxyz already exists; refusing to overwrite a finished dataset.*--force"):
        import_lasp([STR, FOR], out)
    assert out.read_text() == "finished dataset\n"
    assert import_lasp([STR, FOR], out, force=True).n_structures == 3
    assert (tmp_path / "train.bak1.extxyz").read_text() == "finished dataset\n"


def test_nan_force_is_refused_at_its_line(tmp_path):
    # Line 10 of TrainFor.txt: structure 2, second force line.
    bad = _variant(tmp_path, "TrainFor.txt", FOR,
                   lambda ls: ls[:9] + [ls[9].replace("0.20000000", "nan")] + ls[10:])
    with pytest.raises(ParseError, match=r"TrainFor\.txt:10: non-finite number in a force \(0.10000000 nan 0.30000000\)"):
        import_lasp([STR, bad], tmp_path / "out.extxyz")
    assert not (tmp_path / "out.extxyz").exists()
    bad_e = _variant(tmp_path, "TrainStr.txt", STR, lambda ls: [ls[0], "Energy is   inf eV\n"] + ls[2:])
    with pytest.raises(ParseError, match=r"TrainStr\.txt:2: non-finite number in the energy line"):
        list(read_lasp(bad_e, FOR))


def test_files_in_swapped_order_are_named(tmp_path):
    with pytest.raises(ParseError, match=r"TrainFor\.txt:2: found a 'stress' line .*this is a TrainFor\.txt\. Give TrainStr\.txt first"):
        import_lasp([FOR, STR], tmp_path / "out.extxyz")


def test_overlapping_atoms_are_refused_with_structure_line(tmp_path):
    # Structure 3 starts at line 34; move its second Li (line 46) 0.1 Å from the first.
    close = _variant(tmp_path, "TrainStr.txt", STR, lambda ls: ls[:45] + [
        "ele    3      0.20000000       0.20000000       0.30000000       0.00000000\n"] + ls[46:])
    with pytest.raises(ParseError, match=r"TrainStr\.txt:34: structure 3: atoms #1 \(Li\) and #2 \(Li\) are 0.100 Å apart"):
        list(read_lasp(close, FOR))
    assert len(list(read_lasp(close, FOR, min_distance=0.05))) == 3
