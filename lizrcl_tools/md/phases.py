"""Executing a :class:`~lizrcl_tools.md.plan.RunPlan` in LAMMPS: chunked, restartable phases.

Each phase opens one LAMMPS instance, issues the plan's blocks (fresh or resumed), then runs
``run M upto`` chunk by chunk, writing the phase's restart file after every chunk (to a
temporary name, then renamed) and reporting progress.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools.errors import RunFailed
from lizrcl_tools.fileio import atomic_path, write_text_atomic
from lizrcl_tools.lammps_env import new_lammps
from lizrcl_tools.md import dump as dumpio
from lizrcl_tools.md import inputs as inp
from lizrcl_tools.md.plan import Block, PhasePlan
from lizrcl_tools.md.protocols import MDProtocol
from lizrcl_tools.md.setup import attach_python_parts
from lizrcl_tools.md.thermo import mean_cell, read_cell_trace, truncate_cell_trace
from lizrcl_tools.potential import PotentialSpec

ChunkHook = Callable[[str, int], None]
"""Called after every chunk as ``hook(phase, step)`` with phase ``"npt"`` or ``"nvt"``."""


def open_lammps(run_dir: Path, blocks: Sequence[Block], spec: PotentialSpec | None = None,
                phase: str | None = None):
    """A LAMMPS instance that has executed ``blocks`` (log appended to the phase's log file)."""
    lmp = new_lammps()
    log = run_dir / inp.LOG_FILES.get(phase or "", "")
    try:
        if phase is not None:
            lmp.command(f"log {log.resolve()} append")
        for _, lines in blocks:
            lmp.commands_list(list(lines))
        if spec is not None:
            attach_python_parts(lmp, spec)
    except Exception as exc:
        lmp.close()
        raise RunFailed(f"LAMMPS setup failed in {run_dir}: {exc} (see {log})") from exc
    return lmp


def current_step(lmp) -> int:
    """LAMMPS's current time step."""
    return int(lmp.extract_global("ntimestep"))


def restart_step(run_dir: Path, phase: PhasePlan) -> int:
    """Time step stored in the phase's restart file."""
    lmp = open_lammps(run_dir, phase.peek_blocks(run_dir))
    try:
        return current_step(lmp)
    finally:
        lmp.close()


def current_cell(lmp):
    """Cell of a LAMMPS instance, 3×3 rows a, b, c (Å, LAMMPS frame)."""
    boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
    return inp.box_to_cell(boxlo, boxhi, xy, yz, xz)


def write_restart(lmp, target: Path) -> None:
    """``write_restart`` to a temporary name, then renamed (a kill never leaves half a file)."""
    with atomic_path(target) as tmp:
        lmp.command(f"write_restart {tmp}")


class Speed:
    """Accumulated MD steps and wall time of one session (for ns/day)."""

    def __init__(self, timestep_fs: float) -> None:
        self.timestep_fs = timestep_fs
        self.steps = 0
        self.wall_s = 0.0

    def add(self, steps: int, wall_s: float) -> None:
        self.steps += steps
        self.wall_s += wall_s

    @property
    def ns_per_day(self) -> float:
        if self.wall_s <= 0 or self.steps == 0:
            return float("nan")
        return self.steps * self.timestep_fs * 1e-6 / (self.wall_s / 86400.0)  # fs -> ns, s -> day


def advance(lmp, run_dir: Path, phase: str, target: int, protocol: MDProtocol, restart: Path,
            bar, on_chunk: ChunkHook | None, speed: Speed) -> None:
    """Run from the current step to ``target`` in chunks, writing ``restart`` after each."""
    step = current_step(lmp)
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
        wall = time.perf_counter() - t0
        write_restart(lmp, restart)
        speed.add(nxt - step, wall)
        bar.set_postfix_str(f"{phase}, {speed.ns_per_day:.3g} ns/day")
        bar.update(nxt - step)
        step = nxt
        if on_chunk is not None:
            on_chunk(phase, step)
    if step == target and not restart.exists():  # zero-length phase
        write_restart(lmp, restart)


def run_npt(run_dir: Path, plan: PhasePlan, spec: PotentialSpec, protocol: MDProtocol, bar,
            on_chunk: ChunkHook | None, speed: Speed) -> None:
    """NPT phase: fresh, resumed from ``npt.restart``, or skipped once NVT has begun.

    At its end the mean cell of the second half is written as a ``change_box`` line to
    :data:`~lizrcl_tools.md.inputs.MEAN_CELL_FILE`, which the NVT phase includes.
    """
    restart = run_dir / plan.restart
    mean_file = run_dir / inp.MEAN_CELL_FILE
    if (run_dir / inp.NVT_RESTART).exists() and mean_file.exists():
        bar.update(plan.steps)
        return
    fresh = not restart.exists()
    if not fresh:
        inp_step = restart_step(run_dir, plan)
        if inp_step < plan.steps or not mean_file.exists():
            truncate_cell_trace(run_dir / inp.NPT_CELL_FILE, inp_step if inp_step < plan.steps else inp_step + 1)
    lmp = open_lammps(run_dir, plan.blocks(fresh, run_dir), spec, "npt")
    try:
        step = current_step(lmp)
        bar.update(min(step, plan.steps))
        if not (step >= plan.steps and not fresh):
            advance(lmp, run_dir, "npt", plan.steps, protocol, restart, bar, on_chunk, speed)
        if not mean_file.exists():
            write_text_atomic(mean_file, mean_cell_text(run_dir, lmp, protocol) + "\n")
    finally:
        lmp.close()


def mean_cell_text(run_dir: Path, lmp, protocol: MDProtocol) -> str:
    """``change_box`` line to the mean cell of the second half of NPT (comment when no NPT)."""
    if protocol.npt_steps == 0:
        return "# no NPT: the cell is the starting cell"
    window = inp.mean_window(protocol.npt_steps, protocol.dump_every)
    trace = read_cell_trace(run_dir / inp.NPT_CELL_FILE)
    if not trace:
        raise RunFailed(f"{run_dir / inp.NPT_CELL_FILE} holds no NPT cell samples")
    mean = mean_cell(trace, window)
    boxlo, *_ = lmp.extract_box()
    triclinic = bool(lmp.extract_global("triclinic"))
    return inp.change_box_line(boxlo, np.array(mean["mean_cell_A"]), triclinic)


def run_nvt(run_dir: Path, plan: PhasePlan, spec: PotentialSpec, protocol: MDProtocol, bar,
            on_chunk: ChunkHook | None, speed: Speed, segments_done: Sequence[dict] = (),
            on_segment: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """NVT phase with the trajectory dump, of fixed or adaptive length.

    On resume the dump is first cut after the restart step's frame; that frame is dropped
    only when LAMMPS is about to continue (it writes the frame again). An adaptive run
    (:mod:`lizrcl_tools.md.adaptive`) takes its earlier decisions from ``segments_done`` and
    reports each new one to ``on_segment``.

    Returns ``cell_A``, ``ns_per_day``, ``lammps_version``, ``nvt_steps`` (the production
    length reached) and ``segments`` (None for a fixed length).
    """
    restart = run_dir / plan.restart
    dump_file = run_dir / inp.DUMP_FILE
    fresh = not restart.exists()
    step = 0
    if not fresh:
        step = restart_step(run_dir, plan)
        kept = dumpio.truncate_before(dump_file, step + 1)
        if kept != list(range(0, step + 1, protocol.dump_every)):
            raise RunFailed(
                f"{dump_file} does not hold the frames up to restart step {step} "
                f"({short(kept)}); delete {run_dir} and run again"
            )
    first, extend, most = protocol.nvt_steps, protocol.extend_nvt_steps, protocol.max_nvt_steps
    trim_pending = not fresh
    lmp = open_lammps(run_dir, plan.blocks(fresh, run_dir), spec, "nvt")

    def run_to(end: int) -> None:
        nonlocal trim_pending
        bar.total = protocol.npt_steps + end
        bar.refresh()
        if current_step(lmp) >= end:
            return
        if trim_pending:
            dumpio.truncate_before(dump_file, current_step(lmp))
            trim_pending = False
        advance(lmp, run_dir, "nvt", end, protocol, restart, bar, on_chunk, speed)

    try:
        bar.update(min(step, first))
        cell = current_cell(lmp)
        segments = None
        if protocol.adaptive:
            from lizrcl_tools.md import adaptive

            def estimate(end: int):
                run_to(end)
                return adaptive.estimate_from_run(run_dir)

            segments = adaptive.adaptive_segments(
                estimate, first, extend, most, protocol.target_rel_err, protocol.timestep_fs,
                done=segments_done, on_segment=on_segment,
            )
            final = segments[-1]["end_step"]
        else:
            run_to(first)
            final = first
        version = int(lmp.version())
    finally:
        lmp.close()
    ns_day = speed.ns_per_day
    return {"cell_A": cell, "ns_per_day": None if math.isnan(ns_day) else round(ns_day, 4),
            "lammps_version": version, "nvt_steps": final, "segments": segments}


def progress_bar(total: int, desc: str, enabled: bool):
    """tqdm bar on stderr (steps, rate, time left)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="step", disable=not enabled, dynamic_ncols=True)


def short(steps: Sequence[int]) -> str:
    """Compact list of frame steps for messages."""
    steps = list(steps)
    if len(steps) <= 6:
        return str(steps)
    return f"[{steps[0]}, {steps[1]}, ..., {steps[-1]}] ({len(steps)} frames)"
