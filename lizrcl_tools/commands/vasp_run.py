"""``lizrcl vasp run FOLDER... [--workers N | --cluster FILE]``: VASP in prepared folders."""

from __future__ import annotations

import argparse

from lizrcl_tools.commands._common import add_cluster_arguments, cluster_of


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``vasp run`` arguments."""
    parser.description = (
        "Run VASP in run folders (an INCAR and a POSCAR each; a folder without an INCAR is "
        "searched for them), one task per folder; a NEB folder (INCAR with IMAGES, image folders 00 … NN) "
        "is one task run in the folder itself, complete when every moving image holds a complete "
        "vasprun.xml. Folders that already hold a complete "
        "vasprun.xml are skipped without a task, so rerunning after an interruption runs only "
        "what is left. The command runs through the shell inside the folder (output to "
        "vasp.out). Then: lizrcl vasp collect FOLDERS -o train.extxyz."
    )
    parser.add_argument("folders", nargs="+", metavar="FOLDER", help="VASP run folders, or folders of them")
    parser.add_argument("--command", default=None, metavar="CMD",
                        help="command that runs VASP (default: the cluster file's vasp_command, else vasp_std)")
    parser.add_argument("--custodian", action="store_true",
                        help="run under custodian's VASP job (VaspErrorHandler, UnconvergedErrorHandler; "
                        "needs the optional package custodian)")
    add_cluster_arguments(parser)
    parser.epilog = "Without --workers/--cluster the folders run one after another in this process."
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from lizrcl_tools.vasp.run import run_vasp_folders

    cluster = cluster_of(args)
    report = run_vasp_folders(args.folders, cluster, command=args.command, custodian=args.custodian)
    print(report.summary() + (f" ({cluster.source})" if cluster is not None else ""))
    for folder, info in report.results.items():
        if "neb_images" in info:
            line = (f"NEB, {info['neb_images']} moving images, ≥ {info['n_steps']} ionic steps each, "
                    f"highest image free energy {info['energy_eV']:.6f} eV")
        else:
            line = f"{info['n_steps']} ionic steps, last free energy {info['energy_eV']:.6f} eV"
        print(f"  {folder}: {line}" + ("" if info["ran"] else " (was complete)"))
    return 0
