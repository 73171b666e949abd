"""Training and evaluation: RMSE helpers on hand-made numbers; a tiny MACE trained end to end
whose reported errors equal a direct numpy RMSE of its own predictions."""

from __future__ import annotations

import dataclasses
import json

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.lj import LennardJones
from ase.units import GPa

from lizrcl_tools import keys
from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential.evaluate import (
    Predictions,
    composition_bin,
    error_metrics,
    error_report,
    rmse,
)
from lizrcl_tools.dataset.labelling import attach_labels
from lizrcl_tools.dataset.stats import composition_x
from lizrcl_tools.potential.train import TrainConfig, mace_arguments, split_indices


def test_rmse_on_hand_numbers():
    assert rmse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]) == pytest.approx(np.sqrt(4.0 / 3.0))
    assert rmse([np.nan, 1.0], [0.0, 0.0]) == pytest.approx(1.0)  # NaN entries skipped
    assert np.isnan(rmse([np.nan], [1.0]))


def _hand_predictions() -> Predictions:
    # Two frames: 2 atoms (E error +0.02 eV -> 10 meV/atom), 4 atoms (E error -0.12 eV ->
    # -30 meV/atom); force errors 0.1 on one component of 6 atoms x 3 = 18 components.
    f_ref = [np.zeros((2, 3)), np.zeros((4, 3))]
    f_pred = [np.zeros((2, 3)), np.zeros((4, 3))]
    f_pred[1][0, 0] = 0.3  # one component off by 0.3 eV/Å out of 18
    s_ref = np.zeros((2, 6))
    s_pred = np.zeros((2, 6))
    s_pred[0, :] = 1.0 * GPa  # frame 0: every Voigt component 1 GPa off
    s_ref[1, :] = np.nan  # frame 1 has no reference stress
    return Predictions(
        n_atoms=np.array([2, 4]), energy_ref=np.array([-1.0, -2.0]),
        energy_pred=np.array([-0.98, -2.12]), forces_ref=f_ref, forces_pred=f_pred,
        stress_ref=s_ref, stress_pred=s_pred, x=np.array([0.0, 1.0 / 3.0]),
        config_type=["a", "b"],
    )


def test_error_metrics_on_hand_numbers():
    m = error_metrics(_hand_predictions())
    assert m["n_frames"] == 2
    assert m["energy_rmse_meV_per_atom"] == pytest.approx(np.sqrt((10.0**2 + 30.0**2) / 2))
    assert m["force_rmse_eV_per_A"] == pytest.approx(np.sqrt(0.3**2 / 18))
    assert m["stress_rmse_GPa"] == pytest.approx(1.0)
    report = error_report(_hand_predictions())
    li2zrcl6_bin = composition_bin(1.0 / 3.0)
    assert report["by_composition"][li2zrcl6_bin]["energy_rmse_meV_per_atom"] == pytest.approx(30.0)
    assert np.isnan(report["by_config_type"]["b"]["stress_rmse_GPa"])
    assert report["by_config_type"]["a"]["force_rmse_eV_per_A"] == 0.0


def test_composition_x_and_bins():
    li2zrcl6 = Atoms("Li2ZrCl6")
    assert composition_x(li2zrcl6) == pytest.approx(1.0 / 3.0)
    assert composition_x(Atoms("LiCl")) == 0.0 and composition_x(Atoms("ZrCl4")) == 1.0
    # error reports bin every frame with Li or Zr, charge-neutral or not
    assert composition_x(Atoms("LiZrCl6")) is None
    assert composition_x(Atoms("LiZrCl6"), neutral_only=False) == pytest.approx(0.5)
    assert composition_bin(composition_x(Atoms("Cl2"), neutral_only=False)) == "no Li/Zr"
    assert composition_bin(1.0) == composition_bin(0.99) != composition_bin(0.5)
    assert composition_bin(0.0) != composition_bin(1.0 / 3.0)


def test_split_is_seeded_disjoint_and_complete():
    a = split_indices(40, 0.1, 0.1, seed=3)
    assert a == split_indices(40, 0.1, 0.1, seed=3)
    assert a != split_indices(40, 0.1, 0.1, seed=4)
    together = a["train"] + a["valid"] + a["test"]
    assert sorted(together) == list(range(40)) and (len(a["valid"]), len(a["test"])) == (4, 4)


