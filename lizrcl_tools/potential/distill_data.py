"""Frames for distilling a teacher potential into a fast LAMMPS-native one.

The fast tier (:mod:`lizrcl_tools.potential.pod`) is fitted to what a teacher (the shipped
MACE model, or SevenNet-0) says about configurations that matter for conductivity MD:

* ``crystal_*``: the four crystals (LiCl, ZrCl4, Li2ZrCl6 P-3m1 and C2/m), random symmetric
  strains up to ±4 % and rattles 0.02–0.15 Å;
* ``volume_scan``: Li2ZrCl6, LiCl and ZrCl4 scaled isotropically (0.94–1.24) and Li2ZrCl6
  stretched along c only (1.05–1.30): NPT MD at 600–900 K expands the cell by up to ~25 %,
  mostly along the layer normal;
* ``contact``: Li2ZrCl6 with one atom pair pushed to 1.6–2.3 Å, so the fit has a wall;
* ``mixed``: (LiCl)1−x(ZrCl4)x cells on hcp/ccp frameworks across 0 ≤ x ≤ 1, strained and rattled;
* ``md{T}K``: Langevin MD driven by the teacher itself (2 fs) in 54-atom Li2ZrCl6 cells at
  450 and 600 K, at the ideal cell and at an expanded one (a +3 %, c +15 %).

Every random choice derives from one seed, recorded in each frame's ``info["seed"]``.
Labelling reuses :func:`lizrcl_tools.dataset.labelling.label_frames` (resumable).

Units: Å, K, fs; labels eV, eV/Å, eV/Å³.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools import keys

CRYSTALS = ("licl", "zrcl4", "li2zrcl6-p3m1", "li2zrcl6-c2m")


@dataclass(frozen=True)
class FramePlan:
    """How many frames of each kind :func:`generate_frames` makes.

    Attributes
    ----------
    per_crystal : int
        Strained + rattled frames per crystal.
    n_mixed : int
        Random mixed-composition cells.
    volume_scan : bool
        Include the volume / c-stretch scans.
    n_contacts : int
        Li2ZrCl6 frames with one atom pair pushed to 1.6–2.3 Å (teaches the repulsive wall).
    n_cation_contacts : int
        Li2ZrCl6 frames with one cation–cation pair (Li–Zr, Li–Li, Zr–Zr in turn) pushed inside
        :data:`CATION_CONTACT_A`: nearest neighbours are anions, so the random contacts above
        almost never bring two cations together, and a fit without them had an energy hole
        for Li–Zr below 2.2 Å (−168 eV at 1.4 Å) that a 60 ps run at 600 K fell into.
    md_runs : tuple of (str, float, float, float)
        (start cell, temperature K, isotropic scale, extra c scale) per teacher MD run.
    md_steps : int
        MD steps (2 fs) per run.
    md_every : int
        Keep a snapshot every this many steps.
    """

    per_crystal: int
    n_mixed: int
    volume_scan: bool
    md_runs: tuple[tuple[str, float, float, float], ...]
    md_steps: int
    md_every: int
    n_contacts: int = 0
    n_cation_contacts: int = 0


_P3M1 = "li2zrcl6-p3m1"
PLANS: dict[str, FramePlan] = {
    # The recipe behind the shipped fast model.
    "full": FramePlan(
        per_crystal=10, n_mixed=30, volume_scan=True,
        md_runs=tuple((_P3M1, t, iso, c) for t in (450.0, 600.0)
                      for iso, c in ((1.0, 1.0), (1.03, 1.12))),
        md_steps=120, md_every=6, n_contacts=40, n_cation_contacts=36,
    ),
    # A held-out set with its own seed: teacher MD at the conductivity temperatures.
    "heldout": FramePlan(
        per_crystal=2, n_mixed=6, volume_scan=False,
        md_runs=((_P3M1, 750.0, 1.0, 1.0), (_P3M1, 900.0, 1.03, 1.12)),
        md_steps=60, md_every=6,
    ),
    # Seconds: for tests and CI.
    "tiny": FramePlan(per_crystal=2, n_mixed=2, volume_scan=False,
                      md_runs=((_P3M1, 600.0, 1.0, 1.0),), md_steps=8, md_every=4),
}
"""Named frame plans (``lizrcl distill --plan``)."""


FAST_MD_X = 1.0 / 3.0
"""x of the cell the self-learning rounds run fast MD in (Li2ZrCl6 P-3m1, :func:`fast_md_snapshots`)."""


def md_compositions_x(plan: FramePlan) -> tuple[float, ...]:
    """Compositions x of (LiCl)1−x(ZrCl4)x at which a plan's model was run and checked in MD.

    The teacher-MD start cells of the plan plus the Li2ZrCl6 cell of the self-learning rounds.
    Elsewhere the model has seen only static frames (strained crystals, random cells), so MD
    there is an extrapolation.
    """
    found = {round(FAST_MD_X, 6)}
    for name, *_ in plan.md_runs:
        found.add(round(_structure_x(name), 6))
    return tuple(sorted(found))


@functools.lru_cache(maxsize=64)
def _structure_x(name: str) -> float:
    """x of a named start cell; cached because every fast spec resolved asks again and building
    a cell to count its cations costs ~40 ms."""
    if name.startswith("mixed:"):
        return float(name.split(":")[1])
    from lizrcl_tools.dataset.stats import composition_x
    from lizrcl_tools.structures import build

    return composition_x(build(name))


def _crystal(name: str):
    from lizrcl_tools.structures import build, make_supercell

    atoms = build(name)
    if len(atoms) < 16:
        atoms = make_supercell(atoms, repeat=(2, 2, 1))
    return atoms


def _strain(atoms, rng: np.random.Generator, max_strain: float):
    eps = rng.uniform(-max_strain, max_strain, (3, 3))
    eps = 0.5 * (eps + eps.T)
    out = atoms.copy()
    out.set_cell(out.cell[:] @ (np.eye(3) + eps), scale_atoms=True)
    return out


def _scaled(atoms, iso: float, c: float):
    out = atoms.copy()
    cell = out.cell[:] * iso
    cell[2] = cell[2] * c
    out.set_cell(cell, scale_atoms=True)
    return out


def _mixed(x: float, rng: np.random.Generator):
    """A mixed cell of 30–80 atoms at composition near ``x`` on a random framework."""
    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.structures import mix

    framework = str(rng.choice(["hcp", "ccp"]))
    for n_atoms in rng.permutation(np.arange(30, 81)):
        try:
            return mix(x, int(n_atoms), seed=int(rng.integers(2**31)), framework=framework)
        except SetupError:
            continue
    raise SetupError(f"no mixed cell with 30-80 atoms near x = {x}")


def _md_start(name: str, rng: np.random.Generator):
    from lizrcl_tools.structures import build

    if name.startswith("mixed:"):
        return _mixed(float(name.split(":")[1]), rng)
    return build(name, n_atoms=54)


def _contact(atoms, rng: np.random.Generator):
    """Rattled cell with one atom moved towards a random neighbour to 1.6–2.3 Å."""
    atoms = atoms.copy()
    atoms.rattle(stdev=0.05, seed=int(rng.integers(2**31)))
    i = int(rng.integers(len(atoms)))
    d = atoms.get_distances(i, range(len(atoms)), mic=True, vector=True)
    r = np.linalg.norm(d, axis=1)
    r[i] = np.inf
    j = int(rng.choice(np.argsort(r)[:6]))
    target = float(rng.uniform(1.6, 2.3))
    atoms.positions[j] = atoms.positions[i] + d[j] * target / r[j]
    atoms.info[keys.CONFIG_TYPE] = "contact"
    return atoms


CATION_CONTACT_A: dict[tuple[str, str], tuple[float, float]] = {
    ("Li", "Zr"): (1.6, 2.6),
    ("Li", "Li"): (1.6, 2.4),
    ("Zr", "Zr"): (2.4, 3.4),
}
"""Distance ranges (Å) for cation–cation contact frames; Zr–Zr is kept wider because below
~2.4 Å the teacher's energies and forces are far above anything the MD can reach."""


