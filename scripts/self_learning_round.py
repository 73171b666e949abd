"""One self-learning round for the default model: find where it fails, label there, grow the pool.

The first shipped model relaxed Li2ZrCl6 correctly at 0 K but its energy fell when the cell was
stretched beyond ~10 % (no training data there), so NPT at 600 K expanded the cell without
bound. This round adds what the SSW-NN loop would have found:

* volume scans (linear scale 0.90–1.40, small rattles) of every named crystal, and
* frames from MD runs of the current model (``nvt.lammpstrj`` of ``lizrcl md`` run folders),
  i.e. the configurations the model actually visits when it goes wrong,

labels them with the teacher (resumable, through :func:`lizrcl_tools.labelling.label_frames`)
and appends them to ``WORK/train_pool.extxyz``; then ``make_default_model.py train`` resumes.

Usage::

    python scripts/self_learning_round.py --work /tmp/lizrcl_default3 --runs conductivity/runs/T*
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def volume_scan(seed: int, scales: np.ndarray) -> list:
    """Rattled, isotropically scaled copies of every named crystal (config_type volume_scan)."""
    from lizrcl_tools.build import available_builders, build

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

    The MD of the first model collapsed atoms to < 0.5 Å: it had never seen a short contact, so
    nothing taught it the repulsive wall. Contacts span 70–90 % of the bond length.
    """
    from lizrcl_tools.build import build

    rng = np.random.default_rng(seed)
    base = build("li2zrcl6-p3m1")
    symbols = np.array(base.get_chemical_symbols())
    frames = []
    for cation in ("Li", "Zr"):
        for _ in range(n_per_pair):
            atoms = base.copy()
            atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
            i = int(rng.choice(np.nonzero(symbols == cation)[0]))
            cl = np.nonzero(symbols == "Cl")[0]
            d = atoms.get_distances(i, cl, mic=True, vector=True)
            j = int(np.argmin(np.linalg.norm(d, axis=1)))
            bond = np.linalg.norm(d[j])
            target = bond * rng.uniform(0.70, 0.90)
            atoms.positions[i] += d[j] / bond * (bond - target)
            atoms.info = {"config_type": "close_contact", "pair": f"{cation}-Cl",
                          "distance_A": float(target), "seed": seed}
            frames.append(atoms)
    return frames


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
    args = parser.parse_args()

    import ase.io

    from lizrcl_tools.calculators import get_reference
    from lizrcl_tools.fileio import write_atoms_atomic
    from lizrcl_tools.labelling import label_frames

    frames = (volume_scan(args.seed, np.linspace(0.90, 1.40, 9)) + close_contacts(args.seed)
              + md_frames(args.runs, args.per_run))
    labelled_path = args.work / f"selflearn_{args.seed}.extxyz"
    summary = label_frames(frames, get_reference(args.reference), labelled_path)
    print(f"labelled {summary.n_frames} frames ({summary.n_computed} computed) -> {labelled_path}")
    pool_path = args.work / "train_pool.extxyz"
    pool = ase.io.read(pool_path, index=":")
    tag = f"selflearn_{args.seed}"
    if any(f.info.get("round") == tag for f in pool):
        print(f"{pool_path} already holds round {tag}; nothing appended")
        return
    labelled = ase.io.read(labelled_path, index=":")
    new = [atoms for atoms in labelled if physical(atoms)]
    print(f"dropped {len(labelled) - len(new)} unphysical frames (overlapping atoms or |F| > 30 eV/Å)")
    for atoms in new:
        atoms.info["round"] = tag
    write_atoms_atomic(pool_path, pool + new, format="extxyz")
    print(f"{pool_path}: {len(pool)} + {len(new)} frames")


if __name__ == "__main__":
    main()
