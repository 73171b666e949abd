"""``lizrcl distill TEACHER -o fast-model``: fit the fast tier (LAMMPS POD) to a teacher's labels."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``distill`` arguments."""
    from lizrcl_tools.potential.distill_data import PLANS
    from lizrcl_tools.potential.pod import PRESETS

    parser.add_argument("teacher", help="teacher: mace:PATH (e.g. the shipped model) or sevennet")
    parser.add_argument("-o", "--output", required=True, help="model folder to write")
    parser.add_argument("--work", default=None, help="folder for labelled sets and rounds "
                        "(default OUTPUT/work; a rerun resumes from it)")
    parser.add_argument("--plan", default="full", choices=sorted(PLANS), help="base frame plan")
    parser.add_argument("--heldout-plan", default="heldout", choices=sorted(PLANS))
    parser.add_argument("--pod", default="default", choices=sorted(PRESETS), help="POD settings")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rounds", type=int, default=2, help="self-learning rounds (fast MD → teacher labels → refit)")
    parser.add_argument("--round-steps", type=int, default=3000, help="fast-MD steps (1 fs) per temperature per round")
    parser.add_argument("--round-every", type=int, default=150, help="steps between kept snapshots")
    parser.add_argument("--round-temperatures", type=float, nargs="+", default=[450.0, 600.0, 750.0, 900.0], metavar="K")
    parser.add_argument("--extra", nargs="*", default=[], help="labelled extxyz files added to the training set")
    parser.add_argument("--heldout", nargs="*", default=[], help="labelled extxyz files to report held-out errors on")
    parser.add_argument("--force", action="store_true", help="replace an existing model folder")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lizrcl_tools.errors import SetupError
    from lizrcl_tools.potential.distill import DistillConfig, distill
    from lizrcl_tools.potential.pod import COEFF_FILE

    if (Path(args.output) / COEFF_FILE).exists() and not args.force:
        raise SetupError(f"{args.output} already holds a fitted model; pass --force to replace it")
    config = DistillConfig(
        teacher=args.teacher, plan=args.plan, heldout_plan=args.heldout_plan, pod=args.pod,
        seed=args.seed, rounds=args.rounds, round_temperatures_K=tuple(args.round_temperatures),
        round_steps=args.round_steps, round_every=args.round_every, extra_frames=tuple(args.extra),
    )
    meta = distill(config, args.output, args.work, heldout=args.heldout, progress=not args.no_progress)
    for name, err in meta["heldout_errors"].items():
        print(f"held-out {name}: {err['n_frames']} frames, {err['energy_rmse_meV_per_atom']:.2f} "
              f"meV/atom, {err['force_rmse_eV_per_A']:.3f} eV/Å")
    print(f"wrote {args.output} (pair_style pod; card.md, fast.json); use it with "
          f"--potential fast --model {args.output}")
    return 0