def test_mace_arguments_use_toolkit_keys(tmp_path):
    args = mace_arguments(TrainConfig(e0s={3: -1.5, 40: -8.0, 17: -1.8}), tmp_path / "t.xyz",
                          tmp_path / "v.xyz", tmp_path)
    assert f"--energy_key={keys.REF_ENERGY}" in args and f"--stress_key={keys.REF_STRESS}" in args
    assert "--E0s={3: -1.5, 40: -8.0, 17: -1.8}" in args and "--loss=stress" in args
    assert "--pair_repulsion" in args  # ZBL wall on by default
    assert "--pair_repulsion" not in mace_arguments(TrainConfig(pair_repulsion=False),
                                                    tmp_path / "t.xyz", tmp_path / "v.xyz",
                                                    tmp_path)


def test_isolated_atom_energies_of_a_pair_potential_are_zero():
    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.potential.train import isolated_atom_energies

    # A lone atom in a 20 Å box has no neighbour within the 7 Å Lennard-Jones cut-off.
    assert isolated_atom_energies(get_reference("toy-lj")) == {3: 0.0, 40: 0.0, 17: 0.0}


def _fixture_frames(n_each: int = 8) -> list[Atoms]:
    """Small rattled LiCl, ZrCl4-like and Li2ZrCl6-like cells labelled by a Lennard-Jones toy."""
    rng = np.random.default_rng(11)
    cl_cl = 3.63
    zrcl4 = Atoms("ZrCl4", scaled_positions=[(0.5, 0.5, 0.5), (0, 0, 0), (0.5, 0.5, 0),
                                              (0.5, 0, 0.5), (0, 0.5, 0.5)],
                  cell=np.eye(3) * cl_cl * np.sqrt(2), pbc=True)  # ccp Cl, 1/4 holes Zr
    a, c = cl_cl, cl_cl * np.sqrt(8 / 3)
    hcp = [[3 * a, 0, 0], [-a / 2, a * np.sqrt(3) / 2, 0], [0, 0, c]]
    li2zrcl6 = Atoms(  # hcp Cl (NiAs anion lattice) x3 along a; holes: 2 Li + 1 Zr
        "Li2ZrCl6", cell=hcp, pbc=True,
        scaled_positions=[(0, 0, 0), (1 / 3, 0, 0), (2 / 3, 0, 0.5)]
        + [((1 / 3 + i) / 3, 2 / 3, z) for i in range(3) for z in (0.25,)]
        + [((2 / 3 + i) / 3, 1 / 3, 0.75) for i in range(3)],
    )
    licl = bulk("LiCl", "rocksalt", a=5.13, cubic=True)
    calc = LennardJones(sigma=3.0, epsilon=0.01, rc=7.0, smooth=True)
    frames = []
    for name, base in (("licl", licl), ("zrcl4", zrcl4), ("li2zrcl6", li2zrcl6)):
        for k in range(n_each):
            atoms = base.copy()
            atoms.set_cell(atoms.cell[:] * rng.uniform(0.96, 1.04), scale_atoms=True)
            atoms.rattle(0.08, seed=int(rng.integers(1 << 30)))
            atoms.info[keys.CONFIG_TYPE] = name
            frames.append(attach_labels(atoms, calc, "toy-lj", "test"))
    return frames


