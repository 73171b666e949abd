"""Where an SSW walk's force calls went: per-phase sums of the steps' profiles.

Each :class:`~lizrcl_tools.ssw.checkpoint.StepRecord` carries ``profile`` (force calls by
phase, kept in the checkpoint); :func:`summarize_profile` adds them up over a walk and
:func:`format_profile` prints the table ``lizrcl ssw --profile`` shows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from lizrcl_tools.ssw.checkpoint import StepRecord

PHASES = ("start quench", "direction", "dimer", "gaussians", "kick", "swap", "quench", "metropolis", "cut steps")
"""Display order; ``gaussians`` sums all ``gaussian_k`` entries (trial point + biased relaxation);
``swap`` holds the single points of swap candidates (``swap_candidates`` > 1)."""


def summarize_profile(history: Iterable[StepRecord], force_calls: int | None = None) -> dict:
    """Sum the per-step profiles of a walk.

    Parameters
    ----------
    history : iterable of StepRecord
        The walk's records (step 0, the start quench, is booked as ``start quench``).
    force_calls : int, optional
        The walker's total force calls (``state.force_calls``); calls after the last record
        (a step cut by the budget) are booked as ``cut steps``.

    Returns
    -------
    dict
        ``{"steps": n, "force_calls": total, "phases": {phase: calls}, "per_gaussian":
        {k: calls}, "moves": {move: {"steps", "calls", "new"}}}`` (``moves``: completed steps,
        their force calls and new minima by the move that left the minimum, ``climb``,
        ``kick`` or ``swap``; its calls sum to the steps' calls); ``phases`` sums to ``force_calls`` (records without a profile, written
        by an older lizrcl, and calls of steps cut by a budget are under ``cut steps``).
    """
    phases: Counter[str] = Counter()
    per_gaussian: Counter[int] = Counter()
    moves: dict[str, Counter[str]] = {}
    steps, total, previous = 0, 0, 0
    for rec in history:
        calls = rec.force_calls - previous
        previous = rec.force_calls
        total += calls
        if rec.step > 0:
            m = moves.setdefault(rec.move, Counter())
            m.update({"steps": 1, "calls": calls, "new": int(rec.new_minimum)})
        booked = 0
        for name, n in rec.profile.items():
            booked += n
            if rec.step == 0:
                phases["start quench"] += n
            elif name.startswith("gaussian_"):
                phases["gaussians"] += n
                per_gaussian[int(name.split("_")[1])] += n
            else:
                phases[name] += n
        # A step cut by the budget is dropped and redone on resume; its calls are not lost.
        phases["cut steps"] += calls - booked
        steps += rec.step > 0
    if force_calls is not None and force_calls > previous:
        phases["cut steps"] += force_calls - previous
        total += force_calls - previous
    phases = Counter({k: v for k, v in phases.items() if v})
    return {"steps": steps, "force_calls": total, "phases": dict(phases), "per_gaussian": dict(per_gaussian),
            "moves": {k: {"steps": v["steps"], "calls": v["calls"], "new": v["new"]} for k, v in moves.items()}}


def format_profile(summary: dict) -> str:
    """A text table of :func:`summarize_profile`'s result: calls, share and calls per step by phase."""
    total = max(summary["force_calls"], 1)
    steps = max(summary["steps"], 1)
    lines = [f"force calls by phase ({summary['force_calls']} calls, {summary['steps']} steps):",
             f"  {'phase':<14} {'calls':>8} {'share':>7} {'per step':>9}"]
    for name in PHASES:
        n = summary["phases"].get(name, 0)
        if n or name in ("direction", "dimer", "gaussians", "quench", "metropolis"):
            per = "" if name == "start quench" else f"{n / steps:9.1f}"
            lines.append(f"  {name:<14} {n:>8} {100 * n / total:6.1f}% {per}")
    if summary["per_gaussian"]:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(summary["per_gaussian"].items()))
        lines.append(f"  per Gaussian (calls summed over steps): {parts}")
    for move, m in sorted(summary.get("moves", {}).items()):
        lines.append(f"  {move} steps: {m['steps']}, {m['calls']} calls ({m['calls'] / max(m['steps'], 1):.1f} per step), "
                     f"{m['new']} new minima")
    return "\n".join(lines)