def _cation_contact(atoms, rng: np.random.Generator, pair: tuple[str, str]):
    """Rattled cell with the nearest ``pair[1]`` of a random ``pair[0]`` moved into range."""
    atoms = atoms.copy()
    atoms.rattle(stdev=0.05, seed=int(rng.integers(2**31)))
    symbols = np.array(atoms.get_chemical_symbols())
    i = int(rng.choice(np.flatnonzero(symbols == pair[0])))
    d = atoms.get_distances(i, range(len(atoms)), mic=True, vector=True)
    r = np.linalg.norm(d, axis=1)
    r[(symbols != pair[1]) | (np.arange(len(atoms)) == i)] = np.inf
    j = int(np.argmin(r))
    target = float(rng.uniform(*CATION_CONTACT_A[pair]))
    atoms.positions[j] = atoms.positions[i] + d[j] * target / r[j]
    atoms.info[keys.CONFIG_TYPE] = "contact_cation"
    return atoms


def static_frames(plan: FramePlan, seed: int) -> list[Any]:
    """Strained/rattled crystals, volume scans and mixed cells (unlabelled, ``config_type`` set)."""
    rng = np.random.default_rng(seed)
    frames = []
    for name in CRYSTALS:
        base = _crystal(name)
        for k in range(plan.per_crystal):
            frame = _strain(base, rng, 0.04 if k else 0.0)
            frame.rattle(stdev=float(rng.uniform(0.02, 0.15)), seed=int(rng.integers(2**31)))
            frame.info[keys.CONFIG_TYPE] = f"crystal_{name}"
            frames.append(frame)
    if plan.volume_scan:
        scans = [(_P3M1, s, 1.0) for s in (0.94, 0.97, 1.03, 1.07, 1.12, 1.18, 1.24)]
        scans += [(_P3M1, 1.0, c) for c in (1.05, 1.10, 1.15, 1.20, 1.25, 1.30)]
        scans += [(n, s, 1.0) for n in ("licl", "zrcl4") for s in (0.94, 1.03, 1.08, 1.15, 1.22)]
        for name, iso, c in scans:
            frame = _scaled(_md_start(name, rng) if name == _P3M1 else _crystal(name), iso, c)
            frame.rattle(stdev=0.05, seed=int(rng.integers(2**31)))
            frame.info[keys.CONFIG_TYPE] = "volume_scan"
            frames.append(frame)
    for _ in range(plan.n_mixed):
        x = float(rng.choice([0.0, 0.1, 0.2, 0.25, 0.333, 0.4, 0.5, 0.6, 0.75, 1.0]))
        frame = _strain(_mixed(x, rng), rng, 0.04)
        frame.rattle(stdev=float(rng.uniform(0.02, 0.12)), seed=int(rng.integers(2**31)))
        frame.info[keys.CONFIG_TYPE] = "mixed"
        frames.append(frame)
    for frame in frames:
        frame.info["seed"] = seed
    return frames


