#!/usr/bin/env python
"""The SSW-NN self-learning loop on small cells, driven through the ``lizrcl`` CLI.

Each generation g (Huang, Shang & Liu, Chem. Sci. 2017):

1. **walk**: several SSW walkers (seeds) on every starting cell with the current potential
   (``lizrcl ssw``; generation 0 uses ``--potential`` as given, later ones the model just
   trained), all writing to the generation's minima database;
2. **select**: ``lizrcl minima --for-labelling`` keeps minima and walk points within an energy
   window, at most ``--max-walk-points`` walk points (seeded random choice);
3. **label** them with the reference (``lizrcl label --reference``: VASP stand-in such as
   ``sevennet``);
4. **retrain** on everything labelled so far (``lizrcl train``), then walk again.

Stop after ``--generations`` or when the new model's force error on the newest labelled frames
no longer falls (read from ``lizrcl train``'s ``<work>/report.json`` when present: key
``test.force_rmse_eV_per_A``; otherwise only the generation count applies).

Every generation lives in ``<workdir>/gen<g>/``; a step whose output exists is skipped, so a
stopped loop reruns from where it stopped. Example::

    .venv/bin/python scripts/ssw_nn_loop.py cells/*.extxyz --workdir loop --initial-data seed.extxyz
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path


def lizrcl(*args: str) -> None:
    """Run one ``lizrcl`` command; stop the loop if it fails."""
    cmd = [sys.executable, "-m", "lizrcl_tools", *args]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def concat(files: list[Path], out: Path) -> None:
    """Concatenate extxyz files (the training set grows by appending)."""
    out.write_text("".join(f.read_text() for f in files if f.exists()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cells", nargs="+", help="small starting cells (ASE-readable)")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--initial-data", type=Path, help="labelled extxyz to start training from (optional)")
    p.add_argument("--potential", default="classical", help="potential of generation 0 (lizrcl ssw --potential)")
    p.add_argument("--reference", default="sevennet", help="labelling reference (lizrcl label --reference)")
    p.add_argument("--generations", type=int, default=5)
    p.add_argument("--walkers", type=int, default=2, help="seeds per starting cell")
    p.add_argument("--steps", type=int, default=30, help="SSW steps per walker")
    p.add_argument("--window", type=float, default=0.3, help="selection window, eV/atom above the minimum")
    p.add_argument("--max-walk-points", type=int, default=100)
    p.add_argument("--epochs", type=int, default=50)
    args = p.parse_args()

    model: Path | None = None
    labelled: list[Path] = [args.initial_data] if args.initial_data else []
    last_error = float("inf")
    for g in range(args.generations):
        gen = args.workdir / f"gen{g}"
        gen.mkdir(parents=True, exist_ok=True)
        db = gen / "minima.db"
        pot = ["--potential", "mace", "--model", str(model)] if model else ["--potential", args.potential]
        for c, cell in enumerate(args.cells):
            for w in range(args.walkers):
                seed = 1000 * g + 100 * c + w
                # Resumes by itself from the checkpoint if this walker was stopped.
                lizrcl("ssw", cell, "--db", str(db), "--checkpoint", str(gen / f"walk_{c}_{w}.json"),
                       "--steps", str(args.steps), "--seed", str(seed), "--no-progress", *pot)
        frames, labels = gen / "select.extxyz", gen / "labelled.extxyz"
        if not frames.exists():
            lizrcl("minima", str(db), "--for-labelling", str(frames), "--window", str(args.window),
                   "--max-walk-points", str(args.max_walk_points), "--seed", str(g))
        lizrcl("label", str(frames), "-o", str(labels), "--reference", args.reference)  # resumable itself
        labelled.append(labels)
        train_set, train_dir = gen / "train.extxyz", gen / "train"
        concat(labelled, train_set)
        model = train_dir / "lizrcl_mace.model"
        if not model.exists():
            lizrcl("train", str(train_set), "-o", str(train_dir), "--seed", str(g), "--epochs", str(args.epochs))
        report = train_dir / "report.json"
        if report.exists():
            error = json.loads(report.read_text()).get("test", {}).get("force_rmse_eV_per_A")
            print(f"generation {g}: test force RMSE {error} eV/Å")
            if error is not None and error >= 0.95 * last_error:
                print("errors on new samples are flat: stopping")
                break
            last_error = error if error is not None else last_error


if __name__ == "__main__":
    main()
