"""Train a MACE potential for Li–Zr–Cl with mace-torch, then report its errors.

Training itself is mace-torch's (``python -m mace.cli.run_train``, run as a subprocess so its
logging and global torch settings stay out of the caller); this module only

1. splits the labelled frames into train / validation / test sets with a recorded seed,
2. builds the ``mace_run_train`` argument list from :class:`TrainConfig` (Li–Zr–Cl defaults),
3. runs it with ``--restart_latest`` so an interrupted training resumes from its checkpoint,
4. evaluates the final model on all three sets (:mod:`lizrcl_tools.potential.evaluate`), writing
   ``report.json``, a text table and parity plots (PNG) per set.

Defaults, and why
-----------------
* ``r_max = 5.0`` Å: covers the first Zr–Cl, Li–Cl and Cl–Cl shells (2.5–3.9 Å) with margin.
* ``num_channels = 32``, ``max_L = 1`` (hidden irreps 32x0e+32x1o), 2 interactions: the
  conductivity MD runs ~10⁵ steps on 432 atoms, so a small model matters more than the last
  meV. ``max_L = 0`` (32x0e) halves the CPU time of an epoch and of an MD step again; the
  shipped model uses it (its card, ``lizrcl_tools/data/lizrcl_mace_small.md``, says why).
* ``E0s = "average"``: least-squares atomic energies from the training set (mace's
  ``compute_average_E0s``), or ``"isolated"``: the reference's isolated-atom energies.
* loss ``stress`` with weights energy 1, forces 10, stress 1000. mace takes a plain mean
  squared error of each quantity in its own units; stress errors in eV/Å³ are ~100x smaller
  numbers than force errors in eV/Å (1 GPa = 0.006 eV/Å³), so a stress weight of ~10 leaves
  the stress unlearnt and the relaxed cell far too large.
* ``pair_repulsion = True``: mace's ZBL screened-nuclear repulsion under the learned energy.
  Without it a small model has no repulsive wall where it has no data: in hot MD, Cl–Cl and
  Li–Cl pairs can fall to ~1.5 Å and the thermostat lose control.

Outputs in ``work_dir``: ``data/{train,valid,test}.extxyz``, ``split.json`` (seed, indices,
config, command), ``mace_train.log``, ``<name>.model``, ``report.json``, ``report.txt``,
``parity_{train,valid,test}.png``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools import keys
from lizrcl_tools.errors import RunFailed, SetupError
from lizrcl_tools.potential.train_record import check_work_dir, data_fingerprint


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one MACE training (units: Å, eV; weights are mace loss weights).

    Attributes
    ----------
    name : str
        Model name; the model file is ``<name>.model``.
    seed : int
        Seed of the train/valid/test split and of mace's initialisation and shuffling.
    valid_fraction, test_fraction : float
        Fractions of frames held out for validation (early stopping) and final testing.
    r_max : float
        Cut-off radius, Å.
    num_channels, max_L, num_interactions, correlation, num_radial_basis : int
        Model size (hidden irreps ``{num_channels}x0e+{num_channels}x1o`` for max_L = 1).
    e0s : str or dict
        ``"average"`` (least squares on the training set) or ``{Z: E0_eV}``.
    energy_weight, forces_weight, stress_weight : float
        Loss weights.
    max_num_epochs, batch_size, patience : int
        Optimisation length; ``patience`` epochs without validation improvement stop it.
    lr : float
        Learning rate.
    stage_two : bool
        mace's Stage Two (raises the energy weight, lowers the lr for the last ~20% of epochs).
    stage_two_energy_weight : float
        Energy weight in Stage Two (forces and stress keep theirs): 10x the force weight, the
        same energy:force ratio as mace's own Stage Two defaults.
    ema : bool
        Exponential moving average of the weights.
    pair_repulsion : bool
        Add mace's ZBL screened-nuclear repulsion (``--pair_repulsion``) under the learned
        energy. On by default: a small model trained on near-equilibrium frames otherwise has
        no repulsive wall where it has no data, and hot MD let Cl–Cl and Li–Cl contacts
        collapse to ~1.5 Å. The ZBL term is part of the model, so the exported pair style has it.
    device : str
        ``cpu`` or ``cuda``.
    dtype : str
        ``float64`` or ``float32`` (training default float64: stable forces and stress).
    threads : int, optional
        CPU threads for the training process (``OMP_NUM_THREADS``). On a loaded machine 1 is
        much faster than torch's default: idle OpenMP threads spin while waiting for a core.
    extra_args : tuple of str
        Further ``mace_run_train`` arguments, passed last (they win).
    """

    name: str = "lizrcl_mace"
    seed: int = 0
    valid_fraction: float = 0.1
    test_fraction: float = 0.1
    r_max: float = 5.0
    num_channels: int = 32
    max_L: int = 1
    num_interactions: int = 2
    correlation: int = 3
    num_radial_basis: int = 8
    e0s: Any = "average"
    energy_weight: float = 1.0
    forces_weight: float = 10.0
    stress_weight: float = 1000.0
    max_num_epochs: int = 100
    batch_size: int = 4
    patience: int = 30
    lr: float = 0.01
    stage_two: bool = True
    stage_two_energy_weight: float = 100.0
    ema: bool = True
    pair_repulsion: bool = True
    device: str = "cpu"
    dtype: str = "float64"
    threads: int | None = None
    extra_args: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.device not in ("cpu", "cuda"):
            raise SetupError(f"device must be cpu or cuda, not {self.device!r}")
        if self.dtype not in ("float64", "float32"):
            raise SetupError(f"dtype must be float64 or float32, not {self.dtype!r}")
        if not 0 < self.valid_fraction < 1 or not 0 <= self.test_fraction < 1:
            raise SetupError("valid_fraction must be in (0, 1) and test_fraction in [0, 1)")
        if self.valid_fraction + self.test_fraction >= 1:
            raise SetupError("valid_fraction + test_fraction must leave frames for training")


