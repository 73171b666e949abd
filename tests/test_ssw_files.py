"""Files given to ssw / minima / pes-map: foreign or malformed databases and checkpoints are
refused with the file named, readers never change a database, and a walk resumes only with its
own seed (issue 12)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from lizrcl_tools import cli
from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.ssw import MinimaDB, SSWParameters, SSWWalker
from lizrcl_tools.ssw.checkpoint import CHECKPOINT_VERSION, read_checkpoint
from lizrcl_tools.ssw.database import SCHEMA_NAME, SCHEMA_VERSION


def _tables(path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        con.close()


def _licl(rattle_seed: int | None = None) -> Atoms:
    atoms = bulk("LiCl", "rocksalt", a=5.13, cubic=True)
    if rattle_seed is not None:
        atoms.rattle(0.3, seed=rattle_seed)
    return atoms


def _readers(path, tmp_path):
    """The three ways a minima database is opened for reading: API, minima, pes-map."""
    return [
        lambda: MinimaDB(path).minima(),
        lambda: cli.run(["minima", str(path)]),
        lambda: cli.run(["pes-map", str(path), "-o", str(tmp_path / "map.png")]),
    ]


# --- databases --------------------------------------------------------------------------


def test_a_file_that_is_not_sqlite_is_refused_naming_it(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("minima, by hand\n")
    for read in _readers(path, tmp_path):
        with pytest.raises(ParseError, match=r"notes\.db: not an SQLite database \(expected a lizrcl minima"):
            read()
    _licl().write(tmp_path / "start.extxyz")
    with pytest.raises(ParseError, match="not an SQLite database"):  # before any LAMMPS work
        cli.run(["ssw", str(tmp_path / "start.extxyz"), "--db", str(path), "--checkpoint",
                 str(tmp_path / "walk.json"), "--potential", "classical"])
    assert path.read_text() == "minima, by hand\n"


def test_a_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE samples (x REAL)")
    con.commit()
    con.close()
    before = path.read_bytes()
    for read in _readers(path, tmp_path):
        with pytest.raises(ParseError, match=r"other\.db: an SQLite database of something else \(tables: samples"):
            read()
    with pytest.raises(ParseError, match="something else"):
        MinimaDB(path).add_minimum(_licl(), -10.0, seed=0, step=0)
    assert path.read_bytes() == before and _tables(path) == {"samples"}


def test_an_ase_database_of_other_rows_is_refused(tmp_path):
    import ase.db

    path = tmp_path / "ase.db"
    with ase.db.connect(path) as db:
        db.write(_licl(), relaxed=True)
    with pytest.raises(ParseError, match=r"ase\.db: an ASE database, but 1 of its 1 rows are not SSW minima"):
        MinimaDB(path).minima()


def test_minima_database_carries_the_lizrcl_schema_marker(tmp_path):
    path = tmp_path / "m.db"
    rec = MinimaDB(path).add_minimum(_licl(), -20.0, seed=3, step=0, potential="test")
    assert rec.new
    con = sqlite3.connect(path)
    assert con.execute("SELECT name, version FROM lizrcl_schema").fetchall() == [(SCHEMA_NAME, SCHEMA_VERSION)]
    con.close()
    assert [r.e_per_atom for r in MinimaDB(path).minima()] == pytest.approx([-20.0 / 8])


def test_readers_open_the_database_read_only_and_create_nothing(tmp_path):
    # A 0-byte file is a valid, empty SQLite database: a writer would create tables in it.
    empty = tmp_path / "empty.db"
    empty.touch()
    for read in _readers(empty, tmp_path)[:2]:
        read()
    assert empty.stat().st_size == 0
    assert MinimaDB(empty).count() == 0

    # A database written before the marker existed: read as it is, marked on the next write.
    legacy = tmp_path / "legacy.db"
    MinimaDB(legacy).add_minimum(_licl(), -20.0, seed=3, step=0)
    con = sqlite3.connect(legacy)
    con.execute("DROP TABLE lizrcl_schema")
    con.commit()
    con.close()
    before = legacy.read_bytes()
    for read in _readers(legacy, tmp_path):
        read()
    assert legacy.read_bytes() == before
    db = MinimaDB(legacy)
    # the connection readers get refuses writes outright
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db._read().write(Atoms("H"), kind="walk")
    db.add_minimum(_licl(rattle_seed=1), -19.0, seed=3, step=1)
    assert "lizrcl_schema" in _tables(legacy) and db.count() >= 1


# --- checkpoints ------------------------------------------------------------------------


def _checkpoint(**changes) -> dict:
    data = {
        "version": CHECKPOINT_VERSION, "seed": 5, "step": 2, "rng_state": np.random.default_rng(5).bit_generator.state,
        "symbols": ["Li", "Cl"], "cell": np.eye(3).tolist(), "positions": [[0, 0, 0], [0.5, 0.5, 0.5]],
        "energy": -3.0, "accepted": 1, "force_calls": 40, "db": "m.db", "params": {},
        "potential": {"name": "x"}, "history": [],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "text, message, line",
    [
        ('{\n  "version": 1,\n  "seed": 5\n  "step": 2\n}', "not valid JSON", 4),
        ("[1, 2]", "top level is a list", None),
        (json.dumps({k: v for k, v in _checkpoint().items() if k != "rng_state"}), "missing key.*rng_state", None),
        (json.dumps(_checkpoint(version=7)), "checkpoint version 7", None),
        (json.dumps(_checkpoint(positions=[[0, 0, 0]])), "'positions' must be an N x 3 array", None),
        (json.dumps(_checkpoint(seed="5")), "'seed' must be an integer", None),
    ],
)
def test_malformed_checkpoints_are_parse_errors_naming_file_and_line(tmp_path, text, message, line):
    path = tmp_path / "walk.json"
    path.write_text(text)
    with pytest.raises(ParseError, match=message) as caught:
        SSWWalker.resume(path)
    assert caught.value.path == str(path) and caught.value.line == line


def test_a_well_formed_checkpoint_reads_back(tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(_checkpoint()))
    data = read_checkpoint(path)
    assert data["seed"] == 5 and data["symbols"] == ["Li", "Cl"]


@pytest.mark.lammps
def test_resume_with_another_seed_is_refused(tmp_path, capsys):
    from lizrcl_tools.ssw.toy import toy_licl_potential

    ckpt, db = tmp_path / "walk.json", tmp_path / "m.db"
    walker = SSWWalker(_licl(rattle_seed=1), toy_licl_potential(), db, SSWParameters(n_gaussians=2),
                       seed=5, checkpoint=ckpt)
    walker.close()
    with pytest.raises(SetupError, match=r"walk\.json: this walk was started with seed 5; it cannot resume with seed 6"):
        cli.run(["ssw", "--db", str(db), "--checkpoint", str(ckpt), "--seed", "6", "--steps", "0"])
    with pytest.raises(SetupError, match="seed 5"):
        SSWWalker.resume(ckpt, seed=6)
    for same in (["--seed", "5"], []):  # its own seed, or none given: resumes
        assert cli.run(["ssw", "--db", str(db), "--checkpoint", str(ckpt), "--steps", "0", "--no-progress", *same]) == 0
        assert "resuming" in capsys.readouterr().out