TINY = TrainConfig(name="tiny", seed=5, num_channels=8, max_L=0, r_max=4.0, correlation=2,
                   num_radial_basis=4, max_num_epochs=2, batch_size=6, stage_two=False, ema=False,
                   threads=1, valid_fraction=0.15, test_fraction=0.15)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny MACE (:data:`TINY`) trained for 2 epochs on 24 toy-labelled frames (about a minute
    on 2 cores)."""
    from lizrcl_tools.potential.train import train

    work = tmp_path_factory.mktemp("train")
    frames = _fixture_frames()
    return train(frames, work, TINY, progress=False), frames


def test_training_writes_model_split_report_and_plots(tiny_model):
    result, frames = tiny_model
    assert result.model_path.is_file()
    split = json.loads((result.work_dir / "split.json").read_text())
    assert split["seed"] == 5 and sum(split["counts"].values()) == len(frames)
    for name in ("train", "valid", "test"):
        assert (result.work_dir / f"parity_{name}.png").stat().st_size > 1000
        assert result.report[name]["n_frames"] == split["counts"][name]
    assert set(result.report["test"]["by_config_type"]) <= {"licl", "zrcl4", "li2zrcl6"}


def test_training_matches_the_record_training_writes(tiny_model):
    # writer (train) and checker (training_matches) must agree on what "this training" means
    from lizrcl_tools.potential.train_record import training_matches

    result, frames = tiny_model
    record = json.loads((result.work_dir / "split.json").read_text())
    assert training_matches(record, frames, TINY) == {"data": True, "settings": True}
    assert training_matches(record, frames[:-1], TINY) == {"data": False, "settings": True}
    relabelled = [a.copy() for a in frames]
    relabelled[3].info[keys.REF_ENERGY] += 1e-3  # same structures, other labels
    assert training_matches(record, relabelled, TINY)["data"] is False
    assert training_matches(record, frames, dataclasses.replace(TINY, lr=0.02)) == {
        "data": True, "settings": False}
    legacy = {k: v for k, v in record.items() if k != "data_sha256"}  # before fingerprints: count only
    assert training_matches(legacy, relabelled, TINY)["data"] is True
    assert training_matches(legacy, frames[:-1], TINY)["data"] is False


def test_evaluate_equals_numpy_rmse_of_model_predictions(tiny_model, tmp_path):
    from lizrcl_tools.dataset.references import load_mace
    from lizrcl_tools.cli import run

    result, frames = tiny_model
    data = tmp_path / "data.extxyz"
    ase.io.write(data, frames)
    out = tmp_path / "report.json"
    assert run(["evaluate", str(data), "--model", str(result.model_path), "--json", str(out),
                "--no-progress"]) == 0
    report = json.loads(out.read_text())

    calc = load_mace(result.model_path)
    e_err, f_err, s_err = [], [], []
    for atoms in frames:
        work = atoms.copy()
        work.calc = calc
        e_err.append((work.get_potential_energy() - atoms.info[keys.REF_ENERGY]) / len(atoms))
        f_err.append(work.get_forces() - atoms.arrays[keys.REF_FORCES])
        s_err.append(work.get_stress() - atoms.info[keys.REF_STRESS])
    assert report["n_frames"] == len(frames)
    assert report["energy_rmse_meV_per_atom"] == pytest.approx(
        1000 * np.sqrt(np.mean(np.square(e_err))), rel=1e-9)
    assert report["force_rmse_eV_per_A"] == pytest.approx(
        np.sqrt(np.mean(np.square(np.concatenate(f_err)))), rel=1e-9)
    assert report["stress_rmse_GPa"] == pytest.approx(
        np.sqrt(np.mean(np.square(s_err))) / GPa, rel=1e-9)
    # Li2ZrCl6-like frames (x = 1/3) land in their own composition bin.
    assert report["by_composition"]["0.25≤x<0.45"]["n_frames"] == 8


def test_shipped_default_model_loads_and_conserves_momentum():
    from lizrcl_tools.dataset.references import load_mace
    from lizrcl_tools.potential.evaluate import default_model_path

    path = default_model_path()
    if path is None:
        pytest.skip("no default model shipped in lizrcl_tools/data/ yet")
    card = path.with_suffix(".md")
    assert card.is_file(), f"{path.name} ships without its model card {card.name}"
    cell = _fixture_frames(n_each=1)[2]  # rattled Li2ZrCl6-like cell
    cell.calc = load_mace(path)
    forces = cell.get_forces()
    assert np.all(np.isfinite(forces)) and np.isfinite(cell.get_potential_energy())
    # Forces from a translation-invariant potential sum to zero (Newton's third law).
    np.testing.assert_allclose(forces.sum(axis=0), 0.0, atol=1e-6)


def test_training_folder_of_other_data_is_refused_unless_forced(tmp_path):
    from lizrcl_tools.fileio import write_json_atomic
    from lizrcl_tools.fileio import jsonable as json_safe
    from lizrcl_tools.potential.train import train
    from lizrcl_tools.potential.train_record import check_work_dir, data_fingerprint

    frames = _fixture_frames(2)
    config = TrainConfig(name="t", max_num_epochs=1)
    work = tmp_path / "work"
    record = {"seed": 0, "n_frames": len(frames), "data_sha256": data_fingerprint(frames),
              "config": json_safe(dataclasses.asdict(config))}
    write_json_atomic(work / "split.json", record)
    check_work_dir(work, frames, config)  # same data and settings: resuming is fine
    with pytest.raises(SetupError, match=r"holds a training on other data .*--force.*work.bak1"):
        train(frames[:-1], work, config)  # refused before anything is written or run
    assert json.loads((work / "split.json").read_text()) == json.loads(json.dumps(record))
    with pytest.raises(SetupError, match="other settings"):
        check_work_dir(work, frames, dataclasses.replace(config, seed=1))
    check_work_dir(work, frames[:-1], config, force=True)
    assert not work.exists() and (tmp_path / "work.bak1" / "split.json").is_file()