@dataclass(frozen=True)
class TrainResult:
    """Where a training put its outputs, and its error report (see evaluation.error_report)."""

    model_path: Path
    work_dir: Path
    report: dict[str, Any]
    command: list[str]


def split_indices(n_frames: int, valid_fraction: float, test_fraction: float,
                  seed: int) -> dict[str, list[int]]:
    """Random train/valid/test split of ``range(n_frames)`` with a seed.

    Each of valid and test gets at least one frame when its fraction is > 0; indices are
    sorted within each set so the written files keep the input order.
    """
    if n_frames < 3:
        raise SetupError(f"need at least 3 labelled frames to train, got {n_frames}")
    order = np.random.default_rng(seed).permutation(n_frames)
    n_valid = max(1, int(round(valid_fraction * n_frames)))
    n_test = max(1, int(round(test_fraction * n_frames))) if test_fraction > 0 else 0
    return {
        "valid": sorted(int(i) for i in order[:n_valid]),
        "test": sorted(int(i) for i in order[n_valid:n_valid + n_test]),
        "train": sorted(int(i) for i in order[n_valid + n_test:]),
    }


def mace_arguments(config: TrainConfig, train_file: Path, valid_file: Path,
                   work_dir: Path) -> list[str]:
    """The ``mace_run_train`` argument list for ``config`` (no program name)."""
    e0s = config.e0s if isinstance(config.e0s, str) else repr(
        {int(z): float(e) for z, e in dict(config.e0s).items()})
    args = [
        f"--name={config.name}",
        f"--seed={config.seed}",
        f"--work_dir={work_dir}",
        f"--train_file={train_file}",
        f"--valid_file={valid_file}",
        f"--energy_key={keys.REF_ENERGY}",
        f"--forces_key={keys.REF_FORCES}",
        f"--stress_key={keys.REF_STRESS}",
        f"--E0s={e0s}",
        "--model=MACE",
        f"--r_max={config.r_max}",
        f"--num_channels={config.num_channels}",
        f"--max_L={config.max_L}",
        f"--num_interactions={config.num_interactions}",
        f"--correlation={config.correlation}",
        f"--num_radial_basis={config.num_radial_basis}",
        "--loss=stress",
        "--compute_stress=True",
        "--error_table=PerAtomRMSEstressvirials",
        f"--energy_weight={config.energy_weight}",
        f"--forces_weight={config.forces_weight}",
        f"--stress_weight={config.stress_weight}",
        f"--max_num_epochs={config.max_num_epochs}",
        f"--patience={config.patience}",
        f"--batch_size={config.batch_size}",
        f"--valid_batch_size={max(config.batch_size, 8)}",
        f"--lr={config.lr}",
        f"--device={config.device}",
        f"--default_dtype={config.dtype}",
        "--plot=False",
        "--save_cpu",
        "--restart_latest",
    ]
    if config.stage_two:
        # Stage Two for the last 20% of epochs, keeping our energy/stress emphasis.
        start = max(1, int(0.8 * config.max_num_epochs))
        args += ["--stage_two", f"--start_stage_two={start}",
                 f"--swa_energy_weight={config.stage_two_energy_weight}",
                 f"--swa_forces_weight={config.forces_weight}",
                 f"--swa_stress_weight={config.stress_weight}"]
    if config.ema:
        args += ["--ema", "--ema_decay=0.99"]
    if config.pair_repulsion:
        args.append("--pair_repulsion")
    return args + list(config.extra_args)


def isolated_atom_energies(reference: Any, box_A: float = 20.0) -> dict[int, float]:
    """Energy (eV) of one Li, Zr and Cl atom alone in a ``box_A`` Å periodic box.

    For ``TrainConfig(e0s=...)`` when E0s should come from the reference rather than a fit.
    """
    from ase import Atoms

    energies = {}
    for symbol in keys.ELEMENTS:
        atom = Atoms(symbol, cell=[box_A] * 3, pbc=True)
        atom.calc = reference.calculator
        energies[int(atom.numbers[0])] = float(atom.get_potential_energy())
    return energies


def _log_tail(path: Path, n_lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n_lines:])
    except OSError:
        return "(no log)"


