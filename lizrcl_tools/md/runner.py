"""Run NPT equilibration then NVT production in LAMMPS, in restartable chunks.

One temperature = one run folder::

    RUN/
      structure.data   starting cell (LAMMPS data file, type order of the potential)
      in.npt.lammps    NPT input, reusable by hand (cd RUN && lmp -in in.npt.lammps)
      in.nvt.lammps    NVT input (reads npt.restart)
      npt.restart      written after every NPT chunk; the final one starts NVT
      npt_cell.txt     NPT cell (lx ly lz xy xz yz, Å; volume, Å³) every dump_every steps
      npt_mean_cell.lammps  change_box to the mean cell of the second half of NPT: NVT runs
                       in that cell (positions scaled), not in the last NPT frame's
      nvt.restart      written after every NVT chunk
      nvt.lammpstrj    production trajectory: id type xu yu zu, sorted by id, every dump_every
      log.npt.lammps   LAMMPS logs per phase (appended across resumes)
      log.nvt.lammps
      thermo.png       T, E_pot, P, V against time (NPT, then NVT from t = 0)
      run.json         the run record (lizrcl_tools.md.record.RunRecord); "status": "complete"
                       once the dump is checked

The run's plan (:mod:`lizrcl_tools.md.plan`) is built once, written to the input files and
executed by :mod:`lizrcl_tools.md.phases`, which splits ``run N`` into chunks of ``run M upto``
so it can show progress and write a restart after each chunk (atomically: to a temporary
name, then renamed). An interrupted run resumes from its last restart; the dump is
trimmed to the frames before the restart step and appended to, so no frame is duplicated. A
folder whose run.json says ``complete`` is returned untouched.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from lizrcl_tools import __version__
from lizrcl_tools.errors import LizrclWarning, RunFailed, SetupError
from lizrcl_tools.md import dump as dumpio
from lizrcl_tools.md import inputs as inp
from lizrcl_tools.md import phases
from lizrcl_tools.md.fingerprint import check_run_inputs, potential_sha256, structure_sha256
from lizrcl_tools.md.phases import ChunkHook
from lizrcl_tools.md.plan import build_plan
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.record import COMPLETE, RUN_JSON, RUNNING, RunRecord, read_run_record, write_run_record
from lizrcl_tools.md.thermo import mean_cell, plot_thermo, read_cell_trace, read_thermo, summarize
from lizrcl_tools.potential import PotentialSpec

__all__ = ["COMPLETE", "RUNNING", "RUN_JSON", "ChunkHook", "finished_run", "read_run_json", "run_folder_name", "run_md",
           "run_temperatures", "sanity_problems"]

# Fields that must agree before a run folder is resumed or its result reused. The full
# potential dictionary is compared only for folders written before potential_sha256 existed
# (it also holds machine-specific paths); folders without a fingerprint skip that comparison.
_IDENTITY = ("temperature_K", "protocol", "seed", "n_atoms", "mobile", "structure_sha256",
             "potential_sha256")
_FINGERPRINTS = ("structure_sha256", "potential_sha256")


def run_folder_name(temperature_K: float) -> str:
    """Folder name of one temperature inside an output folder: ``T600``, ``T612.5``."""
    return f"T{temperature_K:g}"


read_run_json = read_run_record
"""Load ``run.json`` of a run folder as a :class:`~lizrcl_tools.md.record.RunRecord`."""


def run_md(
    atoms: Atoms,
    spec: PotentialSpec,
    temperature_K: float,
    run_dir: str | Path,
    protocol: MDProtocol,
    *,
    mobile: str = "Li",
    progress: bool = True,
    on_chunk: ChunkHook | None = None,
) -> RunRecord:
    """Run (or resume, or skip if finished) NPT → NVT at one temperature in ``run_dir``.

    Parameters
    ----------
    atoms : ase.Atoms
        Starting cell (used as is; build the supercell first).
    spec : PotentialSpec
        Potential; its element order sets the LAMMPS types.
    temperature_K : float
        Thermostat temperature, K.
    run_dir : str or Path
        Run folder (created). Holds inputs, restarts, log, dump and run.json.
    protocol : MDProtocol
        Run lengths, step, damping, barostat, seed (``protocol.temperatures_K`` is not used).
    mobile : str
        Element whose diffusion is analysed; recorded in run.json.
    progress : bool
        Show a tqdm bar (steps, ns/day, time left) on stderr.
    on_chunk : callable, optional
        ``on_chunk(phase, step)`` after each chunk's restart file is written (tests use it to
        interrupt a run).

    Returns
    -------
    RunRecord
        The run record, as written to run.json.

    Raises
    ------
    SetupError
        If the folder holds an unfinished run with different settings.
    RunFailed
        If LAMMPS fails, or the dump does not hold the expected frames.
    """
    run_dir = Path(run_dir)
    record, old = _existing_run(atoms, spec, temperature_K, run_dir, protocol, mobile)
    temperature_K = float(temperature_K)
    if old is not None and old.finished:
        return old
    if spec.metadata.get("backend") == "pod":
        from lizrcl_tools.potential.pod import check_md_domain

        outside = check_md_domain(atoms, spec)
        if outside:
            warnings.warn(f"{run_dir}: {outside}", LizrclWarning, stacklevel=2)
    plan = build_plan(atoms, spec, temperature_K, protocol)
    if old is not None:
        record = old.updated(status=RUNNING)
    else:
        plan.write(run_dir)
        write_run_record(run_dir, record)

    total = protocol.npt_steps + protocol.nvt_steps
    bar = phases.progress_bar(total, f"T={temperature_K:g} K", progress)
    t_start = time.perf_counter()
    segments = list(record.nvt_segments or ())

    def save_segment(segment: dict[str, Any]) -> None:
        # Each adaptive decision is saved at once: a resumed run continues from it.
        nonlocal record
        segments.append(segment)
        record = record.updated(nvt_segments=list(segments))
        write_run_record(run_dir, record)

    try:
        phases.run_npt(run_dir, plan.npt, spec, protocol, bar, on_chunk,
                       phases.Speed(protocol.timestep_fs))
        info = phases.run_nvt(run_dir, plan.nvt, spec, protocol, bar, on_chunk,
                              phases.Speed(protocol.timestep_fs), segments, save_segment)
    finally:
        bar.close()
    steps = dumpio.dump_steps(run_dir / inp.DUMP_FILE)
    expected = list(range(0, info["nvt_steps"] + 1, protocol.dump_every))
    if steps != expected:
        raise RunFailed(
            f"{run_dir / inp.DUMP_FILE}: frames at steps {phases.short(steps)}, expected {phases.short(expected)}"
        )
    cell = info["cell_A"]
    npt_thermo = read_thermo(run_dir / inp.LOG_FILES["npt"])
    nvt_thermo = read_thermo(run_dir / inp.LOG_FILES["nvt"])
    record = record.updated(
        npt_cell=_npt_cell_summary(run_dir, protocol),
        nvt_segments=info["segments"],
        nvt_steps=info["nvt_steps"],
        n_frames_expected=info["nvt_steps"] // protocol.dump_every + 1,
        npt_last_half=summarize(npt_thermo, 0.5),
        nvt=summarize(nvt_thermo, 0.0),
        status=COMPLETE,
        cell_A=cell.tolist(),
        volume_A3=float(abs(np.linalg.det(cell))),
        n_frames=len(steps),
        lammps_version=info["lammps_version"],
        ns_per_day=info["ns_per_day"],
        wall_s_last_session=round(time.perf_counter() - t_start, 2),
        finished_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    record = record.updated(sanity=sanity_problems(record))
    for problem in record.get("sanity"):
        warnings.warn(f"{run_dir}: {problem}", LizrclWarning, stacklevel=2)
    write_run_record(run_dir, record)
    try:
        plot_thermo(npt_thermo, nvt_thermo, protocol.timestep_fs, run_dir / inp.THERMO_PLOT,
                    title=f"{spec.name}, {temperature_K:g} K, {record.n_atoms} atoms")
    except Exception as exc:  # a plot must never cost a finished run
        warnings.warn(f"{run_dir / inp.THERMO_PLOT} not written: {exc}", LizrclWarning, stacklevel=2)
    return record


def finished_run(
    atoms: Atoms, spec: PotentialSpec, temperature_K: float, run_dir: str | Path, protocol: MDProtocol,
    *, mobile: str = "Li",
) -> RunRecord | None:
    """The record of ``run_dir`` if it holds this run, finished; None if it is absent or unfinished.

    The same checks as :func:`run_md` before it starts (a folder of another run is refused
    with :class:`SetupError`), without running anything: what a scheduler asks before it
    sends a task to a worker.
    """
    _, old = _existing_run(atoms, spec, temperature_K, Path(run_dir), protocol, mobile)
    return old if old is not None and old.finished else None


def _existing_run(
    atoms: Atoms, spec: PotentialSpec, temperature_K: Any, run_dir: Path, protocol: MDProtocol, mobile: str
) -> tuple[RunRecord, RunRecord | None]:
    """This run's initial record, and the folder's record if the folder holds this run."""
    check_run_inputs(atoms, temperature_K)
    temperature_K = float(temperature_K)
    if any(c.isspace() for c in str(run_dir.resolve())):
        raise SetupError(f"run folder {run_dir} has whitespace in its path; LAMMPS cannot use it")
    record = _initial_record(atoms, spec, temperature_K, protocol, mobile)
    existing = run_dir / RUN_JSON
    if not existing.exists():
        return record, None
    old = read_run_record(run_dir)
    _check_same_run(existing, old, record)
    return record, old


T_TOLERANCE = 0.2
"""Largest accepted relative gap between the mean NVT temperature and the target."""


def sanity_problems(record: RunRecord | dict) -> list[str]:
    """Signs that a finished run is not a sample of the intended state (empty list: none).

    A mean NVT temperature more than :data:`T_TOLERANCE` away from the target means the
    thermostat lost control: typically the potential let atoms fall into an unphysical hole
    and released the energy as heat. D from such a run is meaningless.
    """
    if isinstance(record, RunRecord):
        record = record.to_dict()
    target = float(record["temperature_K"])
    mean = float(record.get("nvt", {}).get("T_mean_K", target))
    if abs(mean - target) > T_TOLERANCE * target:
        return [
            f"mean NVT temperature {mean:.0f} K is more than {T_TOLERANCE:.0%} away from "
            f"{target:.0f} K: the potential probably failed (look at thermo.png); D is not meaningful"
        ]
    return []


def run_temperatures(
    atoms: Atoms,
    spec: PotentialSpec,
    temperatures_K: Sequence[float],
    out_dir: str | Path,
    protocol: MDProtocol,
    **kwargs: Any,
) -> list[Path]:
    """Run :func:`run_md` at each temperature in sequence, in ``out_dir/T<temperature>``.

    Each folder is independent: finished ones are skipped, unfinished ones resumed.
    Keyword arguments go to :func:`run_md`. Returns the run folders in the given order.
    """
    dirs = []
    for t in temperatures_K:
        run_dir = Path(out_dir) / run_folder_name(float(t))
        run_md(atoms, spec, float(t), run_dir, protocol, **kwargs)
        dirs.append(run_dir)
    return dirs


# --------------------------------------------------------------------------------------------
# Metadata


def _initial_record(
    atoms: Atoms, spec: PotentialSpec, temperature_K: float, protocol: MDProtocol, mobile: str
) -> RunRecord:
    symbols = atoms.get_chemical_symbols()
    if mobile not in symbols:
        raise SetupError(f"mobile element {mobile!r} is not in the structure ({atoms.get_chemical_formula()})")
    for s in sorted(set(symbols)):
        if s not in spec.elements:
            raise SetupError(
                f"element {s!r} has no LAMMPS type in potential {spec.name!r} "
                f"(types: {', '.join(spec.elements)})"
            )
    return RunRecord.from_dict({
        "status": RUNNING,
        "temperature_K": temperature_K,
        "timestep_fs": protocol.timestep_fs,
        "dump_every": protocol.dump_every,
        "dump_file": inp.DUMP_FILE,
        "dump_columns": ["id", "type", "xu", "yu", "zu"],
        "elements": list(spec.elements),
        "mobile": mobile,
        "n_atoms": len(atoms),
        "n_mobile": symbols.count(mobile),
        "composition": {s: symbols.count(s) for s in spec.elements if s in symbols},
        "npt_steps": protocol.npt_steps,
        "nvt_steps": protocol.nvt_steps,
        "n_frames_expected": protocol.n_frames,
        "pressure_bar": protocol.pressure_bar,
        "barostat": protocol.barostat,
        "thermostat": "Nose-Hoover (fix npt/nvt)",
        "tdamp_fs": protocol.tdamp_fs,
        "pdamp_fs": protocol.pdamp_fs,
        "seed": protocol.seed,
        "protocol": protocol.to_dict(),
        "potential": spec.to_dict(),
        "structure_sha256": structure_sha256(atoms),
        "potential_sha256": potential_sha256(spec),
        "cell_frame": "LAMMPS: a along x, b in the xy plane (rows a, b, c)",
        "units": {"length": "A", "time": "fs", "temperature": "K", "pressure": "bar", "energy": "eV"},
        "inputs": {"data": inp.DATA_FILE, "npt": inp.NPT_INPUT, "nvt": inp.NVT_INPUT,
                   "mean_cell": inp.MEAN_CELL_FILE},
        "logs": dict(inp.LOG_FILES),
        "lizrcl_version": __version__,
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def _npt_cell_summary(run_dir: Path, protocol: MDProtocol) -> dict[str, Any] | None:
    """NPT volume trace and the mean cell of its second half (the NVT cell), for run.json."""
    if protocol.npt_steps == 0:
        return None
    trace = read_cell_trace(run_dir / inp.NPT_CELL_FILE)
    mean = mean_cell(trace, inp.mean_window(protocol.npt_steps, protocol.dump_every))
    return {
        "file": inp.NPT_CELL_FILE,
        "sample_every_steps": protocol.dump_every,
        "step": trace["step"].tolist(),
        "volume_A3": [round(float(v), 4) for v in trace["vol"]],
        **mean,
        "applied_by": inp.MEAN_CELL_FILE,
    }


def _check_same_run(path: Path, old: RunRecord, new: RunRecord) -> None:
    """Refuse a folder that belongs to another run (different settings)."""
    old_d, new_d = old.to_dict(), new.to_dict()
    # Protocol fields added after a folder was written count as their defaults there.
    old_protocol, new_protocol = old_d.get("protocol"), new_d.get("protocol")
    if isinstance(old_protocol, dict) and isinstance(new_protocol, dict):
        defaults = {f.name: f.default for f in dataclasses.fields(MDProtocol)}
        new_d["protocol"] = {k: v for k, v in new_protocol.items()
                             if k in old_protocol or defaults.get(k, object()) != v}
    keys = [k for k in _IDENTITY if k in old_d or k not in _FINGERPRINTS]
    if "potential_sha256" not in old_d:
        keys.append("potential")
    diff = [_describe_change(k, _identity(old_d, k), _identity(new_d, k))
            for k in keys if _identity(old_d, k) != _identity(new_d, k)]
    if diff:
        raise SetupError(
            f"{path} belongs to {'a finished' if old.finished else 'an unfinished'} run with "
            f"different {', '.join(diff)}; use another folder or delete this one"
        )


def _describe_change(key: str, old: Any, new: Any) -> str:
    """``key`` plus, for dictionaries, which entries changed (``protocol (nvt_ps 0.1 → 0.2)``)."""
    if key.endswith("_sha256") and isinstance(old, str) and isinstance(new, str):
        what = {"structure_sha256": "starting structure", "potential_sha256": "potential"}.get(key, key)
        return f"{what} ({key} {old[:12]}… → {new[:12]}…)"
    if isinstance(old, dict) and isinstance(new, dict):
        changed = [f"{k} {old.get(k)!r} → {new.get(k)!r}" for k in sorted(set(old) | set(new))
                   if old.get(k) != new.get(k)]
        return f"{key} ({'; '.join(changed[:4])})"
    return f"{key} ({old!r} → {new!r})"


def _identity(record: dict[str, Any], key: str) -> Any:
    """Value of ``key`` as compared before resuming: JSON round trip (tuples == lists), and the
    protocol without its temperature list, which only says which runs the command started."""
    value = json.loads(json.dumps(record.get(key)))
    if key == "protocol" and isinstance(value, dict):
        value.pop("temperatures_K", None)
    return value
