"""lizrcl vasp collect: frames checked number by number against independent readers.

pymatgen's Vasprun (ionic_steps, raw kB stress, VASP sign) and ASE's OUTCAR reader are the
references; unit conversions use ase.units, never typed constants.
"""

from __future__ import annotations

import gzip
import shutil
import warnings

import numpy as np
import pytest
from ase.units import GPa

from lizrcl_tools import keys
from lizrcl_tools.vasp.collect import collect, find_vasp_outputs, read_vasp_output
from lizrcl_tools.errors import ParseError, SkippedDataWarning


def _pmg_vasprun(path):
    from pymatgen.io.vasp import Vasprun

    return Vasprun(
        str(path), parse_dos=False, parse_eigen=False, parse_potcar_file=False,
        parse_projected_eigen=False,
    )


def _ase_voigt_from_kbar(s3x3):
    """VASP kB (compression positive) -> ASE Voigt eV/Å³ (tension positive)."""
    s = -0.1 * GPa * np.asarray(s3x3)
    return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])


@pytest.mark.filterwarnings("ignore::UserWarning:pymatgen")
@pytest.mark.parametrize(
    "name, n_steps, config_type",
    [
        ("LGPS_aimd.vasprun.xml.gz", 264, "md"),
        ("Li_relax.vasprun.xml.gz", 3, "relax"),
        ("LiF_r2scan.vasprun.xml.gz", 1, "static"),
    ],
)
def test_vasprun_frames_match_pymatgen(vasp_fixture, name, n_steps, config_type):
    path = vasp_fixture(name)
    frames, report = read_vasp_output(path)
    steps = _pmg_vasprun(path).ionic_steps
    assert len(steps) == n_steps
    assert len(frames) == n_steps and report.n_frames == n_steps
    for i, (atoms, step) in enumerate(zip(frames, steps)):
        assert atoms.info[keys.REF_ENERGY] == pytest.approx(step["e_fr_energy"], abs=1e-8)
        np.testing.assert_allclose(atoms.arrays[keys.REF_FORCES], step["forces"], atol=1e-8)
        np.testing.assert_allclose(
            atoms.info[keys.REF_STRESS], _ase_voigt_from_kbar(step["stress"]), atol=1e-12
        )
        np.testing.assert_allclose(atoms.positions, step["structure"].cart_coords, atol=1e-6)
        np.testing.assert_allclose(atoms.cell[:], step["structure"].lattice.matrix, atol=1e-8)
        assert atoms.info[keys.SOURCE] == f"{path}:{i}"
        assert atoms.info[keys.SOURCE_STEP] == i
        assert atoms.info[keys.CONFIG_TYPE] == config_type
        assert atoms.calc is None  # labels only as REF_*, never duplicated


def test_lgps_stress_sign_is_ase_convention(vasp_fixture):
    """LGPS AIMD is compressed (VASP kB negative diagonal => ASE stress positive = tensile)."""
    import ase.io

    path = vasp_fixture("LGPS_aimd.vasprun.xml.gz")
    frames, _ = read_vasp_output(path, last_only=True)
    ref = ase.io.read(path, index=-1)
    np.testing.assert_allclose(frames[0].info[keys.REF_STRESS], ref.get_stress(), atol=1e-12)
    assert frames[0].info[keys.SOURCE_STEP] == 263


def test_outcar_matches_ase_and_its_vasprun(vasp_fixture):
    import ase.io
    from pymatgen.io.vasp import Outcar

    outcar = vasp_fixture("NaCl_static.OUTCAR.gz")
    frames, report = read_vasp_output(outcar)
    assert report.kind == "outcar" and report.n_steps == 1 and report.nelm == 200
    ref = ase.io.read(outcar, index=":", format="vasp-out")
    assert len(frames) == len(ref) == 1
    a, r = frames[0], ref[0]
    assert a.get_chemical_symbols() == r.get_chemical_symbols()
    assert a.info[keys.REF_ENERGY] == pytest.approx(Outcar(str(outcar)).final_energy, abs=1e-8)
    np.testing.assert_allclose(a.arrays[keys.REF_FORCES], r.get_forces(), atol=1e-8)
    np.testing.assert_allclose(a.info[keys.REF_STRESS], r.get_stress(), atol=1e-12)
    # Same run read from its vasprun.xml gives the same labels (OUTCAR prints fewer digits).
    (v,), _ = read_vasp_output(vasp_fixture("NaCl_static.vasprun.xml.gz"))
    assert v.info[keys.REF_ENERGY] == pytest.approx(a.info[keys.REF_ENERGY], abs=1e-6)
    np.testing.assert_allclose(v.arrays[keys.REF_FORCES], a.arrays[keys.REF_FORCES], atol=1e-5)
    np.testing.assert_allclose(v.info[keys.REF_STRESS], a.info[keys.REF_STRESS], atol=1e-6)


