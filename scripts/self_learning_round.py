"""One self-learning round for the default model: find where it fails, label there, grow the pool.

Each ``--round`` builds one kind of frames where a model is likely to be wrong (the ``--round``
help lists them), for instance

* volume scans (linear scale 0.90–1.40, small rattles) of every named crystal, and
* frames from MD runs of the current model (``nvt.lammpstrj`` of ``lizrcl md`` run folders),
  i.e. the configurations the model actually visits when it goes wrong,

labels them with the teacher (resumable, through :func:`lizrcl_tools.dataset.labelling.label_frames`)
and appends them to ``WORK/train_pool.extxyz``; then ``make_default_model.py train`` resumes.
Which round was run for which shipped model, and what it fixed, is recorded in
``scripts/default_model_history.md`` (and the model card), not here.

Usage::

    python scripts/self_learning_round.py --work /tmp/lizrcl_default3 --runs conductivity/runs/T*
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def volume_scan(seed: int, scales: np.ndarray) -> list:
    """Rattled, isotropically scaled copies of every named crystal (config_type volume_scan)."""
    from lizrcl_tools.structures import available_builders, build

    rng = np.random.default_rng(seed)
    frames = []
    for name in available_builders():
        base = build(name)
        for s in scales:
            atoms = base.copy()
            atoms.set_cell(base.cell * s, scale_atoms=True)
            atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
            atoms.info = {"config_type": "volume_scan", "builder": name, "scale": float(s), "seed": seed}
            frames.append(atoms)
    return frames


def close_contacts(seed: int, n_per_pair: int = 4) -> list:
    """Li2ZrCl6 cells with one cation pushed towards a Cl (config_type close_contact).

    A model that never saw a short contact has no repulsive wall and can collapse atoms in MD.
    Contacts span 70–90 % of the bond length.
    """
    from lizrcl_tools.structures import build

    rng = np.random.default_rng(seed)
    base = build("li2zrcl6-p3m1")
    symbols = np.array(base.get_chemical_symbols())
    frames = []
    for cation in ("Li", "Zr"):
        for _ in range(n_per_pair):
            atoms = base.copy()
            atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
            i = int(rng.choice(np.nonzero(symbols == cation)[0]))
            j, vector = nearest_of(atoms, i, "Cl")
            target = np.linalg.norm(vector) * rng.uniform(0.70, 0.90)
            set_pair_distance(atoms, i, j, vector, target, move_both=False)
            atoms.info = {"config_type": "close_contact", "pair": f"{cation}-Cl",
                          "distance_A": float(target), "seed": seed}
            frames.append(atoms)
    return frames


def nearest_of(atoms, i: int, element: str) -> tuple[int, np.ndarray]:
    """Index of the atom of ``element`` nearest to atom ``i`` (not ``i`` itself) and the
    minimum-image vector from ``i`` to it (Å)."""
    symbols = np.array(atoms.get_chemical_symbols())
    others = np.array([j for j in np.nonzero(symbols == element)[0] if j != i])
    d = atoms.get_distances(i, others, mic=True, vector=True)
    k = int(np.argmin(np.linalg.norm(d, axis=1)))
    return int(others[k]), d[k]


def set_pair_distance(atoms, i: int, j: int, vector: np.ndarray, target_A: float,
                      move_both: bool) -> None:
    """Bring atoms ``i`` and ``j`` (``vector`` from i to j) to ``target_A`` apart along their axis.

    ``move_both`` splits the move between them, so neither leaves its own neighbourhood
    alone; otherwise only ``i`` moves.
    """
    current = float(np.linalg.norm(vector))
    shift = vector / current * (current - target_A)
    if move_both:
        atoms.positions[i] += shift / 2
        atoms.positions[j] -= shift / 2
    else:
        atoms.positions[i] += shift


PAIR_CONTACT_RANGE_A = {
    # (shortest distance, longest distance) of the pushed pair, Å; the lower ends sit below
    # anything 900 K MD reaches, so the repulsive wall is in the data, not extrapolated.
    ("Cl", "Cl"): (1.8, 3.2), ("Li", "Cl"): (1.6, 2.4), ("Zr", "Cl"): (1.8, 2.3),
    ("Li", "Li"): (1.9, 3.0), ("Li", "Zr"): (2.2, 3.2),
}


def pair_contacts(seed: int, n_per_pair: int = 6) -> list:
    """Li2ZrCl6 cells (both polymorphs) with one pair of atoms pushed together.

    Unlike :func:`close_contacts` (cation–Cl only), every pair type spans the range in
    ``PAIR_CONTACT_RANGE_A`` (config_type pair_contact; the pair and distance are recorded).
    """
    from lizrcl_tools.structures import build

    rng = np.random.default_rng(seed)
    frames = []
    for (a, b), (lo, hi) in PAIR_CONTACT_RANGE_A.items():
        for k in range(n_per_pair):
            atoms = build("li2zrcl6-p3m1" if k % 2 == 0 else "li2zrcl6-c2m")
            symbols = np.array(atoms.get_chemical_symbols())
            atoms.positions += rng.normal(scale=0.08, size=atoms.positions.shape)
            i = int(rng.choice(np.nonzero(symbols == a)[0]))
            j, vector = nearest_of(atoms, i, b)
            target = lo + (hi - lo) * (k + rng.uniform()) / n_per_pair
            set_pair_distance(atoms, i, j, vector, target, move_both=True)
            atoms.info = {"config_type": "pair_contact", "pair": f"{a}-{b}",
                          "distance_A": float(target), "seed": seed}
            frames.append(atoms)
    return frames


def hot_rattles(seed: int, n_frames: int = 24) -> list:
    """Strained Li2ZrCl6 cells with large Gaussian displacements (config_type hot_rattle).

    σ = 0.10–0.30 Å brackets the thermal displacements of Li at 600–900 K; strains ±3 %.
    Stands in for teacher MD where the teacher is too slow to run long.
    """
    from lizrcl_tools.structures import build, make_supercell

    rng = np.random.default_rng(seed)
    bases = [build("li2zrcl6-p3m1"), build("li2zrcl6-c2m"),
             make_supercell(build("li2zrcl6-p3m1"), 54)]
    frames = []
    for k in range(n_frames):
        atoms = bases[k % len(bases)].copy()
        strain = np.eye(3) + rng.uniform(-0.03, 0.03, size=(3, 3)) * np.array(
            [[1, 0.3, 0.3], [0.3, 1, 0.3], [0.3, 0.3, 1]])
        atoms.set_cell(atoms.cell[:] @ strain, scale_atoms=True)
        sigma = 0.10 + 0.20 * k / max(n_frames - 1, 1)
        atoms.positions += rng.normal(scale=sigma, size=atoms.positions.shape)
        atoms.info = {"config_type": "hot_rattle", "sigma_A": float(sigma), "seed": seed}
        frames.append(atoms)
    return frames


TEACHER_MD_PLAN = (
    # (builder, atoms, temperature K, 2-fs steps): the cells `lizrcl conductivity` runs
    ("li2zrcl6-p3m1", 54, 600.0, 300), ("li2zrcl6-p3m1", 54, 750.0, 300),
    ("li2zrcl6-p3m1", 54, 900.0, 300), ("li2zrcl6-c2m", 36, 750.0, 300),
)


def _recipe():
    """The structure recipe of the shipped model (``make_default_model.py`` beside this file)."""
    import sys

    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import make_default_model

    return make_default_model


def _teacher_runs(runs: list, seed: int, every: int) -> list:
    """Teacher Langevin MD from each start; run ``k`` is seeded ``seed + 100 k``.

    ``runs`` holds (start atoms, temperature K, 2-fs steps, config_type, what to print).
    """
    from lizrcl_tools.dataset.references import get_reference

    reference = get_reference("sevennet")
    frames = []
    for k, (start, temperature, n_steps, config_type, what) in enumerate(runs):
        snaps = _recipe().md_snapshots(start, reference, temperature, n_steps, every,
                                       seed + 100 * k, config_type)
        print(f"teacher MD {what} {len(start)} atoms {temperature:.0f} K: {len(snaps)} frames",
              flush=True)
        frames += snaps
    return frames


def teacher_md(seed: int, every: int = 10) -> list:
    """Teacher-driven Langevin MD in the conductivity cells (config_type md<T>K_54).

    The teacher labels ~5 frames/s of 27 atoms on an idle machine, so the frames the
    production MD visits can be sampled by the teacher itself rather than guessed. Each run
    starts from a cell strained by up to ±2 % (the NPT volume at temperature is not known in
    advance); a frame every ``every`` steps (20 fs).
    """
    from lizrcl_tools.structures import build, make_supercell

    rng = np.random.default_rng(seed)
    runs = []
    for name, n_atoms, temperature, n_steps in TEACHER_MD_PLAN:
        start = make_supercell(build(name), n_atoms)
        start.set_cell(start.cell[:] @ (np.eye(3) + np.diag(rng.uniform(-0.02, 0.02, 3))),
                       scale_atoms=True)
        runs.append((start, temperature, n_steps, f"md{int(temperature)}K_{n_atoms}", name))
    return _teacher_runs(runs, seed, every)


def _random_cells(seed: int, n_frames: int, draw_x) -> list:
    """Strained, rattled random decorations (``make_default_model.mixed_cell``) with x drawn by
    ``draw_x(rng)``; config_type mixed. ±4 % strain and 0.02–0.12 Å rattles, as the original
    pool's mixed cells."""
    recipe = _recipe()
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(n_frames):
        x = draw_x(rng)
        atoms = recipe.strained(recipe.mixed_cell(x, rng), rng, 0.04)
        atoms.rattle(stdev=float(rng.uniform(0.02, 0.12)), seed=int(rng.integers(2**31)))
        atoms.info = {"config_type": "mixed", "x_target": x, "seed": seed}
        frames.append(atoms)
    return frames


