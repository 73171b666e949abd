"""Bad MD input stops before a run folder exists; a run folder is tied to its structure and potential."""

from __future__ import annotations

import math

import pytest
from ase.build import bulk

from lizrcl_tools.errors import SetupError
from lizrcl_tools.md import run_md
from lizrcl_tools.md.fingerprint import potential_sha256, structure_sha256
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.record import read_run_record
from lizrcl_tools.potential import PotentialSpec
from lizrcl_tools.potential.classical import classical_potential

pytestmark = pytest.mark.lammps

SPEC = classical_potential()
TINY = MDProtocol(name="test", temperatures_K=(600.0,), n_atoms=None, npt_ps=0.02, nvt_ps=0.02,
                  dump_every=10, chunk_steps=20, thermo_every=10, barostat="iso", seed=7)


def licl():
    return bulk("LiCl", "rocksalt", a=5.07, cubic=True)


@pytest.mark.parametrize("temperature", [0.0, -300.0, math.nan, math.inf])
def test_bad_temperature_leaves_no_folder_and_blocks_nothing(tmp_path, temperature):
    run_dir = tmp_path / "T"
    with pytest.raises(SetupError, match="temperature"):
        run_md(licl(), SPEC, temperature, run_dir, TINY, progress=False)
    assert not run_dir.exists()
    # The corrected command runs in the same folder.
    assert run_md(licl(), SPEC, 600.0, run_dir, TINY, progress=False).finished


@pytest.mark.parametrize("field", ["npt_ps", "nvt_ps", "timestep_fs", "tdamp_fs", "pdamp_fs", "pressure_bar"])
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_protocol_values_are_refused(field, value):
    with pytest.raises(SetupError, match=f"{field} must be a finite number"):
        TINY.with_overrides(**{field: value})


def test_non_finite_cell_or_positions_are_refused(tmp_path):
    atoms = licl()
    atoms.positions[0, 0] = math.nan
    with pytest.raises(SetupError, match="positions"):
        run_md(atoms, SPEC, 600.0, tmp_path / "a", TINY, progress=False)
    atoms = licl()
    atoms.cell[2, 2] = math.inf
    with pytest.raises(SetupError, match="cell"):
        run_md(atoms, SPEC, 600.0, tmp_path / "b", TINY, progress=False)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cli_bad_temperature_is_an_error_before_the_folder(tmp_path):
    from ase.io import write

    from lizrcl_tools.cli import main

    structure = tmp_path / "licl.extxyz"
    write(structure, licl())
    out = tmp_path / "T"
    rc = main(["md", str(structure), "--temperature", "nan", "-o", str(out), "--potential", "classical",
               "--n-atoms", "0", "--no-progress"])
    assert rc == 1 and not out.exists()


def test_finished_folder_refuses_another_structure_or_potential(tmp_path):
    run_md(licl(), SPEC, 600.0, tmp_path, TINY, progress=False)
    rec = read_run_record(tmp_path)
    assert rec.get("structure_sha256") == structure_sha256(licl())
    assert rec.get("potential_sha256") == potential_sha256(SPEC)
    moved = licl()
    moved.positions[0] += 0.01  # same atoms, same count: only the hash tells
    with pytest.raises(SetupError, match="finished run with different starting structure"):
        run_md(moved, SPEC, 600.0, tmp_path, TINY, progress=False)
    with pytest.raises(SetupError, match="finished run with different potential"):
        run_md(licl(), classical_potential(charge_scale=0.9), 600.0, tmp_path, TINY, progress=False)
    # The same inputs still return the finished record.
    assert run_md(licl(), SPEC, 600.0, tmp_path, TINY, progress=False).finished


def test_structure_hash_ignores_round_off_only():
    atoms = licl()
    base = structure_sha256(atoms)
    nudged = atoms.copy()
    nudged.positions += 1e-9
    assert structure_sha256(nudged) == base
    shifted = atoms.copy()
    shifted.positions[3, 2] += 1e-3
    assert structure_sha256(shifted) != base
    swapped = atoms.copy()
    swapped.numbers[[0, 1]] = swapped.numbers[[1, 0]]
    assert structure_sha256(swapped) != base


def test_potential_hash_follows_lines_and_model_not_folders():
    def spec(folder: str, sha: str, cutoff: str = "5.0") -> PotentialSpec:
        return PotentialSpec(
            name="mace:x", elements=("Li", "Zr", "Cl"),
            pre_commands=(f"plugin load {folder}/libmace.so",),
            commands=("pair_style mace", f"pair_coeff * * {folder}/m.pt Li Zr Cl", f"# r {cutoff}"),
            metadata={"sha256": sha},
        )

    assert potential_sha256(spec("/a", "s1")) == potential_sha256(spec("/b/c", "s1"))
    assert potential_sha256(spec("/a", "s1")) != potential_sha256(spec("/a", "s2"))
    assert potential_sha256(spec("/a", "s1")) != potential_sha256(spec("/a", "s1", cutoff="6.0"))


def test_md_conductivity_and_ssw_check_close_atoms_with_the_shared_option(tmp_path, capsys):
    """An overlap in the input file stops md, conductivity and ssw before any output; --min-distance
    moves the limit (read back through the same reader)."""
    from ase.io import write

    from lizrcl_tools.cli import main
    from lizrcl_tools.commands.md import read_structure

    atoms = licl()
    atoms.positions[1] = atoms.positions[0] + [0.9, 0.0, 0.0]  # Li-Cl 0.9 Å < 1.15 Å
    structure = tmp_path / "close.extxyz"
    write(structure, atoms)
    for argv, out in ((["md", str(structure), "--temperature", "600"], tmp_path / "T"),
                      (["conductivity", "--structure", str(structure)], tmp_path / "cond")):
        rc = main([*argv, "-o", str(out), "--potential", "classical", "--n-atoms", "0", "--no-progress"])
        assert rc == 1 and not out.exists()
        assert "0.900 Å apart" in capsys.readouterr().err
    db, checkpoint = tmp_path / "minima.db", tmp_path / "walk.json"
    rc = main(["ssw", str(structure), "--db", str(db), "--checkpoint", str(checkpoint),
               "--potential", "classical", "--steps", "1"])
    assert rc == 1 and not db.exists() and not checkpoint.exists()
    assert "0.900 Å apart" in capsys.readouterr().err
    assert len(read_structure(str(structure), {"Li-Cl": 0.8})) == len(atoms)