@pytest.mark.filterwarnings("ignore:.*unconverged VASP run")
def test_unconverged_scf_steps_are_skipped_and_counted(vasp_fixture):
    path = vasp_fixture("VO_unconverged_scf.vasprun.xml.gz")
    vr = _pmg_vasprun(path)
    nelm = vr.parameters["NELM"]
    expected = sum(len(s["electronic_steps"]) >= nelm for s in vr.ionic_steps)
    assert expected == len(vr.ionic_steps) == 5  # the fixture: every step hit NELM
    with pytest.warns(SkippedDataWarning, match=f"skipped {expected} SCF-unconverged"):
        result = collect([path, vasp_fixture("Li_relax.vasprun.xml.gz")])
    assert result.n_skipped_unconverged == expected
    assert len(result.frames) == 3  # only Li_relax's steps
    by_file = {s.path: s.n_skipped_unconverged for s in result.sources}
    assert by_file[str(path)] == expected
    assert "5 ionic step(s) skipped" in result.summary()


def test_converged_files_raise_no_warning(vasp_fixture):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = collect([vasp_fixture("Li_relax.vasprun.xml.gz")], last_only=True)
    assert result.n_skipped_unconverged == 0
    assert [f.info[keys.SOURCE_STEP] for f in result.frames] == [2]


def _run_tree(tmp_path, vasp_fixture):
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "deep").mkdir(parents=True)
    shutil.copy(vasp_fixture("Li_relax.vasprun.xml.gz"), tmp_path / "a" / "vasprun.xml.gz")
    deep = tmp_path / "b" / "deep"
    shutil.copy(vasp_fixture("NaCl_static.vasprun.xml.gz"), deep / "vasprun.xml.gz")
    shutil.copy(vasp_fixture("NaCl_static.OUTCAR.gz"), deep / "OUTCAR.gz")
    return tmp_path


def test_tree_prefers_vasprun_and_says_so(tmp_path, vasp_fixture):
    root = _run_tree(tmp_path, vasp_fixture)
    files, notes = find_vasp_outputs([root])
    assert [(p.relative_to(root).as_posix(), k) for p, k in files] == [
        ("a/vasprun.xml.gz", "vasprun"),
        ("b/deep/vasprun.xml.gz", "vasprun"),
    ]
    assert len(notes) == 1 and "ignoring the OUTCAR" in notes[0]
    result = collect([root])
    assert len(result.frames) == 3 + 1


def _truncated_xml(src, dst, fraction=0.5):
    text = gzip.open(src, "rt").read()
    dst.write_text(text[: int(len(text) * fraction)])
    return dst


def test_truncated_xml_names_file_and_line(tmp_path, vasp_fixture):
    bad = _truncated_xml(vasp_fixture("Li_relax.vasprun.xml.gz"), tmp_path / "vasprun.xml")
    with pytest.raises(ParseError, match=r"vasprun\.xml:\d+: corrupt or truncated XML") as err:
        read_vasp_output(bad)
    assert err.value.path == str(bad) and err.value.line > 100


def test_corrupt_gzip_is_a_parse_error(tmp_path, vasp_fixture):
    raw = vasp_fixture("Li_relax.vasprun.xml.gz").read_bytes()
    bad = tmp_path / "vasprun.xml.gz"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ParseError, match="vasprun.xml.gz"):
        read_vasp_output(bad)


