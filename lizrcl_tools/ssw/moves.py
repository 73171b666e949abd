"""Which move leaves the current minimum: a Gaussian climb, a cheap kick or a swap, adapted to their yield.

A climb (:func:`~.climb.climb`) costs ~100–200 force calls on tens of atoms and moves the cell
collectively (what gets a walk out of a deep metastable minimum, e.g. wurtzite → rocksalt); a
kick (:func:`~.climb.kick`) costs only its quench and finds nearby basins cheaply (what basin
hopping does from random starts). With ``adapt_window > 0`` the walker picks a kick with the
chance

    p_kick = y_kick / (y_kick + y_climb),   clipped to [adapt_floor, 1 − adapt_floor],

where y_m = (new minima + 1) / (force calls + ``ADAPT_PRIOR_CALLS``) over the last
``adapt_window`` completed steps of move m: new distinct minima found per force call, with one
pseudo-minimum per ``ADAPT_PRIOR_CALLS`` calls so that an untried move starts even and one
lucky step does not decide. The floor keeps both moves alive, so the walk can still climb out
of a basin that kicks no longer leave. The chance is a function of the recorded history only
(:class:`~.checkpoint.StepRecord` ``move``, ``new_minimum``, ``force_calls``), so a resumed walk
makes the same choices as an uninterrupted one.

With ``swap_moves`` (and ``adapt_window`` > 0) a third move (:mod:`~.swap`, two atoms of
different elements exchanged) joins the mix: each move's chance is its yield's share, raised to
at least ``adapt_floor`` and the three renormalised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lizrcl_tools.ssw.checkpoint import StepRecord
from lizrcl_tools.ssw.parameters import SSWParameters

ADAPT_PRIOR_CALLS = 200.0
"""Force calls per pseudo-minimum in the yield estimate (about one climb step of 24 atoms)."""


def move_yields(history: Sequence[StepRecord], window: int, downhill: bool = False) -> dict[str, float]:
    """New distinct minima per force call of each move over its last ``window`` completed steps.

    Parameters
    ----------
    history : sequence of StepRecord
        The walk's records, step 0 (the start quench) first.
    window : int
        Most recent steps of each move that count.
    downhill : bool
        Count only new minima below the walker's current minimum when the step was made
        (progress down the landscape) instead of every new one.

    Returns
    -------
    dict
        ``{"climb": y, "kick": y, "swap": y}``, each ``(new + 1) / (calls + ADAPT_PRIOR_CALLS)``, 1/call.
    """
    spent: dict[str, list[tuple[int, int]]] = {"climb": [], "kick": [], "swap": []}
    current = history[0].energy if history else 0.0
    for before, rec in zip(history, history[1:]):
        found = rec.new_minimum and (not downhill or rec.energy < current)
        if rec.accepted:
            current = rec.energy
        if rec.failed or rec.move not in spent:
            continue
        spent[rec.move].append((int(found), rec.force_calls - before.force_calls))
    out = {}
    for move, steps in spent.items():
        recent = steps[-window:] if window > 0 else []
        new = sum(n for n, _ in recent)
        calls = sum(c for _, c in recent)
        out[move] = (new + 1.0) / (calls + ADAPT_PRIOR_CALLS)
    return out


def kick_chance(history: Sequence[StepRecord], params: SSWParameters) -> float:
    """Chance that the next step is a kick: ``kick_probability``, or adapted (module docstring)."""
    if params.adapt_window <= 0:
        return params.kick_probability
    y = move_yields(history, params.adapt_window, params.adapt_downhill)
    chance = y["kick"] / (y["kick"] + y["climb"])
    return min(max(chance, params.adapt_floor), 1.0 - params.adapt_floor)


def move_chances(history: Sequence[StepRecord], params: SSWParameters) -> dict[str, float]:
    """Chance of each move for the next step (they sum to 1; module docstring)."""
    if not params.swap_moves or params.adapt_window <= 0:
        k = kick_chance(history, params)
        return {"climb": 1.0 - k, "kick": k, "swap": 0.0}
    y = move_yields(history, params.adapt_window, params.adapt_downhill)
    total = sum(y.values())
    floored = {m: max(v / total, params.adapt_floor) for m, v in y.items()}
    norm = sum(floored.values())
    return {m: v / norm for m, v in floored.items()}


def choose_move(history: Sequence[StepRecord], params: SSWParameters, rng: np.random.Generator) -> str:
    """Draw the next step's move (``climb``, ``kick`` or ``swap``) from :func:`move_chances`.

    One uniform number is drawn whenever a move other than the climb is possible, none for a
    pure-SSW walk, so walks without swaps keep the random stream they always had.
    """
    chances = move_chances(history, params)
    if params.adapt_window <= 0 and chances["kick"] == 0:  # a fixed mix of climbs only: no draw
        return "climb"
    u = rng.random()
    if u < chances["kick"]:
        return "kick"
    return "swap" if u < chances["kick"] + chances["swap"] else "climb"