def _mixed_cell_md(plan: tuple, seed: int, every: int) -> list:
    """Teacher MD from one random decoration per (x, T K, 2-fs steps) row of ``plan``
    (config_type md<T>K_mixed)."""
    recipe = _recipe()
    rng = np.random.default_rng(seed)
    runs = []
    for k, (x, temperature, n_steps) in enumerate(plan):
        start = recipe.mixed_cell(x, rng)
        start.rattle(0.05, seed=seed + k)
        runs.append((start, temperature, n_steps, f"md{int(temperature)}K_mixed", f"x={x}"))
    return _teacher_runs(runs, seed, every)


ZR_RICH_MD_PLAN = (
    # (x of (LiCl)1-x(ZrCl4)x, temperature K, 2-fs steps): random decorations, held at T
    (1.0, 600.0, 200), (1.0, 600.0, 200), (0.5, 600.0, 200), (0.7, 600.0, 200),
)


def zr_rich_cells(seed: int, n_frames: int = 80) -> list:
    """Random Li/Zr decorations of close-packed Cl lattices at 0.3 ≤ x ≤ 1 (config_type mixed).

    Built like the original pool's mixed cells (``make_default_model.mixed_cell``, ±4 % strain,
    0.02–0.12 Å rattle), with 40 % of them at x = 1.
    """
    return _random_cells(seed, n_frames,
                         lambda rng: 1.0 if rng.uniform() < 0.4 else float(rng.uniform(0.3, 0.95)))


