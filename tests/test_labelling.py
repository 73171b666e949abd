"""Labelling: labels match the calculator, crashes resume without recomputation, registry errors."""

from __future__ import annotations

import importlib.util

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones

from lizrcl_tools import keys
from lizrcl_tools.dataset.references import Reference, get_reference
from lizrcl_tools.errors import RunFailed, SetupError
from lizrcl_tools.dataset.labelling import (
    HASH_KEY,
    INDEX_KEY,
    REFERENCE_KEY,
    attach_labels,
    label_frames,
    side_file,
    structure_hash,
)


class CountingLJ(LennardJones):
    """Lennard-Jones that counts its calculations and can crash after ``crash_after`` of them."""

    def __init__(self, crash_after: int | None = None) -> None:
        super().__init__(sigma=3.0, epsilon=0.01, rc=7.0, smooth=True)
        self.crash_after = crash_after
        self.n_calls = 0

    def calculate(self, atoms=None, properties=None, system_changes=None):
        if self.crash_after is not None and self.n_calls >= self.crash_after:
            raise RuntimeError("simulated crash")
        self.n_calls += 1
        super().calculate(atoms, properties or ["energy"], system_changes or [])


def _frames(n: int = 10) -> list[Atoms]:
    frames = []
    for k in range(n):
        atoms = bulk("LiCl", "rocksalt", a=5.13 * (0.97 + 0.01 * (k % 5)))
        atoms.rattle(0.05, seed=k)
        atoms.info[keys.CONFIG_TYPE] = f"test{k % 2}"
        frames.append(atoms)
    return frames


def _ref(calc) -> Reference:
    return Reference(calc, "toy-lj", "test")


def test_structure_hash_survives_extxyz_and_sees_a_moved_atom(tmp_path):
    atoms = _frames(1)[0]
    ase.io.write(tmp_path / "a.extxyz", atoms)
    assert structure_hash(ase.io.read(tmp_path / "a.extxyz")) == structure_hash(atoms)
    # Stored in extxyz info, the hash must come back as the same string (a bare hex digest
    # like "1234e56" would be parsed as a float).
    frames = _frames(30)
    for a in frames:
        a.info[HASH_KEY] = structure_hash(a)
    ase.io.write(tmp_path / "many.extxyz", frames)
    back = ase.io.read(tmp_path / "many.extxyz", index=":")
    assert [b.info[HASH_KEY] for b in back] == [structure_hash(a) for a in frames]
    moved = atoms.copy()
    moved.positions[0, 0] += 1e-4
    assert structure_hash(moved) != structure_hash(atoms)


def test_labels_equal_calculator_and_compressed_cell_has_ase_sign_stress():
    atoms = bulk("LiCl", "rocksalt", a=4.0)  # Cl–Li 2 Å << sigma: strongly repulsive
    calc = LennardJones(sigma=3.0, epsilon=0.01, rc=7.0, smooth=True)
    labelled = attach_labels(atoms, calc, "toy-lj", "v")
    direct = atoms.copy()
    direct.calc = LennardJones(sigma=3.0, epsilon=0.01, rc=7.0, smooth=True)
    assert labelled.info[keys.REF_ENERGY] == pytest.approx(direct.get_potential_energy())
    np.testing.assert_allclose(labelled.arrays[keys.REF_FORCES], direct.get_forces())
    stress = labelled.info[keys.REF_STRESS]
    assert stress.shape == (6,)
    # Compressed and repulsive: positive pressure, i.e. negative diagonal in ASE's sign.
    assert np.all(stress[:3] < 0)
    assert labelled.info[REFERENCE_KEY] == "toy-lj"
    assert labelled.calc is None


def test_non_periodic_frame_gets_no_stress():
    molecule = Atoms("LiCl", positions=[[0, 0, 0], [0, 0, 3.0]])
    labelled = attach_labels(molecule, LennardJones(sigma=3.0, epsilon=0.01), "toy-lj", "v")
    assert keys.REF_STRESS not in labelled.info
    assert keys.REF_FORCES in labelled.arrays


def test_crash_then_resume_recomputes_nothing_and_matches_one_shot(tmp_path):
    frames = _frames(10)
    one_shot = tmp_path / "one_shot.extxyz"
    summary = label_frames(frames, _ref(CountingLJ()), one_shot, progress=False)
    assert (summary.n_computed, summary.n_reused) == (10, 0)

    out = tmp_path / "resumed.extxyz"
    with pytest.raises(RunFailed, match="rerun resumes"):
        label_frames(frames, _ref(CountingLJ(crash_after=6)), out, progress=False)
    assert not out.exists()
    assert len(ase.io.read(side_file(out), index=":")) == 6

    counter = CountingLJ()
    summary = label_frames(frames, _ref(counter), out, progress=False)
    assert counter.n_calls == 4
    assert (summary.n_computed, summary.n_reused) == (4, 6)
    assert not side_file(out).exists()

    a = ase.io.read(one_shot, index=":")
    b = ase.io.read(out, index=":")
    assert [x.info[INDEX_KEY] for x in b] == list(range(10))
    for x, y in zip(a, b):
        assert x.info[keys.REF_ENERGY] == y.info[keys.REF_ENERGY]
        np.testing.assert_array_equal(x.arrays[keys.REF_FORCES], y.arrays[keys.REF_FORCES])
        np.testing.assert_array_equal(x.info[keys.REF_STRESS], y.info[keys.REF_STRESS])
        np.testing.assert_array_equal(x.positions, y.positions)
        assert x.info[keys.CONFIG_TYPE] == y.info[keys.CONFIG_TYPE]

    # A finished output counts as done: nothing to compute on a rerun.
    again = CountingLJ()
    assert label_frames(frames, _ref(again), out, progress=False).n_computed == 0
    assert again.n_calls == 0


