"""Run NPT equilibration then NVT production in LAMMPS, in restartable chunks.

One temperature = one run folder::

    RUN/
      structure.data   starting cell (LAMMPS data file, type order of the potential)
      in.npt.lammps    NPT input, reusable by hand (cd RUN && lmp -in in.npt.lammps)
      in.nvt.lammps    NVT input (reads npt.restart)
      npt.restart      written after every NPT chunk; the final one starts NVT
      nvt.restart      written after every NVT chunk
      nvt.lammpstrj    production trajectory: id type xu yu zu, sorted by id, every dump_every
      log.npt.lammps   LAMMPS logs per phase (appended across resumes)
      log.nvt.lammps
      thermo.png       T, E_pot, P, V against time (NPT, then NVT from t = 0)
      run.json         metadata; "status": "complete" once the dump is checked

The runner issues the same commands as the input files, but splits ``run N`` into chunks of
``run M upto`` so it can show progress and write a restart after each chunk (atomically: to a
temporary name, then renamed). An interrupted run resumes from its last restart; the dump is
trimmed to the frames before the restart step and appended to, so no frame is duplicated. A
folder whose run.json says ``complete`` is returned untouched.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from lizrcl_tools import __version__
from lizrcl_tools.errors import LizrclWarning, RunFailed, SetupError
from lizrcl_tools.fileio import atomic_path, read_json, write_json_atomic, write_text_atomic
from lizrcl_tools.lammps_env import new_lammps
from lizrcl_tools.md import dump as dumpio
from lizrcl_tools.md import inputs as inp
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.setup import attach_python_parts
from lizrcl_tools.md.thermo import plot_thermo, read_thermo, summarize
from lizrcl_tools.potential import PotentialSpec

RUN_JSON = "run.json"
COMPLETE = "complete"
RUNNING = "running"

ChunkHook = Callable[[str, int], None]
"""Called after every chunk as ``hook(phase, step)`` with phase ``"npt"`` or ``"nvt"``."""

# Fields that must agree before a partial run folder is resumed.
_IDENTITY = ("temperature_K", "potential", "protocol", "seed", "n_atoms", "mobile")


def run_folder_name(temperature_K: float) -> str:
    """Folder name of one temperature inside an output folder: ``T600``, ``T612.5``."""
    return f"T{temperature_K:g}"


def read_run_json(run_dir: str | Path) -> dict[str, Any]:
    """Load ``run.json`` from a run folder."""
    return read_json(Path(run_dir) / RUN_JSON)


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
) -> dict[str, Any]:
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
    dict
        The run.json record.

    Raises
    ------
    SetupError
        If the folder holds an unfinished run with different settings.
    RunFailed
        If LAMMPS fails, or the dump does not hold the expected frames.
    """
    run_dir = Path(run_dir)
    if any(c.isspace() for c in str(run_dir.resolve())):
        raise SetupError(f"run folder {run_dir} has whitespace in its path; LAMMPS cannot use it")
    record = _initial_record(atoms, spec, float(temperature_K), protocol, mobile)
    existing = run_dir / RUN_JSON
    if existing.exists():
        old = read_run_json(run_dir)
        finished = old.get("status") == COMPLETE
        diff = [_describe_change(k, _identity(old, k), _identity(record, k))
                for k in _IDENTITY if _identity(old, k) != _identity(record, k)]
        if diff:
            raise SetupError(
                f"{existing} belongs to {'a finished' if finished else 'an unfinished'} run with "
                f"different {', '.join(diff)}; use another folder or delete this one"
            )
        if finished:
            return old
        record = {**old, "status": RUNNING}
    else:
        _write_inputs(run_dir, atoms, spec, float(temperature_K), protocol)
        write_json_atomic(existing, record)

    total = protocol.npt_steps + protocol.nvt_steps
    bar = _progress_bar(total, f"T={temperature_K:g} K", progress)
    t_start = time.perf_counter()
    try:
        _npt_phase(run_dir, spec, float(temperature_K), protocol, bar, on_chunk)
        info = _nvt_phase(run_dir, spec, float(temperature_K), protocol, bar, on_chunk)
    finally:
        bar.close()
    steps = dumpio.dump_steps(run_dir / inp.DUMP_FILE)
    expected = list(range(0, protocol.nvt_steps + 1, protocol.dump_every))
    if steps != expected:
        raise RunFailed(
            f"{run_dir / inp.DUMP_FILE}: frames at steps {_short(steps)}, expected {_short(expected)}"
        )
    cell = info["cell_A"]
    npt_thermo = read_thermo(run_dir / inp.LOG_FILES["npt"])
    nvt_thermo = read_thermo(run_dir / inp.LOG_FILES["nvt"])
    record.update(
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
    record["sanity"] = sanity_problems(record)
    for problem in record["sanity"]:
        warnings.warn(f"{run_dir}: {problem}", LizrclWarning, stacklevel=2)
    write_json_atomic(existing, record)
    try:
        plot_thermo(npt_thermo, nvt_thermo, protocol.timestep_fs, run_dir / inp.THERMO_PLOT,
                    title=f"{spec.name}, {temperature_K:g} K, {record['n_atoms']} atoms")
    except Exception as exc:  # a plot must never cost a finished run
        warnings.warn(f"{run_dir / inp.THERMO_PLOT} not written: {exc}", LizrclWarning, stacklevel=2)
    return record


T_TOLERANCE = 0.2
"""Largest accepted relative gap between the mean NVT temperature and the target."""


def sanity_problems(record: dict) -> list[str]:
    """Signs that a finished run is not a sample of the intended state (empty list: none).

    A mean NVT temperature more than :data:`T_TOLERANCE` away from the target means the
    thermostat lost control: typically the potential let atoms fall into an unphysical hole
    and released the energy as heat. D from such a run is meaningless.
    """
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
# Inputs and metadata


def _initial_record(
    atoms: Atoms, spec: PotentialSpec, temperature_K: float, protocol: MDProtocol, mobile: str
) -> dict[str, Any]:
    symbols = atoms.get_chemical_symbols()
    if mobile not in symbols:
        raise SetupError(f"mobile element {mobile!r} is not in the structure ({atoms.get_chemical_formula()})")
    for s in sorted(set(symbols)):
        if s not in spec.elements:
            raise SetupError(
                f"element {s!r} has no LAMMPS type in potential {spec.name!r} "
                f"(types: {', '.join(spec.elements)})"
            )
    return {
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
        "cell_frame": "LAMMPS: a along x, b in the xy plane (rows a, b, c)",
        "units": {"length": "A", "time": "fs", "temperature": "K", "pressure": "bar", "energy": "eV"},
        "inputs": {"data": inp.DATA_FILE, "npt": inp.NPT_INPUT, "nvt": inp.NVT_INPUT},
        "logs": dict(inp.LOG_FILES),
        "lizrcl_version": __version__,
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _describe_change(key: str, old: Any, new: Any) -> str:
    """``key`` plus, for dictionaries, which entries changed (``protocol (nvt_ps 0.1 → 0.2)``)."""
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


def _potential_title(spec: PotentialSpec) -> str:
    if spec.metadata.get("backend") == "fix_external":
        return (f"potential {spec.name}: forces come from a Python callback (fix external) that "
                "lizrcl md installs; plain lmp cannot run this file")
    return f"potential {spec.name}"


def _npt_blocks(spec, temperature_K, protocol, path, fresh: bool) -> list[tuple[str, list[str]]]:
    start = (
        ("read the starting cell", [f"read_data {path(inp.DATA_FILE)}"])
        if fresh
        else ("continue from the last NPT restart", [f"read_restart {path(inp.NPT_RESTART)}"])
    )
    return [
        ("system", inp.header_commands(spec)),
        start,
        (_potential_title(spec), inp.potential_commands(spec)),
        (
            f"NPT at {temperature_K:g} K, {protocol.pressure_bar:g} bar, barostat {protocol.barostat}, "
            f"tdamp {protocol.tdamp_fs:g} fs, pdamp {protocol.pdamp_fs:g} fs",
            inp.npt_commands(
                temperature_K=temperature_K, timestep_fs=protocol.timestep_fs,
                tdamp_fs=protocol.tdamp_fs, pdamp_fs=protocol.pdamp_fs,
                pressure_bar=protocol.pressure_bar, barostat=protocol.barostat,
                seed=protocol.seed, thermo_every=protocol.thermo_every, fresh=fresh,
            ),
        ),
    ]


def _nvt_blocks(spec, temperature_K, protocol, path, fresh: bool) -> list[tuple[str, list[str]]]:
    restart = inp.NPT_RESTART if fresh else inp.NVT_RESTART
    return [
        ("system", inp.header_commands(spec)),
        ("state at the end of NPT" if fresh else "continue from the last NVT restart",
         [f"read_restart {path(restart)}"]),
        (_potential_title(spec), inp.potential_commands(spec)),
        (
            f"NVT at {temperature_K:g} K, tdamp {protocol.tdamp_fs:g} fs; trajectory every "
            f"{protocol.dump_every} steps",
            inp.nvt_commands(
                temperature_K=temperature_K, timestep_fs=protocol.timestep_fs,
                tdamp_fs=protocol.tdamp_fs, thermo_every=protocol.thermo_every,
                dump_every=protocol.dump_every, dump_path=path(inp.DUMP_FILE), fresh=fresh,
            ),
        ),
    ]


def _write_inputs(run_dir: Path, atoms: Atoms, spec, temperature_K, protocol) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    inp.write_data_file(run_dir / inp.DATA_FILE, atoms, spec)
    rel = inp.relative
    npt = _npt_blocks(spec, temperature_K, protocol, rel, fresh=True)
    npt.append(("run and save the equilibrated state",
                [f"run {protocol.npt_steps}", f"write_restart {inp.NPT_RESTART}"]))
    nvt = _nvt_blocks(spec, temperature_K, protocol, rel, fresh=True)
    nvt.append(("production", [f"run {protocol.nvt_steps}", f"write_restart {inp.NVT_RESTART}"]))
    title = f"lizrcl md, protocol {protocol.name}, potential {spec.name}"
    write_text_atomic(run_dir / inp.NPT_INPUT, inp.render_input(f"{title}: NPT equilibration", npt))
    write_text_atomic(run_dir / inp.NVT_INPUT, inp.render_input(f"{title}: NVT production", nvt))


# --------------------------------------------------------------------------------------------
# Running


def _open(run_dir: Path, blocks: list[tuple[str, list[str]]], spec: PotentialSpec | None = None,
          phase: str | None = None):
    lmp = new_lammps()
    log = run_dir / inp.LOG_FILES.get(phase or "", "")
    try:
        if phase is not None:
            lmp.command(f"log {log.resolve()} append")
        for _, lines in blocks:
            lmp.commands_list(lines)
        if spec is not None:
            attach_python_parts(lmp, spec)
    except Exception as exc:
        lmp.close()
        raise RunFailed(f"LAMMPS setup failed in {run_dir}: {exc} (see {log})") from exc
    return lmp


def _restart_step(lmp) -> int:
    return int(lmp.extract_global("ntimestep"))


def _write_restart(lmp, target: Path) -> None:
    with atomic_path(target) as tmp:
        lmp.command(f"write_restart {tmp}")


def _advance(lmp, run_dir: Path, phase: str, target: int, protocol: MDProtocol, restart: Path,
             bar, on_chunk: ChunkHook | None) -> float:
    """Run from the current step to ``target`` in chunks; return the mean ns/day."""
    step = _restart_step(lmp)
    done_steps, wall = 0, 0.0
    while step < target:
        nxt = min(target, (step // protocol.chunk_steps + 1) * protocol.chunk_steps)
        t0 = time.perf_counter()
        try:
            lmp.command(f"run {nxt} upto")
        except Exception as exc:
            raise RunFailed(
                f"LAMMPS failed during {phase} in {run_dir} near step {step}: {exc} "
                f"(see {run_dir / inp.LOG_FILES[phase]})"
            ) from exc
        dt = time.perf_counter() - t0
        _write_restart(lmp, restart)
        wall += dt
        done_steps += nxt - step
        ns_day = _ns_per_day(done_steps, protocol.timestep_fs, wall)
        bar.set_postfix_str(f"{phase}, {ns_day:.3g} ns/day")
        bar.update(nxt - step)
        step = nxt
        if on_chunk is not None:
            on_chunk(phase, step)
    if step == target and not restart.exists():  # zero-length phase
        _write_restart(lmp, restart)
    return _ns_per_day(done_steps, protocol.timestep_fs, wall)


def _ns_per_day(steps: int, timestep_fs: float, wall_s: float) -> float:
    if wall_s <= 0 or steps == 0:
        return float("nan")
    return steps * timestep_fs * 1e-6 / (wall_s / 86400.0)  # fs -> ns, s -> day


def _npt_phase(run_dir, spec, temperature_K, protocol, bar, on_chunk) -> None:
    restart = run_dir / inp.NPT_RESTART
    if (run_dir / inp.NVT_RESTART).exists():
        bar.update(protocol.npt_steps)
        return
    fresh = not restart.exists()
    abspath = inp.absolute_in(run_dir)
    lmp = _open(run_dir, _npt_blocks(spec, temperature_K, protocol, abspath, fresh), spec, "npt")
    try:
        step = _restart_step(lmp)
        bar.update(min(step, protocol.npt_steps))
        if step >= protocol.npt_steps and not fresh:
            return
        _advance(lmp, run_dir, "npt", protocol.npt_steps, protocol, restart, bar, on_chunk)
    finally:
        lmp.close()


def _nvt_phase(run_dir, spec, temperature_K, protocol, bar, on_chunk) -> dict[str, Any]:
    restart = run_dir / inp.NVT_RESTART
    dump_file = run_dir / inp.DUMP_FILE
    fresh = not restart.exists()
    abspath = inp.absolute_in(run_dir)
    if not fresh:
        # The restart's step is read before the dump is reopened so the trim happens first.
        lmp = _open(run_dir, [("peek", inp.header_commands(spec)),
                              ("restart", [f"read_restart {restart.resolve()}"])])
        step = _restart_step(lmp)
        lmp.close()
        # LAMMPS rewrites the frame at the restart step when it continues; a run stopped after
        # its last restart does not continue, so its last frame stays.
        end = step if step < protocol.nvt_steps else step + 1
        kept = dumpio.truncate_before(dump_file, end)
        if kept != list(range(0, end, protocol.dump_every)):
            raise RunFailed(
                f"{dump_file} does not hold the frames before restart step {step} "
                f"({_short(kept)}); delete {run_dir} and run again"
            )
    lmp = _open(run_dir, _nvt_blocks(spec, temperature_K, protocol, abspath, fresh), spec, "nvt")
    try:
        bar.update(min(_restart_step(lmp), protocol.nvt_steps))
        boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
        cell = inp.box_to_cell(boxlo, boxhi, xy, yz, xz)
        ns_day = _advance(lmp, run_dir, "nvt", protocol.nvt_steps, protocol, restart, bar, on_chunk)
        version = int(lmp.version())
    finally:
        lmp.close()
    return {"cell_A": cell, "ns_per_day": None if math.isnan(ns_day) else round(ns_day, 4),
            "lammps_version": version}


def _progress_bar(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", disable=not enabled, dynamic_ncols=True)


def _short(steps: Sequence[int]) -> str:
    steps = list(steps)
    if len(steps) <= 6:
        return str(steps)
    return f"[{steps[0]}, {steps[1]}, ..., {steps[-1]}] ({len(steps)} frames)"