def zr_rich_md(seed: int, every: int = 10) -> list:
    """Teacher Langevin MD of random Zr-rich cells (config_type md<T>K_mixed)."""
    return _mixed_cell_md(ZR_RICH_MD_PLAN, seed, every)


LI_RICH_MD_PLAN = (
    # (x target, temperature K, 2-fs steps): mixed_cell rounds these to x = 1/13, 1/9, 1/5,
    # 1/3 or 3/7 depending on the 16- or 24-Cl lattice it draws
    (0.1, 600.0, 200), (0.2, 600.0, 200), (0.25, 600.0, 200), (0.3, 900.0, 200),
    (0.4, 600.0, 200),
)


def all_x_cells(seed: int, n_frames: int = 100) -> list:
    """Random decorations over the whole series, 0 ≤ x ≤ 1 (config_type mixed).

    Same draw as ``make_default_model.static_frames`` (±4 % strain, 0.02–0.12 Å rattle).
    """
    return _random_cells(seed, n_frames, lambda rng: float(rng.uniform(0.0, 1.0)))


def li_rich_md(seed: int, every: int = 10) -> list:
    """Teacher Langevin MD of random Li-rich cells, x ≤ 0.4 (config_type md<T>K_mixed)."""
    return _mixed_cell_md(LI_RICH_MD_PLAN, seed, every)


def ssw_minima(db_path: Path, seed: int, max_walk_points: int = 20) -> list:
    """Minima and walk points of an SSW database (the SSW-NN step: label where the walk went).

    A walk can find a "minimum" of the model that the teacher puts far higher (e.g. Li with two
    Cl neighbours in an open cell); labelling such points is what fills the hole.
    """
    from lizrcl_tools.ssw.database import MinimaDB
    from lizrcl_tools.ssw.export import labelling_frames

    return labelling_frames(MinimaDB(db_path), window_eV_atom=0.5,
                            max_walk_points=max_walk_points, seed=seed)