def run_mace(args: Sequence[str], work_dir: Path, log_path: Path,
             threads: int | None = None) -> None:
    """Run ``python -m mace.cli.run_train ARGS`` in ``work_dir``, logging to ``log_path``.

    Raises
    ------
    RunFailed
        Non-zero exit; the message quotes the end of the log.
    """
    command = [sys.executable, "-m", "mace.cli.run_train", *args]
    env = dict(os.environ)
    # mace must load before e3nn under torch >= 2.6; run_train does, but a user's
    # sitecustomize might not - this keeps e3nn's constants loadable either way.
    env.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    if threads is not None:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(int(threads))
    with open(log_path, "a") as log:
        proc = subprocess.run(command, cwd=work_dir, stdout=log, stderr=subprocess.STDOUT,
                              env=env, check=False)
    if proc.returncode != 0:
        raise RunFailed(f"mace_run_train failed (exit {proc.returncode}); see {log_path}:\n"
                        f"{_log_tail(log_path)}")


def train(
    frames: Sequence[Any],
    work_dir: str | os.PathLike,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
    force: bool = False,
) -> TrainResult:
    """Split ``frames``, train MACE on them, and evaluate the model on every split.

    Parameters
    ----------
    frames : sequence of ase.Atoms
        Labelled frames (``REF_energy`` eV, ``REF_forces`` eV/Å, ``REF_stress`` eV/Å³).
    work_dir : str or PathLike
        Output folder (created). Rerunning with the same folder resumes mace's checkpoint.
    config : TrainConfig
        Model and optimisation settings; ``config.seed`` also seeds the split.
    progress : bool
        Progress bars during evaluation.
    force : bool
        Start over in a ``work_dir`` that holds a training on other data or settings, keeping
        the old folder as ``<work_dir>.bakN`` (see :func:`check_work_dir`).

    Returns
    -------
    TrainResult
        Model path, the report (``train``/``valid``/``test`` sub-reports) and the command run.
    """
    from lizrcl_tools.dataset.references import load_mace
    from lizrcl_tools.fileio import jsonable
    from lizrcl_tools.potential.evaluate import evaluate_frames, format_report
    from lizrcl_tools.fileio import write_atoms_atomic, write_json_atomic, write_text_atomic

    work = Path(work_dir).resolve()
    unlabelled = [i for i, a in enumerate(frames) if keys.REF_ENERGY not in a.info
                  or keys.REF_FORCES not in a.arrays]
    if unlabelled:
        raise SetupError(f"{len(unlabelled)} frames have no {keys.REF_ENERGY}/{keys.REF_FORCES} "
                         f"(first: frame {unlabelled[0]}); run `lizrcl label` first")
    check_work_dir(work, frames, config, force=force)
    split = split_indices(len(frames), config.valid_fraction, config.test_fraction, config.seed)
    data_dir = work / "data"
    files = {}
    for name, idx in split.items():
        if idx:
            files[name] = write_atoms_atomic(data_dir / f"{name}.extxyz",
                                             [frames[i] for i in idx], format="extxyz")
    args = mace_arguments(config, files["train"], files["valid"], work)
    command = ["mace_run_train", *args]
    write_json_atomic(work / "split.json", {
        "seed": config.seed, "n_frames": len(frames), "data_sha256": data_fingerprint(frames),
        "counts": {k: len(v) for k, v in split.items()}, "indices": split,
        "config": jsonable(dataclasses.asdict(config)), "command": command,
    })

    t0 = time.time()
    run_mace(args, work, work / "mace_train.log", threads=config.threads)
    train_seconds = time.time() - t0
    model_path = _final_model(work, config.name)

    calc = load_mace(model_path, device=config.device, dtype=config.dtype)
    report: dict[str, Any] = {"model": str(model_path), "seed": config.seed,
                              "train_wall_s": round(train_seconds, 1), "command": command}
    text = []
    for name in ("train", "valid", "test"):
        if name not in files:
            continue
        subset = [frames[i] for i in split[name]]
        report[name] = evaluate_frames(subset, calc, plot_path=work / f"parity_{name}.png",
                                       title=f"{config.name}: {name}", progress=progress)
        text.append(format_report(report[name], title=f"== {name} ({len(subset)} frames) =="))
    write_json_atomic(work / "report.json", jsonable(report))
    write_text_atomic(work / "report.txt", "\n\n".join(text) + "\n")
    return TrainResult(model_path, work, report, command)


def _final_model(work: Path, name: str) -> Path:
    """The Stage Two model if mace wrote one, else the plain one, copied to ``<name>.model``."""
    stage_two = work / f"{name}_stagetwo.model"
    plain = work / f"{name}.model"
    if stage_two.is_file():
        # mace writes both; the stage-two weights are the final ones. Keep one canonical name.
        final = work / f"{name}_final.model"
        shutil.copyfile(stage_two, final)
        return final
    if plain.is_file():
        return plain
    raise RunFailed(f"mace_run_train finished but wrote no {plain.name} in {work}")
