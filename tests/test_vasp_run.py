"""``vasp run``: one Parsl task per VASP folder with a stand-in VASP command that writes a real
vasprun.xml (read in place from ../shared/fixtures/vasp); complete folders get no task; then
``vasp collect`` gives the fixtures' frames."""

from __future__ import annotations

import gzip
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest

from lizrcl_tools import keys
from lizrcl_tools.cluster.config import local_cluster
from lizrcl_tools.cluster.session import ENGINE_DIR
from lizrcl_tools.cluster.tasks import execution_log
from lizrcl_tools.errors import RunFailed, SetupError
from lizrcl_tools.vasp.collect import collect, read_vasp_output
from lizrcl_tools.vasp.run import run_vasp_folders, vasprun_complete

POSCAR = "NaCl\n1.0\n5.6 0 0\n0 5.6 0\n0 0 5.6\nNa Cl\n1 1\nDirect\n0 0 0\n0.5 0.5 0.5\n"


def make_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "INCAR").write_text("ENCUT = 520\nNSW = 0\n")
    (path / "POSCAR").write_text(POSCAR)
    (path / "KPOINTS").write_text("Auto\n0\nAuto\n25\n")
    return path


def stand_in(fixture: Path) -> str:
    """A 'VASP' that prints a line and writes the fixture's vasprun.xml into the current folder."""
    code = (f"import gzip, shutil; print('stand-in vasp'); "
            f"shutil.copyfileobj(gzip.open({str(fixture)!r}), open('vasprun.xml', 'wb'))")
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def frames_equal(got, expected) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.get_chemical_formula() == b.get_chemical_formula()
        assert a.info[keys.REF_ENERGY] == b.info[keys.REF_ENERGY]
        np.testing.assert_array_equal(a.arrays[keys.REF_FORCES], b.arrays[keys.REF_FORCES])


def test_vasp_run_sends_one_task_per_incomplete_folder_then_collect(tmp_path, vasp_fixture):
    nacl, li = vasp_fixture("NaCl_static.vasprun.xml.gz"), vasp_fixture("Li_relax.vasprun.xml.gz")
    runs = tmp_path / "runs"
    a, b, c = (make_folder(runs / name) for name in ("a", "b", "c"))
    (c / "vasprun.xml").write_bytes(gzip.open(li).read())  # c finished earlier
    # a folder killed mid-write is not complete
    (b / "vasprun.xml").write_bytes(gzip.open(nacl).read()[:5000])
    assert vasprun_complete(b) is None and vasprun_complete(c)["n_steps"] > 1

    report = run_vasp_folders([runs], local_cluster(2), command=stand_in(nacl))
    assert report.ran == [a, b] and report.skipped == [c]
    assert [e["event"] for e in execution_log(runs, "vasp-a")] == ["start", "end"]
    assert [e["event"] for e in execution_log(runs, "vasp-b")] == ["start", "end"]
    assert execution_log(runs, "vasp-c") == []  # no task was sent for the complete folder
    assert (a / "vasp.out").read_text() == "stand-in vasp\n"  # the command ran inside the folder

    result = collect([runs])
    expected = read_vasp_output(nacl)[0] * 2 + read_vasp_output(li)[0]  # a, b, c in path order
    frames_equal(result.frames, expected)
    assert report.results[str(a)]["energy_eV"] == expected[0].info[keys.REF_ENERGY]

    sessions = sorted((runs / ENGINE_DIR / "parsl").iterdir())
    again = run_vasp_folders([runs], local_cluster(2), command=stand_in(nacl))
    assert again.ran == [] and again.skipped == [a, b, c]
    assert [len(execution_log(runs, f"vasp-{k}")) for k in "abc"] == [2, 2, 0]
    assert sorted((runs / ENGINE_DIR / "parsl").iterdir()) == sessions  # no engine was started


def test_vasp_run_failures_name_the_folder_and_quote_the_output(tmp_path, vasp_fixture):
    from lizrcl_tools.cli import run

    nacl = vasp_fixture("NaCl_static.vasprun.xml.gz")
    folder = make_folder(tmp_path / "x")
    with pytest.raises(RunFailed, match=r"x: 'echo boom; exit 3' exited with status 3.*\n.*boom"):
        run_vasp_folders([folder], command="echo boom; exit 3")
    with pytest.raises(RunFailed, match="left no complete vasprun.xml"):
        run_vasp_folders([folder], command="echo '<?xml version=\"1.0\"?><modeling>' > vasprun.xml")
    with pytest.raises(SetupError, match="no folder with an INCAR"):
        run_vasp_folders([make_empty(tmp_path / "empty")], command="true")
    # the CLI, serial: runs the folder, then a rerun finds it complete
    assert run(["vasp", "run", str(folder), "--command", stand_in(nacl)]) == 0
    assert vasprun_complete(folder)["energy_eV"] == read_vasp_output(nacl)[0][-1].info[keys.REF_ENERGY]
    assert run_vasp_folders([folder], command="exit 1").skipped == [folder.resolve()]