def physical(atoms, min_distance_A: float = 1.2, max_force_eV_A: float = 30.0) -> bool:
    """Keep frames a DFT code would also converge on: no overlapping atoms, finite forces."""
    d = atoms.get_all_distances(mic=True)
    np.fill_diagonal(d, np.inf)
    return d.min() >= min_distance_A and np.abs(atoms.arrays["REF_forces"]).max() <= max_force_eV_A


def md_frames(run_dirs: list[Path], per_run: int) -> list:
    """Evenly spaced frames of each run's production dump, species from its run.json."""
    import json

    import ase.io

    frames = []
    for run in run_dirs:
        info = json.loads((run / "run.json").read_text())
        dump = ase.io.read(run / "nvt.lammpstrj", index=":", format="lammps-dump-text")
        for k in np.linspace(0, len(dump) - 1, per_run).astype(int):
            atoms = dump[k]
            symbols = [info["elements"][t - 1] for t in atoms.arrays["type"]]
            clean = atoms.__class__(symbols=symbols, positions=atoms.positions, cell=atoms.cell, pbc=True)
            clean.info = {"config_type": f"md_selflearn{int(info['temperature_K'])}K", "source": f"{run}:{k}"}
            frames.append(clean)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="training work folder (holds train_pool.extxyz)")
    parser.add_argument("--runs", type=Path, nargs="*", default=[], help="lizrcl md run folders")
    parser.add_argument("--per-run", type=int, default=12, help="frames taken from each run")
    parser.add_argument("--seed", type=int, default=4026)
    parser.add_argument("--reference", default="sevennet")
    parser.add_argument("--round", type=int, default=1, choices=(1, 2, 3, 4, 5),
                        help="1: volume scans + cation-Cl contacts + MD frames; 2: contacts of "
                             "every pair type + hot rattles + MD frames; 3: teacher MD in the "
                             "conductivity cells + MD frames; 4: random Zr-rich cells + their "
                             "teacher MD + SSW minima (--ssw-db); 5: random cells over all x + "
                             "teacher MD of Li-rich random cells + MD frames")
    parser.add_argument("--ssw-db", type=Path, nargs="*", default=[],
                        help="round 4: minima databases of lizrcl ssw walks to label")
    args = parser.parse_args()

    import ase.io

    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.fileio import write_atoms_atomic
    from lizrcl_tools.dataset.labelling import label_frames

    if args.round == 1:
        frames = volume_scan(args.seed, np.linspace(0.90, 1.40, 9)) + close_contacts(args.seed)
    elif args.round == 2:
        frames = pair_contacts(args.seed) + hot_rattles(args.seed)
    elif args.round == 4:
        frames = zr_rich_cells(args.seed)
        for db in args.ssw_db:
            frames += ssw_minima(db, args.seed)
    elif args.round == 5:
        frames = all_x_cells(args.seed)
    else:
        frames = []
    frames += md_frames(args.runs, args.per_run)
    labelled = []
    if frames:
        labelled_path = args.work / f"selflearn_{args.seed}.extxyz"
        summary = label_frames(frames, get_reference(args.reference), labelled_path)
        print(f"labelled {summary.n_frames} frames ({summary.n_computed} computed) -> {labelled_path}")
        labelled = ase.io.read(labelled_path, index=":")
    if args.round in (3, 4, 5):
        # the teacher labels each kept MD step as it goes: no second labelling pass
        teacher_path = args.work / f"teacher_md_{args.seed}.extxyz"
        if not teacher_path.exists():
            run = {3: teacher_md, 4: zr_rich_md, 5: li_rich_md}[args.round]
            write_atoms_atomic(teacher_path, run(args.seed), format="extxyz")
        labelled += ase.io.read(teacher_path, index=":")
    pool_path = args.work / "train_pool.extxyz"
    pool = ase.io.read(pool_path, index=":")
    tag = f"selflearn_{args.seed}"
    if any(f.info.get("round") == tag for f in pool):
        print(f"{pool_path} already holds round {tag}; nothing appended")
        return
    new = [atoms for atoms in labelled if physical(atoms)]
    print(f"dropped {len(labelled) - len(new)} unphysical frames (overlapping atoms or |F| > 30 eV/Å)")
    for atoms in new:
        atoms.info["round"] = tag
    write_atoms_atomic(pool_path, pool + new, format="extxyz")
    print(f"{pool_path}: {len(pool)} + {len(new)} frames")


if __name__ == "__main__":
    main()
