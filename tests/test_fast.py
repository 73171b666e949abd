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
