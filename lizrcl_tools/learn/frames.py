"""Candidate frames for a generation, the physical filter, and selection by novelty.

Generators (each takes a seed and records it in ``atoms.info``):

* :func:`rattles`: Gaussian displacements of the starting cells (σ in Å),
* :func:`volume_scans`: isotropic scalings (linear factors) with small rattles,
* :func:`md_frames`: frames of a short Langevin MD with any ASE calculator (the teacher in
  generation 0, the previous generation's model afterwards).

:func:`physical` drops frames with overlapping atoms (the input checks of
:func:`~lizrcl_tools.structures.checks.check_input_structure`) or, once labelled, a force above
a bound; :func:`select_novel` keeps frames whose fingerprint differs from everything already
in the pool and from each other; :func:`force_disagreement` scores frames by how far the
forces of a committee of models (or a model and its teacher) differ, for
:func:`select_disagreement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ase import Atoms

from lizrcl_tools import keys
from lizrcl_tools.errors import LizrclError


def rattles(cells: Sequence[Atoms], per_structure: int, sigma_A: float, seed: int) -> list[Atoms]:
    """``per_structure`` copies of each cell with N(0, σ²) displacements, Å."""
    rng = np.random.default_rng(seed)
    frames = []
    for cell in cells:
        for k in range(per_structure):
            atoms = cell.copy()
            atoms.positions += rng.normal(scale=sigma_A, size=atoms.positions.shape)
            atoms.info = {keys.CONFIG_TYPE: "rattle", "sigma_A": float(sigma_A), "seed": int(seed),
                          "parent": cell.info.get("name", cell.get_chemical_formula()), "copy": k}
            frames.append(atoms)
    return frames


def volume_scans(cells: Sequence[Atoms], scales: Sequence[float], sigma_A: float, seed: int) -> list[Atoms]:
    """Each cell scaled by each linear factor (volume × factor³), then rattled by σ, Å."""
    rng = np.random.default_rng(seed)
    frames = []
    for cell in cells:
        for s in scales:
            atoms = cell.copy()
            atoms.set_cell(cell.cell[:] * float(s), scale_atoms=True)
            atoms.positions += rng.normal(scale=sigma_A, size=atoms.positions.shape)
            atoms.info = {keys.CONFIG_TYPE: "volume_scan", "scale": float(s), "sigma_A": float(sigma_A),
                          "seed": int(seed), "parent": cell.info.get("name", cell.get_chemical_formula())}
            frames.append(atoms)
    return frames


def md_frames(
    cells: Sequence[Atoms], calculator: Any, temperature_K: float, steps: int, every: int,
    timestep_fs: float, seed: int, label: str,
) -> list[Atoms]:
    """Frames every ``every`` steps of Langevin NVT (ASE) from each cell with ``calculator``:
    :func:`md_cell_frames` of cell c with index c, concatenated in cell order.

    Parameters
    ----------
    cells : sequence of ase.Atoms
        Starting cells.
    calculator : ase Calculator
        Forces of the MD (teacher or model).
    temperature_K, steps, every, timestep_fs : float, int, int, float
        Thermostat temperature (K), MD steps, steps between kept frames, step (fs).
    seed : int
        Seeds the initial velocities and the Langevin noise.
    label : str
        ``config_type`` of the frames (``teacher_md``, ``model_md``).
    """
    frames = []
    for c, cell in enumerate(cells):
        frames += md_cell_frames(cell, calculator, temperature_K, steps, every, timestep_fs, seed, label, c)
    return frames


def md_cell_frames(
    cell: Atoms, calculator: Any, temperature_K: float, steps: int, every: int,
    timestep_fs: float, seed: int, label: str, index: int = 0,
) -> list[Atoms]:
    """Frames of one Langevin NVT run from ``cell`` (arguments as :func:`md_frames`).

    The random stream is ``default_rng([seed, index])``: cell ``index`` of :func:`md_frames`
    gets the same trajectory whether the cells run in one loop or as separate tasks.
    """
    from ase import units
    from ase.md.langevin import Langevin

    rng = np.random.default_rng([seed, index])
    atoms = cell.copy()
    atoms.calc = calculator
    # Maxwell-Boltzmann momenta, p ~ N(0, m kB T) per component (eV, amu, ASE time units)
    masses = atoms.get_masses()[:, None]
    atoms.set_momenta(rng.normal(size=(len(atoms), 3)) * np.sqrt(masses * units.kB * temperature_K))
    dyn = Langevin(atoms, timestep_fs * units.fs, temperature_K=temperature_K, friction=0.01 / units.fs,
                   rng=rng, fixcm=False)
    frames = []
    for step in range(every, steps + 1, every):
        dyn.run(every)
        frame = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True)
        frame.info = {keys.CONFIG_TYPE: label, "temperature_K": float(temperature_K), "step": step,
                      "seed": int(seed), "parent": cell.info.get("name", cell.get_chemical_formula())}
        frames.append(frame)
    return frames


def physical(atoms: Atoms, max_force_eV_A: float | None = None) -> bool:
    """True if no two atoms overlap (``check_input_structure``) and, for a labelled frame,
    no reference force exceeds ``max_force_eV_A`` (eV/Å): a frame a DFT code would converge on."""
    from lizrcl_tools.structures.checks import check_input_structure

    try:
        check_input_structure(atoms, "candidate frame")
    except LizrclError:
        return False
    forces = atoms.arrays.get(keys.REF_FORCES)
    if max_force_eV_A is not None and forces is not None:
        return bool(np.isfinite(forces).all() and np.abs(forces).max() <= max_force_eV_A)
    return True


def select_novel(
    candidates: Sequence[Atoms], pool: Sequence[Atoms], max_frames: int, min_novelty: float,
) -> list[int]:
    """Greedy farthest-point choice of up to ``max_frames`` candidates by fingerprint novelty.

    A candidate's novelty is its smallest fingerprint (cosine) distance to the pool and to
    the candidates already chosen (:func:`lizrcl_tools.ssw.fingerprint.fingerprint_distance`;
    another composition counts as distance 1). The most novel is taken first; candidates
    below ``min_novelty`` are never taken.

    Returns
    -------
    list of int
        Indices into ``candidates``, in the order chosen.
    """
    from lizrcl_tools.ssw.fingerprint import fingerprint, fingerprint_distance

    fp_c = [fingerprint(a) for a in candidates]
    comp_c = [a.get_chemical_formula() for a in candidates]
    novelty = np.ones(len(candidates))
    for atoms in pool:
        fp, comp = fingerprint(atoms), atoms.get_chemical_formula()
        for i in range(len(candidates)):
            if comp_c[i] == comp:
                novelty[i] = min(novelty[i], fingerprint_distance(fp_c[i], fp))
    chosen: list[int] = []
    while len(chosen) < max_frames:
        order = [i for i in np.argsort(-novelty, kind="stable") if i not in chosen]
        if not order or novelty[order[0]] < min_novelty:
            break
        best = int(order[0])
        chosen.append(best)
        for i in range(len(candidates)):
            if i not in chosen and comp_c[i] == comp_c[best]:
                novelty[i] = min(novelty[i], fingerprint_distance(fp_c[i], fp_c[best]))
    return chosen


def force_disagreement(frames: Sequence[Atoms], calculators: Sequence[Any]) -> np.ndarray:
    """Largest force disagreement of a committee on each frame, eV/Å.

    For every pair of calculators, the Euclidean norm of the force difference on each atom;
    the frame's score is the largest over atoms and pairs (a frame is as uncertain as its
    most uncertain atom).

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Candidates (not modified).
    calculators : sequence of ase Calculator
        Two or more committee members (models, or a model and the teacher).

    Returns
    -------
    numpy.ndarray
        One score per frame, eV/Å.
    """
    if len(calculators) < 2:
        raise ValueError("a committee needs two or more calculators")
    forces = []
    for calc in calculators:
        member = []
        for frame in frames:
            atoms = frame.copy()
            atoms.calc = calc
            member.append(np.asarray(atoms.get_forces(), dtype=float))
        forces.append(member)
    scores = np.zeros(len(frames))
    for a in range(len(calculators)):
        for b in range(a + 1, len(calculators)):
            for i in range(len(frames)):
                scores[i] = max(scores[i], float(np.linalg.norm(forces[a][i] - forces[b][i], axis=1).max()))
    return scores


def select_disagreement(frames: Sequence[Atoms], calculators: Sequence[Any], min_eV_A: float) -> tuple[list[int], np.ndarray]:
    """Indices of the frames on which the committee disagrees by more than ``min_eV_A`` (eV/Å,
    :func:`force_disagreement`), in input order, and every frame's score."""
    scores = force_disagreement(frames, calculators)
    return [i for i, s in enumerate(scores) if s > min_eV_A], scores