def test_changed_frame_is_relabelled_and_torn_side_file_is_tolerated(tmp_path):
    frames = _frames(6)
    out = tmp_path / "lab.extxyz"
    with pytest.raises(RunFailed):
        label_frames(frames, _ref(CountingLJ(crash_after=4)), out, progress=False)
    # A crash in the middle of an append leaves half a frame behind.
    with open(side_file(out), "a") as handle:
        handle.write("8\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3\nLi 0 0")
    frames[1] = frames[1].copy()
    frames[1].positions[0] += 0.1  # input changed at index 1: its old label is stale
    counter = CountingLJ()
    with pytest.warns(UserWarning, match="truncated"):
        summary = label_frames(frames, _ref(counter), out, progress=False)
    assert counter.n_calls == 3  # frame 1 (changed) + frames 4, 5
    assert (summary.n_computed, summary.n_reused) == (3, 3)
    result = ase.io.read(out, index=":")
    assert result[1].info[HASH_KEY] == structure_hash(frames[1])


def test_registry_errors_name_the_way_out():
    with pytest.raises(SetupError, match="known references: sevennet"):
        get_reference("dft-magic")
    with pytest.raises(SetupError, match="lizrcl vasp write"):
        get_reference("vasp")
    with pytest.raises(SetupError, match="mace:PATH"):
        get_reference("mace")
    if importlib.util.find_spec("chgnet") is None:
        with pytest.raises(SetupError, match="pip install 'chgnet"):
            get_reference("chgnet")


def test_cli_label_smoke(tmp_path):
    from lizrcl_tools.cli import run

    ase.io.write(tmp_path / "in.extxyz", _frames(3))
    assert run(["label", str(tmp_path / "in.extxyz"), "-o", str(tmp_path / "out.extxyz"),
                "--reference", "toy-lj", "--no-progress"]) == 0
    out = ase.io.read(tmp_path / "out.extxyz", index=":")
    assert len(out) == 3 and all(keys.REF_ENERGY in a.info for a in out)


@pytest.mark.slow
def test_sevennet_loads_offline_and_gives_physical_labels():
    pytest.importorskip("sevenn")
    ref = get_reference("sevennet")
    assert "7net-0" in ref.version
    atoms = bulk("LiCl", "rocksalt", a=5.13)
    labelled = attach_labels(atoms, ref.calculator, ref.name, ref.version)
    # Perfect rocksalt: forces vanish by symmetry; a cohesive PBE-scale energy, ~ -3.4 eV/atom.
    np.testing.assert_allclose(labelled.arrays[keys.REF_FORCES], 0.0, atol=1e-4)
    assert -5.0 < labelled.info[keys.REF_ENERGY] / len(atoms) < -2.0
    stress = labelled.info[keys.REF_STRESS]
    assert np.allclose(stress[:3], stress[0], atol=1e-5) and np.allclose(stress[3:], 0, atol=1e-5)


def test_existing_other_dataset_is_not_replaced_but_own_output_resumes(tmp_path):
    out = tmp_path / "labelled.extxyz"
    label_frames(_frames(3), _ref(CountingLJ()), out, progress=False)
    finished = out.read_text()
    # Labelling one different frame into it would replace 3 labelled frames by 1: refused.
    other = [_frames(5)[4]]
    counter = CountingLJ()
    with pytest.raises(SetupError, match=r"not a resumable output .*3 of its 3 frames do not match.*--force"):
        label_frames(other, _ref(counter), out, progress=False)
    assert counter.n_calls == 0 and out.read_text() == finished
    # The same frames with another reference would mix labels: refused too.
    with pytest.raises(SetupError, match="reference \\(other-lj\\)"):
        label_frames(_frames(3), Reference(CountingLJ(), "other-lj", "test"), out, progress=False)
    # A file that is no labelling output at all (a hand-made dataset) is refused.
    plain = tmp_path / "plain.extxyz"
    ase.io.write(plain, _frames(2))
    with pytest.raises(SetupError, match="2 of its 2 frames do not match"):
        label_frames(_frames(2), _ref(CountingLJ()), plain, progress=False)
    # Resuming into its own output stays legitimate, and --force replaces with a backup.
    assert label_frames(_frames(3), _ref(CountingLJ()), out, progress=False).n_reused == 3
    assert label_frames(other, _ref(CountingLJ()), out, progress=False, force=True).n_frames == 1
    assert len(ase.io.read(out, index=":")) == 1
    assert (tmp_path / "labelled.bak1.extxyz").read_text() == finished
