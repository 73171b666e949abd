"""Adaptive NVT length: extend production in segments until D is known to a target error.

A run with ``protocol.max_nvt_ps > protocol.nvt_ps`` first runs ``nvt_ps``; after each segment
the mobile ion's D ± standard error (cm²/s) is estimated from the trajectory so far, and the
run stops when ``err / D <= target_rel_err`` for a D from the diffusive regime (the analysis'
criteria: MSD at the fit start past one hop length squared, log-log slope near 1), or when
``max_nvt_ps`` is reached; otherwise it runs ``extend_nvt_ps`` more. A small error bar on a D
fitted to caged rattling is not a converged D, so it never stops a run. The rule is fixed
before any answer is seen and depends only on the error bar and the regime, never on the
value of D.

:func:`adaptive_segments` is the pure decision loop: it takes the estimate as a callback, so it
is tested with synthetic random walks of known D (:mod:`lizrcl_tools.analysis.synthetic`) and
driven by the runner with "advance LAMMPS to step N, then analyse the dump". Decisions already
taken (recorded in run.json) are passed back in on resume and not recomputed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

TARGET_MET = "stop: relative error at or below target"
BUDGET_SPENT = "stop: step budget spent"
EXTEND = "extend"

Estimate = Callable[[int], "tuple[float, float] | tuple[float, float, bool | None] | None"]
"""``estimate(end_step)`` → (D, standard error) in cm²/s from frames up to ``end_step``,
optionally with whether D is from the diffusive regime (False: it cannot stop the run), or
None when no estimate is possible yet (no fit window)."""


def segment_ends(first_steps: int, extend_steps: int, max_steps: int) -> list[int]:
    """End steps of the possible NVT segments: first, first + extend, ..., capped at max."""
    if max_steps <= first_steps or extend_steps <= 0:
        return [first_steps]
    ends = list(range(first_steps, max_steps, extend_steps))
    return ends + [max_steps]


def decide(D: float | None, err: float | None, end_step: int, max_steps: int, target_rel_err: float,
           diffusive: bool | None = None) -> str:
    """Stop or extend after a segment (an estimate that is missing, D ≤ 0, or a D flagged as
    not diffusive cannot stop a run)."""
    if diffusive is False:
        return BUDGET_SPENT if end_step >= max_steps else EXTEND
    if D is not None and err is not None and math.isfinite(D) and math.isfinite(err) and D > 0:
        if err / D <= target_rel_err:
            return TARGET_MET
    return BUDGET_SPENT if end_step >= max_steps else EXTEND


def _unpack(estimate: Sequence[Any] | None) -> tuple[float | None, float | None, bool | None]:
    if estimate is None:
        return None, None, None
    D, err, *rest = estimate
    return D, err, (rest[0] if rest else None)


def segment_record(end_step: int, timestep_fs: float, estimate: Sequence[Any] | None,
                   decision: str) -> dict[str, Any]:
    """One run.json entry: end step and time, D ± err (cm²/s), relative error, whether D is
    from the diffusive regime (None: not judged), decision."""
    D, err, diffusive = _unpack(estimate)
    rel = err / D if (D is not None and err is not None and D > 0) else None
    return {"end_step": int(end_step), "end_ps": round(end_step * timestep_fs / 1000.0, 6),
            "D_cm2_s": D, "D_err_cm2_s": err, "rel_err": rel, "diffusive": diffusive,
            "decision": decision}


def adaptive_segments(
    estimate: Estimate,
    first_steps: int,
    extend_steps: int,
    max_steps: int,
    target_rel_err: float,
    timestep_fs: float,
    done: Sequence[dict[str, Any]] = (),
    on_segment: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the segment loop; return every segment's record (the last one says why it stopped).

    Parameters
    ----------
    estimate : callable
        ``estimate(end_step)``: make frames up to ``end_step`` exist and return (D, err)
        in cm²/s, or None.
    first_steps, extend_steps, max_steps : int
        First segment, each extension, and the budget (MD steps).
    target_rel_err : float
        Stop once err / D is at or below this.
    timestep_fs : float
        MD step (fs), for the recorded segment times.
    done : sequence of dict
        Segments decided in an earlier session (from run.json); reused, not re-estimated.
    on_segment : callable, optional
        Called with each new segment record right after its decision (the runner saves it).
    """
    records = [dict(s) for s in done]
    for end in segment_ends(first_steps, extend_steps, max_steps):
        previous = next((r for r in records if r["end_step"] == end), None)
        if previous is None:
            value = estimate(end)
            D, err, diffusive = _unpack(value)
            decision = decide(D, err, end, max_steps, target_rel_err, diffusive)
            previous = segment_record(end, timestep_fs, value, decision)
            records.append(previous)
            if on_segment is not None:
                on_segment(previous)
        if previous["decision"] != EXTEND:
            break
    return records


def planned_end(done: Sequence[dict[str, Any]], first_steps: int, extend_steps: int, max_steps: int) -> int:
    """End step of the segment in progress, given the decisions recorded so far."""
    ends = segment_ends(first_steps, extend_steps, max_steps)
    decided = {r["end_step"]: r["decision"] for r in done}
    for end in ends:
        if decided.get(end) != EXTEND:
            return end
    return ends[-1]


def estimate_from_run(run_dir: str | Path) -> tuple[float, float, bool | None] | None:
    """D ± standard error (cm²/s) of the mobile ion from a run folder's dump so far, and
    whether it passes the analysis' diffusive-regime criteria.

    Uses the analysis stage (:func:`lizrcl_tools.analysis.pipeline.analyze_run`, imported
    here so MD does not load it unless a run is adaptive). None when the trajectory is still
    too short for a fit window.
    """
    from lizrcl_tools.analysis.pipeline import analyze_run
    from lizrcl_tools.errors import LizrclError

    try:
        result, _ = analyze_run(run_dir, progress=False)
    except (LizrclError, ValueError):
        return None
    if result.D_cm2_s is None or result.D_err_cm2_s is None:
        return None
    return float(result.D_cm2_s), float(result.D_err_cm2_s), result.diffusive