def make_empty(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.filterwarnings("ignore:No POTCAR file")  # pymatgen, reading the vasprun without POTCARs
def test_vasp_run_under_custodian(tmp_path, vasp_fixture):
    pytest.importorskip("custodian")
    nacl = vasp_fixture("NaCl_static.vasprun.xml.gz")
    folder = make_folder(tmp_path / "c")
    report = run_vasp_folders([folder], command=stand_in(nacl), custodian=True)
    assert report.ran == [folder.resolve()]
    assert (folder / "custodian.json").exists()  # custodian's record of the (error-free) run
    frames_equal(collect([folder]).frames, read_vasp_output(nacl)[0])


def neb_stand_in(fixture: Path) -> str:
    """A 'VASP NEB' run from the band's folder: writes the fixture's vasprun.xml into every moving
    image (01 … NN-1, none into the endpoints, as VASP) and counts its runs in runs.log."""
    code = "\n".join([
        "import gzip, pathlib, shutil",
        "print('stand-in neb')",
        "open('runs.log', 'a').write('run\\n')",
        "images = sorted(p for p in pathlib.Path('.').iterdir() if p.is_dir() and p.name.isdigit())",
        "for image in images[1:-1]:",
        f"    with gzip.open({str(fixture)!r}) as src, open(image / 'vasprun.xml', 'wb') as dst:",
        "        shutil.copyfileobj(src, dst)",
    ])
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"


def licl_band(n_images: int):
    from ase.build import bulk

    start = bulk("LiCl", "rocksalt", a=5.13, cubic=True)
    end = start.copy()
    end.positions[0] += [0.6, 0.0, 0.0]
    images = []
    for k in range(n_images + 2):
        image = start.copy()
        image.positions += (end.positions - start.positions) * k / (n_images + 1)
        images.append(image)
    return images


@pytest.mark.filterwarnings("ignore:No POTCAR")
def test_vasp_run_runs_a_neb_band_as_one_task_and_collect_reads_its_images(tmp_path, vasp_fixture):
    from lizrcl_tools.errors import LizrclWarning
    from lizrcl_tools.vasp.neb_folders import write_vasp_neb
    from lizrcl_tools.vasp.run import find_run_folders, neb_complete

    nacl, li = vasp_fixture("NaCl_static.vasprun.xml.gz"), vasp_fixture("Li_relax.vasprun.xml.gz")
    runs = tmp_path / "runs"
    band = write_vasp_neb(licl_band(3), runs / "neb").resolve()
    plain = make_folder(runs / "plain").resolve()
    (plain / "vasprun.xml").write_bytes(gzip.open(li).read())
    assert find_run_folders([runs]) == [band, plain] and neb_complete(band) is None

    report = run_vasp_folders([runs], local_cluster(2), command=neb_stand_in(nacl))
    assert report.ran == [band] and report.skipped == [plain]
    assert [e["event"] for e in execution_log(runs, "vasp-neb")] == ["start", "end"]  # one task, the band
    assert (band / "runs.log").read_text() == "run\n" and (band / "vasp.out").read_text() == "stand-in neb\n"
    # outputs in the moving images only, as VASP writes them
    assert [(band / f"{k:02d}" / "vasprun.xml").is_file() for k in range(5)] == [False, True, True, True, False]
    energy = read_vasp_output(nacl)[0][-1].info[keys.REF_ENERGY]
    info = report.results[str(band)]
    assert info["neb_images"] == 3 and info["image_energies_eV"] == [energy] * 3 and info["energy_eV"] == energy

    # one truncated image: the band is incomplete and runs again as a whole; then nothing is left to run
    image2 = band / "02" / "vasprun.xml"
    image2.write_bytes(image2.read_bytes()[:3000])
    assert neb_complete(band) is None
    again = run_vasp_folders([runs], local_cluster(2), command=neb_stand_in(nacl))
    assert again.ran == [band] and again.skipped == [plain] and (band / "runs.log").read_text() == "run\n" * 2
    assert neb_complete(band)["n_steps"] == 1
    assert run_vasp_folders([runs], command="exit 1").skipped == [band, plain]
    assert len(execution_log(runs, "vasp-neb")) == 4

    # collect: every ionic step of images 01 … 03 in image order, tagged, with the forces warning
    with pytest.warns(LizrclWarning, match="NEB band"):
        result = collect([band])
    single = read_vasp_output(nacl)[0]
    frames_equal(result.frames, single * 3)
    assert [f.info["neb_image"] for f in result.frames] == [k for k in (1, 2, 3) for _ in single]
    assert {f.info[keys.CONFIG_TYPE] for f in result.frames} == {"neb_image"}
    assert any("NEB force" in note for note in result.notes)

    # a band missing an endpoint folder, and custodian on a band, are refused before anything runs
    with pytest.raises(SetupError, match="custodian"):
        run_vasp_folders([band], command="true", custodian=True)
    shutil_rmtree(band / "04")
    with pytest.raises(SetupError, match="IMAGES = 3 but 04/POSCAR is missing"):
        run_vasp_folders([runs], command="true")


@pytest.mark.filterwarnings("ignore:No POTCAR")
def test_images_tag_as_written_and_as_a_person_writes_it(tmp_path):
    from lizrcl_tools.vasp.neb_folders import read_images_tag, write_vasp_neb

    band = write_vasp_neb(licl_band(3), tmp_path / "neb")
    assert read_images_tag(band / "INCAR") == 3  # round trip of the writer's INCAR
    incar = tmp_path / "INCAR"
    for text, images in (("ENCUT = 400\n", None), ("ENCUT = 400; images = 5 ! five moving\n", 5),
                         ("# IMAGES = 2\nIMAGES = 0\n", 0)):
        incar.write_text(text)
        assert read_images_tag(incar) == images, text
    for bad in ("abc", "-2", ".TRUE."):
        incar.write_text(f"IMAGES = {bad}\n")
        with pytest.raises(SetupError, match=rf"{incar.name}: IMAGES = .* is not a whole number"):
            read_images_tag(incar)


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)