def test_truncated_outcar_names_line(tmp_path, vasp_fixture):
    lines = gzip.open(vasp_fixture("NaCl_static.OUTCAR.gz"), "rt").read().splitlines(True)
    cut = next(i for i, s in enumerate(lines) if "TOTAL-FORCE" in s) + 4  # inside the block
    bad = tmp_path / "OUTCAR"
    bad.write_text("".join(lines[:cut]))
    with pytest.raises(ParseError, match=r"OUTCAR:\d+: file ends inside"):
        read_vasp_output(bad)


def test_tree_with_bad_file_fails_by_default_or_skips_with_count(tmp_path, vasp_fixture):
    root = _run_tree(tmp_path, vasp_fixture)
    (root / "c").mkdir()
    bad = _truncated_xml(vasp_fixture("Li_relax.vasprun.xml.gz"), root / "c" / "vasprun.xml")
    with pytest.raises(ParseError, match=str(bad)):
        collect([root])
    with pytest.warns(SkippedDataWarning, match="1 unreadable file"):
        result = collect([root], skip_bad=True)
    assert [p for p, _ in result.bad_files] == [str(bad)]
    assert len(result.frames) == 4


def test_elements_allow_list(vasp_fixture):
    with pytest.raises(ParseError, match=r"\['Li'\] not in the allowed list"):
        collect([vasp_fixture("Li_relax.vasprun.xml.gz")], elements=["Zr", "Cl"])
    assert len(collect([vasp_fixture("Li_relax.vasprun.xml.gz")], elements=["Li"]).frames) == 3


def test_cli_output_reads_in_mace_loader(tmp_path, vasp_fixture):
    """One CLI smoke test: the written extxyz trains in mace with its default keys."""
    import ase.io

    from lizrcl_tools.cli import run

    out = tmp_path / "train.extxyz"
    src = [vasp_fixture("Li_relax.vasprun.xml.gz"), vasp_fixture("NaCl_static.OUTCAR.gz")]
    assert run(["vasp", "collect", *map(str, src), "-o", str(out)]) == 0
    back = ase.io.read(out, index=":")
    assert len(back) == 4 and all(a.calc is None for a in back)

    from mace.data.utils import KeySpecification, load_from_xyz

    _, configs = load_from_xyz(str(out), KeySpecification.from_defaults())
    expected, _ = read_vasp_output(src[0])
    expected += read_vasp_output(src[1])[0]
    assert len(configs) == 4
    for conf, ref in zip(configs, expected):
        assert conf.properties["energy"] == pytest.approx(ref.info[keys.REF_ENERGY], abs=1e-8)
        np.testing.assert_allclose(conf.properties["forces"], ref.arrays[keys.REF_FORCES], atol=1e-8)
        np.testing.assert_allclose(
            np.ravel(conf.properties["stress"]), np.ravel(ref.info[keys.REF_STRESS]), atol=1e-10
        )
        assert conf.config_type == ref.info[keys.CONFIG_TYPE]


def test_foreign_outcar_beside_a_vasprun_is_detected(tmp_path, vasp_fixture):
    """Li relaxation vasprun.xml with an NaCl OUTCAR in the same folder: not one run."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(vasp_fixture("Li_relax.vasprun.xml.gz"), run / "vasprun.xml.gz")
    shutil.copy(vasp_fixture("NaCl_static.OUTCAR.gz"), run / "OUTCAR.gz")
    with pytest.raises(ParseError, match=r"OUTCAR\.gz.*is not the OUTCAR of .*vasprun\.xml\.gz \(\d+ vs \d+ ions"):
        collect([run])
    with pytest.warns(SkippedDataWarning, match="1 unreadable"):
        result = collect([run], skip_bad=True)
    assert len(result.frames) == 3 and result.bad_files[0][0] == str(run / "OUTCAR.gz")
    # The genuine pair passes the same check, and says it was checked.
    same = tmp_path / "same"
    same.mkdir()
    shutil.copy(vasp_fixture("NaCl_static.vasprun.xml.gz"), same / "vasprun.xml.gz")
    shutil.copy(vasp_fixture("NaCl_static.OUTCAR.gz"), same / "OUTCAR.gz")
    result = collect([same])
    assert len(result.frames) == 1 and any("same run (checked)" in n for n in result.notes)
