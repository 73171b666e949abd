"""``lizrcl train``: train a MACE potential (mace-torch) with Li–Zr–Cl defaults and report it."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` arguments (model size, loss weights, split, device)."""
    parser.add_argument("data", help="labelled extxyz (REF_energy, REF_forces, REF_stress)")
    parser.add_argument("-o", "--work-dir", required=True,
                        help="output folder; rerunning with it resumes mace's checkpoint")
    parser.add_argument("--name", default="lizrcl_mace", help="model name (<name>.model)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and of mace")
    parser.add_argument("--valid-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--r-max", type=float, default=5.0, help="cut-off, Å (default 5.0)")
    parser.add_argument("--channels", type=int, default=32, help="channels (default 32)")
    parser.add_argument("--max-L", type=int, default=1, help="max L of hidden irreps (default 1)")
    parser.add_argument("--interactions", type=int, default=2, help="interaction layers (default 2)")
    parser.add_argument("--e0s", default="average", choices=["average", "isolated"],
                        help="atomic energies: least-squares 'average' or the reference's "
                        "isolated atoms (needs --reference)")
    parser.add_argument("--reference", default="sevennet",
                        help="reference calculator for --e0s isolated (default sevennet)")
    parser.add_argument("--energy-weight", type=float, default=1.0)
    parser.add_argument("--forces-weight", type=float, default=10.0)
    parser.add_argument("--stress-weight", type=float, default=1000.0,
                        help="stress loss weight (default 1000: stress in eV/Å³ is a small number)")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads of the training process (OMP_NUM_THREADS); 1 is "
                        "fastest on a busy machine")
    parser.add_argument("--no-pair-repulsion", dest="pair_repulsion", action="store_false",
                        help="leave out mace's ZBL core repulsion (on by default: it keeps hot "
                        "MD off short contacts the data never covered)")
    parser.add_argument("--mace-arg", action="append", default=[], metavar="--OPT=VALUE",
                        help="extra mace_run_train argument (repeatable; wins over defaults)")
    parser.add_argument(
        "--force", action="store_true",
        help="start over in a WORK_DIR that holds a training on other data or settings; the old "
        "folder is kept as WORK_DIR.bak1 (without it such a folder is refused; the same data "
        "and settings resume)",
    )
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from lizrcl_tools.potential.evaluate import format_report
    from lizrcl_tools.dataset.labelling import read_labelled_frames
    from lizrcl_tools.potential.train import TrainConfig, isolated_atom_energies, train

    e0s: object = "average"
    if args.e0s == "isolated":
        from lizrcl_tools.dataset.references import get_reference

        e0s = isolated_atom_energies(get_reference(args.reference, device=args.device))
    config = TrainConfig(
        name=args.name, seed=args.seed, valid_fraction=args.valid_fraction,
        test_fraction=args.test_fraction, r_max=args.r_max, num_channels=args.channels,
        max_L=args.max_L, num_interactions=args.interactions, e0s=e0s,
        energy_weight=args.energy_weight, forces_weight=args.forces_weight,
        stress_weight=args.stress_weight, max_num_epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, device=args.device, dtype=args.dtype,
        threads=args.threads, pair_repulsion=args.pair_repulsion,
        extra_args=tuple(args.mace_arg),
    )
    result = train(read_labelled_frames(args.data), args.work_dir, config, force=args.force)
    for name in ("train", "valid", "test"):
        if name in result.report:
            print(format_report(result.report[name], title=f"== {name} =="))
    print(f"model: {result.model_path}\nreport: {result.work_dir / 'report.json'}")
    return 0