def contact_frames(plan: FramePlan, seed: int) -> list[Any]:
    """``plan.n_contacts`` Li2ZrCl6 frames with one close pair (:func:`_contact`), then
    ``plan.n_cation_contacts`` with one close cation pair (:func:`_cation_contact`)."""
    rng = np.random.default_rng(seed)
    frames = [_contact(_md_start(_P3M1, rng), rng) for _ in range(plan.n_contacts)]
    pairs = list(CATION_CONTACT_A)
    frames += [_cation_contact(_md_start(_P3M1, rng), rng, pairs[k % len(pairs)])
               for k in range(plan.n_cation_contacts)]
    for frame in frames:
        frame.info["seed"] = seed
    return frames


def md_frames(plan: FramePlan, seed: int, calculator: Any, progress: bool = False,
              cache: str | os.PathLike | None = None) -> list[Any]:
    """Snapshots of Langevin MD driven by ``calculator`` (unlabelled, ``config_type`` md{T}K).

    Parameters
    ----------
    plan : FramePlan
        Runs, steps and snapshot interval.
    seed : int
        Base seed; run k uses ``seed + 100 k`` for its start cell, velocities and noise.
    calculator : ase calculator
        Drives the MD (the teacher).
    cache : str or PathLike, optional
        Folder for one extxyz per finished run, reused on a rerun (resume).
    """
    import ase.io

    from lizrcl_tools.fileio import write_atoms_atomic

    from ase import units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    frames = []
    for k, (name, temperature, iso, c) in enumerate(plan.md_runs):
        run_seed = seed + 100 * k
        done = Path(cache) / f"md_run{k:02d}_seed{run_seed}.extxyz" if cache else None
        if done is not None and done.is_file():
            frames += ase.io.read(done, index=":")
            continue
        run_frames = []
        rng = np.random.default_rng(run_seed)
        atoms = _scaled(_md_start(name, rng), iso, c)
        atoms.rattle(0.05, seed=run_seed)
        atoms.calc = calculator
        MaxwellBoltzmannDistribution(atoms, temperature_K=temperature, rng=rng)
        # 2 fs is safe for Li at ≤ 900 K; friction 0.02/fs thermalises within ~50 fs.
        dyn = Langevin(atoms, 2.0 * units.fs, temperature_K=temperature,
                       friction=0.02 / units.fs, fixcm=False, rng=rng)
        for step in range(1, plan.md_steps + 1):
            dyn.run(1)
            if step % plan.md_every == 0:
                frame = atoms.copy()
                frame.calc = None
                frame.arrays.pop("momenta", None)
                frame.info[keys.CONFIG_TYPE] = f"md{temperature:.0f}K"
                frame.info["md_cell"] = f"{name} iso {iso} c {c}"
                frame.info["md_step"] = step
                frame.info["seed"] = run_seed
                run_frames.append(frame)
        frames += run_frames
        if done is not None:
            write_atoms_atomic(done, run_frames, format="extxyz")
        if progress:
            print(f"[distill] md run {k + 1}/{len(plan.md_runs)}: {name} {temperature:.0f} K, "
                  f"{len(atoms)} atoms", flush=True)
    return frames


