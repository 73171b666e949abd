"""The fast tier: POD fitted by LAMMPS ``fitpod``, run by ``pair_style pod``, and ``lizrcl distill``.

Labels come from the toy Lennard-Jones reference (an exact pair potential, milliseconds per
frame), so every test runs in seconds without MACE.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lizrcl_tools import keys
from lizrcl_tools.dataset.references import get_reference
from lizrcl_tools.dataset.labelling import attach_labels
from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential import pod
from lizrcl_tools.potential.distill_data import PLANS, static_frames
from lizrcl_tools.potential.mace_plugin import make_lammps, single_point


def _lj_frames(seed: int) -> list:
    ref = get_reference("toy-lj")
    frames = static_frames(PLANS["tiny"], seed)
    return [attach_labels(f, ref.calculator, ref.name, ref.version) for f in frames]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> tuple[Path, list, dict]:
    frames = _lj_frames(1)
    folder = tmp_path_factory.mktemp("pod")
    errors = pod.fit_pod(frames, folder, pod.PRESETS["tiny"], test=_lj_frames(2))
    return folder, frames, errors


def _energy_forces(atoms, spec):
    lmp = make_lammps(atoms, spec)
    try:
        result = single_point(lmp, atoms)
    finally:
        lmp.close()
    return result["energy"], np.asarray(result["forces"])


def test_pair_style_matches_fitpods_own_predictions(fitted):
    # fitpod's error analysis evaluates the fitted model with its own descriptor code; the
    # pair style is a separate implementation: both must give the same energies.
    folder, frames, _ = fitted
    rows = [line.split() for line in (folder / "pod_training_analysis.pod").read_text().splitlines()
            if line.strip() and line.split()[0].isdigit()]
    spec = pod.pod_potential(folder)
    for frame, row in zip(frames[:4], rows[:4]):
        energy, _ = _energy_forces(frame, spec)
        assert int(row[1]) == len(frame)
        assert energy == pytest.approx(float(row[3]), abs=1e-6 * len(frame))


def test_pair_style_forces_are_minus_energy_gradient(fitted):
    folder, frames, _ = fitted
    spec = pod.pod_potential(folder)
    atoms = frames[-1].copy()
    _, forces = _energy_forces(atoms, spec)
    h = 1e-4  # Å
    for i, k in [(0, 0), (len(atoms) // 2, 1), (len(atoms) - 1, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[i, k] += h
        minus.positions[i, k] -= h
        fd = -(_energy_forces(plus, spec)[0] - _energy_forces(minus, spec)[0]) / (2 * h)
        assert forces[i, k] == pytest.approx(fd, abs=1e-5 + 1e-5 * abs(fd))


def test_two_body_pod_learns_a_pair_potential(tmp_path):
    # Lennard-Jones is exactly two-body and smooth: POD's 2-body basis alone must reproduce
    # it on frames it never saw, far better than the spread of the labels themselves.
    from dataclasses import replace

    train, test = _lj_frames(1), _lj_frames(2)
    # LJ cut-off 7 Å; a rich radial basis for the r^-12 wall
    settings = replace(pod.PRESETS["tiny"], rcut=7.0, bessel_degree=6, inverse_degree=12, n2=12,
                       n3=0, a3=0)
    errors = pod.fit_pod(train, tmp_path, settings, test=test)
    spread = np.std([f.info[keys.REF_ENERGY] / len(f) for f in test])
    assert errors["test"]["energy_rmse_eV_per_atom"] < 0.05 * spread
    forces = np.concatenate([f.arrays[keys.REF_FORCES] for f in test])
    assert errors["test"]["force_rmse_eV_per_A"] < 0.1 * np.sqrt(np.mean(forces**2))


def test_fast_potential_resolves_and_rejects_bad_folders(fitted, tmp_path):
    from lizrcl_tools.md.setup import resolve_potential

    folder, _, _ = fitted
    bare = resolve_potential("fast", str(folder), dispersion="none")
    assert bare.commands[0] == "pair_style pod" and bare.metadata["backend"] == "pod"
    # The fast tier copies the bare (PBE) teacher, so it gets the same run-time D3 as MACE.
    spec = resolve_potential("fast", str(folder))
    assert spec.commands[0] == "pair_style hybrid/overlay pod dispersion/d3 BJ pbe 15 8"
    assert spec.metadata["dispersion"]["method"] == "d3bj"
    assert spec.elements == ("Li", "Zr", "Cl")
    with pytest.raises(SetupError, match="model folder"):
        resolve_potential("fast", str(tmp_path / "missing"))
    with pytest.raises(SetupError, match="not a fast .POD. model folder"):
        pod.pod_potential(tmp_path)


def test_cli_distill_tiny(tmp_path):
    from lizrcl_tools.cli import run
    from lizrcl_tools.fileio import read_json

    out = tmp_path / "fast"
    argv = ["distill", "toy-lj", "-o", str(out), "--plan", "tiny", "--heldout-plan", "tiny",
            "--pod", "tiny", "--rounds", "1", "--round-steps", "20", "--round-every", "10",
            "--round-temperatures", "600", "--no-progress"]
    assert run(argv) == 0
    meta = read_json(out / "fast.json")
    assert meta["teacher"] == "toy-lj" and meta["seed"] == 2026
    # base set + 2 self-learning snapshots of the fast model's own MD, labelled by the teacher
    base = len(static_frames(PLANS["tiny"], 2026)) + PLANS["tiny"].md_steps // PLANS["tiny"].md_every
    assert meta["n_train"] == base + 2
    assert meta["train_by_kind"]["fast_md600K"] == 2
    assert (out / "card.md").read_text().startswith("# Fast tier (POD)")
    with pytest.raises(SetupError, match="--force"):  # a finished model is never replaced silently
        run(argv)


def test_cation_contact_frames_bring_each_cation_pair_into_range():
    """The random contacts move a nearest neighbour (an anion); the cation-pair frames are what
    teaches the fit the Li-Zr wall, so each pair must really be inside its range."""
    import dataclasses

    from lizrcl_tools.potential.distill_data import CATION_CONTACT_A, contact_frames

    plan = dataclasses.replace(PLANS["tiny"], n_contacts=0, n_cation_contacts=6)
    frames = contact_frames(plan, 7)
    assert [f.info["config_type"] for f in frames] == ["contact_cation"] * 6
    pairs = list(CATION_CONTACT_A)
    for k, atoms in enumerate(frames):
        a, b = pairs[k % len(pairs)]
        symbols = np.array(atoms.get_chemical_symbols())
        d = atoms.get_all_distances(mic=True)
        np.fill_diagonal(d, np.inf)
        low, high = CATION_CONTACT_A[(a, b)]
        assert low <= d[np.ix_(symbols == a, symbols == b)].min() <= high
        assert d.min() > 1.5  # the moved cation does not land on an anion


def _own_labels_from_rotated_copies(frames, spec):
    """Label each frame with the pair style, computed on a rotated copy with the atoms in reverse
    order, then forces and stress turned back: a second path to the same numbers."""
    from scipy.spatial.transform import Rotation

    from lizrcl_tools.potential.lammps_calculator import LammpsCalculator

    labelled = []
    for k, frame in enumerate(frames):
        rot = Rotation.from_euler("zyx", [0.3 + k, 0.7, -0.4]).as_matrix()
        order = np.arange(len(frame))[::-1]
        turned = frame[order]
        turned.set_cell(frame.cell[:] @ rot.T, scale_atoms=False)
        turned.positions = frame.positions[order] @ rot.T
        turned.calc = LammpsCalculator(spec)
        energy = turned.get_potential_energy()
        forces = np.empty((len(frame), 3))
        forces[order] = turned.get_forces() @ rot
        s = turned.get_stress(voigt=False)
        s = rot.T @ s @ rot
        out = frame.copy()
        out.info[keys.REF_ENERGY] = energy
        out.arrays[keys.REF_FORCES] = forces
        out.info[keys.REF_STRESS] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
        labelled.append(out)
    return labelled


def test_evaluate_fast_tier_zero_on_own_labels_and_known_perturbation(fitted, tmp_path):
    import ase.io
    from ase.units import GPa

    from lizrcl_tools.potential.evaluate import evaluate_file

    folder, frames, _ = fitted
    labelled = _own_labels_from_rotated_copies(frames[:6], pod.pod_potential(folder))
    clean = tmp_path / "own.extxyz"
    ase.io.write(clean, labelled)
    report = evaluate_file(clean, model=folder, potential="fast", progress=False)
    assert report["potential"] == "fast" and report["n_frames"] == 6
    # round-off of the rotated descriptors only (the labels span eV/atom, eV/Å, GPa)
    assert report["energy_rmse_meV_per_atom"] < 1e-4
    assert report["force_rmse_eV_per_A"] < 1e-7
    assert report["stress_rmse_GPa"] < 1e-7

    # Known errors: energies 2 meV/atom too low in the labels, a Li-only force error with a known
    # RMSE, and +0.3 GPa on xx of every stress.
    rng = np.random.default_rng(5)
    noise_li = []
    for atoms in labelled:
        atoms.info[keys.REF_ENERGY] -= 0.002 * len(atoms)
        li = np.array(atoms.get_chemical_symbols()) == "Li"
        delta = rng.normal(0.0, 0.05, (li.sum(), 3))
        atoms.arrays[keys.REF_FORCES][li] += delta
        noise_li.append(delta)
        atoms.info[keys.REF_STRESS][0] += 0.3 * GPa
    shifted = tmp_path / "shifted.extxyz"
    ase.io.write(shifted, labelled)
    report = evaluate_file(shifted, model=folder, potential="fast", progress=False)
    noise = np.concatenate(noise_li)
    n_components = 3 * sum(len(a) for a in labelled)
    assert report["energy_rmse_meV_per_atom"] == pytest.approx(2.0, abs=1e-4)
    assert report["energy_mean_error_meV_per_atom"] == pytest.approx(2.0, abs=1e-4)
    assert report["force_rmse_eV_per_A"] == pytest.approx(np.sqrt(np.sum(noise**2) / n_components), rel=1e-5)
    by_element = report["force_rmse_eV_per_A_by_element"]
    assert by_element["Li"] == pytest.approx(np.sqrt(np.mean(noise**2)), rel=1e-5)
    assert by_element["Cl"] < 1e-7
    assert report["stress_rmse_GPa"] == pytest.approx(0.3 / np.sqrt(6), rel=1e-6)
    with pytest.raises(SetupError, match="model folder"):
        evaluate_file(shifted, model=tmp_path / "nothing", potential="fast", progress=False)


def test_fast_model_warns_outside_the_compositions_it_was_run_at(tmp_path):
    """The shipped fast model ran MD only in Li2ZrCl6: MD of LiCl with it says so."""
    import warnings

    from lizrcl_tools.errors import LizrclWarning
    from lizrcl_tools.md.protocols import MDProtocol
    from lizrcl_tools.md.runner import run_md
    from lizrcl_tools.potential.pod import check_md_domain, fast_potential
    from lizrcl_tools.structures import build

    spec = fast_potential()
    assert spec.metadata["md_validated_x"] == [pytest.approx(1 / 3, abs=1e-6)]
    assert check_md_domain(build("li2zrcl6-p3m1", n_atoms=54), spec) is None
    message = check_md_domain(build("li3zrcl7"), spec)
    assert message is not None and "x = 0.250" in message and "--potential mace" in message

    protocol = MDProtocol(name="test", temperatures_K=(300.0,), n_atoms=None, npt_ps=0.01,
                          nvt_ps=0.01, timestep_fs=1.0, dump_every=5, thermo_every=5,
                          chunk_steps=10)
    # 10 fs runs also trip the temperature sanity check; only the domain warning is asserted.
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", LizrclWarning)
        run_md(build("licl"), spec, 300.0, tmp_path / "licl", protocol, progress=False)
        run_md(build("li2zrcl6-p3m1", n_atoms=54), spec, 300.0, tmp_path / "lzc", protocol,
               progress=False)
    domain = [str(w.message) for w in seen if "checked in MD at" in str(w.message)]
    assert len(domain) == 1 and "licl" in domain[0] and "x = 0.000" in domain[0]
