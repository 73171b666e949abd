"""Core plumbing: the CLI registry, error reporting and atomic file output."""

from __future__ import annotations

import os

import pytest

from lizrcl_tools import __version__, cli
from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.fileio import atomic_path, write_atoms_atomic, write_json_atomic


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.run(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.run([name, "--help"])
    assert exc.value.code == 0
    assert "usage: lizrcl" in capsys.readouterr().out


def test_main_prints_toolkit_errors_without_traceback(monkeypatch, capsys):
    def boom(argv=None):
        raise ParseError("data/TrainStr.txt", "expected 'lat' line", line=12)

    monkeypatch.setattr(cli, "run", boom)
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert "data/TrainStr.txt:12: expected 'lat' line" in err
    assert "Traceback" not in err


def test_atomic_path_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_atomic_json_refuses_overwrite_when_asked(tmp_path):
    target = write_json_atomic(tmp_path / "r.json", {"D_cm2_s": 1e-6})
    with pytest.raises(SetupError, match="refusing to overwrite"):
        write_json_atomic(target, {"D_cm2_s": 2e-6}, overwrite=False)
    assert '"D_cm2_s": 1e-06' in target.read_text()


def test_atomic_output_respects_umask(tmp_path):
    old = os.umask(0o022)
    try:
        target = write_json_atomic(tmp_path / "shared.json", {})
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644


def test_iter_structures_reads_single_frame_formats_and_lammps_types(tmp_path):
    from ase.build import bulk

    from lizrcl_tools.structures import build, write_structure
    from lizrcl_tools.fileio import iter_structures, read_structure

    cell = build("li2zrcl6-p3m1")
    write_structure(cell, tmp_path / "cell.data")
    back = read_structure(tmp_path / "cell.data")
    # Type order Li, Zr, Cl survives the round trip through a LAMMPS data file.
    assert back.get_chemical_formula() == cell.get_chemical_formula()
    assert abs(back.get_volume() - cell.get_volume()) < 1e-6
    write_atoms_atomic(tmp_path / "POSCAR", [bulk("LiCl", "rocksalt", a=5.13)])
    assert len(list(iter_structures(tmp_path / "POSCAR"))) == 1


def test_iter_structures_never_yields_nothing_silently(tmp_path):
    from lizrcl_tools.fileio import iter_structures

    empty = tmp_path / "empty.extxyz"
    empty.write_text("")
    with pytest.raises(ParseError, match="empty.extxyz"):
        list(iter_structures(empty))