def generate_frames(
    teacher: str,
    out: str | os.PathLike,
    plan: str | FramePlan = "full",
    seed: int = 2026,
    progress: bool = True,
) -> Path:
    """Generate and label a distillation set; resumable through the labelling side file.

    Parameters
    ----------
    teacher : str
        Reference spec (:func:`lizrcl_tools.dataset.references.get_reference`), e.g.
        ``mace:lizrcl_tools/data/lizrcl_mace_small.model`` or ``sevennet``.
    out : str or PathLike
        Labelled extxyz to write (REF_energy eV, REF_forces eV/Å, REF_stress eV/Å³).
    plan : str or FramePlan
        A name in :data:`PLANS` or a plan.
    seed : int
        Seed of every random choice (recorded per frame).
    """
    import ase.io

    from lizrcl_tools.dataset.labelling import label_frames
    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.fileio import write_atoms_atomic

    plan = PLANS[plan] if isinstance(plan, str) else plan
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    reference = get_reference(teacher)
    unlabelled = out.with_name(out.stem + "-unlabelled.extxyz")
    if unlabelled.exists():
        frames = ase.io.read(unlabelled, index=":")
    else:
        # The MD only has to visit configurations; a float32 copy of the teacher drives it
        # twice as fast, and every kept frame is labelled in float64 below.
        driver = get_reference(teacher, dtype="float32") if teacher.startswith("mace") else reference
        cache = out.with_name(out.stem + "-md")
        cache.mkdir(exist_ok=True)
        frames = static_frames(plan, seed) + md_frames(plan, seed + 7, driver.calculator,
                                                       progress, cache)
        frames += contact_frames(plan, seed + 13)
        write_atoms_atomic(unlabelled, frames, format="extxyz")
    if out.is_file() and len(ase.io.read(out, index=":")) == len(frames):
        return out  # written atomically, so complete: a rerun does not label again
    label_frames(frames, reference, out, progress=progress)
    return out


def frames_by_kind(frames: Sequence[Any]) -> dict[str, int]:
    """Frame count per ``config_type``."""
    counts: dict[str, int] = {}
    for frame in frames:
        kind = str(frame.info.get(keys.CONFIG_TYPE, "?"))
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))
