"""The SSW walk's checkpoint: a JSON file written atomically after every step.

It holds the RNG state, the current minimum (cell and positions, Å), the step count, the
parameters, the potential and the per-step history (:class:`StepRecord`).
:meth:`lizrcl_tools.ssw.walker.SSWWalker.resume` continues from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools.errors import ParseError
from lizrcl_tools.fileio import read_json

CHECKPOINT_VERSION = 2
# 2: FIRE relaxations with an exact force-call budget, per-step profile (1 used LAMMPS minimize).

_EXPECTED = "expected an SSW checkpoint written by `lizrcl ssw`"
# key -> what it must hold (checked below, so a hand-edited or foreign file fails here, naming
# the key, rather than deep inside the walker)
_REQUIRED = {
    "version": "an integer", "seed": "an integer", "step": "an integer", "rng_state": "a numpy RNG state",
    "symbols": "a list of element symbols", "cell": "a 3x3 matrix (Å)", "positions": "an N x 3 array (Å)",
    "energy": "a number (eV)", "accepted": "an integer", "force_calls": "an integer",
    "db": "the minima database path", "params": "a mapping of SSW parameters",
    "potential": "a PotentialSpec mapping", "history": "a list of step records",
}


@dataclass
class StepRecord:
    """What one SSW step did (also kept in the checkpoint's history).

    Attributes
    ----------
    step : int
        1-based step number (0 = quench of the starting structure).
    energy : float
        Energy of the minimum the step reached, eV (whole cell).
    accepted : bool
        Metropolis outcome.
    new_minimum : bool
        The minimum was not in the database before.
    gaussians : int
        Gaussians used in the climb.
    force_calls : int
        Cumulative force calls of the walker after this step.
    failed : bool
        LAMMPS failed inside the step (counted as rejected, nothing recorded).
    profile : dict
        Force calls of this step by phase: ``direction``, ``dimer``, ``gaussian_1`` …
        ``gaussian_k`` (trial point + biased relaxation), ``quench``, ``metropolis`` (0: it
        compares stored energies); sums to this step's calls.
    move : str
        The move that left the minimum: ``climb`` (Gaussians) or ``kick`` (random
        displacements); records from before moves were recorded read as ``climb``.
    """

    step: int
    energy: float
    accepted: bool
    new_minimum: bool
    gaussians: int
    force_calls: int
    failed: bool = False
    profile: dict[str, int] = field(default_factory=dict)
    move: str = "climb"


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check an SSW checkpoint.

    Raises
    ------
    ParseError
        Not valid JSON (with the line), not a mapping, another version, a missing key, or a
        value of the wrong shape (the key and what it must hold are named).
    """
    path = Path(path)
    try:
        data = read_json(path)
    except OSError as exc:
        raise ParseError(path, f"cannot read the SSW checkpoint: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ParseError(path, f"not a text file ({_EXPECTED})") from exc
    if not isinstance(data, dict):
        raise ParseError(path, f"top level is a {type(data).__name__}, not a mapping ({_EXPECTED})")
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ParseError(path, f"missing key(s) {', '.join(missing)} ({_EXPECTED})")
    if data["version"] != CHECKPOINT_VERSION:
        raise ParseError(path, f"checkpoint version {data['version']!r}; this lizrcl reads version "
                               f"{CHECKPOINT_VERSION}")

    def bad(key: str) -> ParseError:
        return ParseError(path, f"key {key!r} must be {_REQUIRED[key]}, got {str(data[key])[:60]!r}")

    for key in ("seed", "step", "accepted", "force_calls"):
        if isinstance(data[key], bool) or not isinstance(data[key], int):
            raise bad(key)
    if isinstance(data["energy"], bool) or not isinstance(data["energy"], (int, float)):
        raise bad("energy")
    symbols = data["symbols"]
    if not isinstance(symbols, list) or not symbols or not all(isinstance(x, str) for x in symbols):
        raise bad("symbols")
    for key, shape in (("cell", (3, 3)), ("positions", (len(symbols), 3))):
        try:
            array = np.asarray(data[key], dtype=float)
        except (TypeError, ValueError):
            raise bad(key) from None
        if array.shape != shape or not np.all(np.isfinite(array)):
            raise bad(key)
    state = data["rng_state"]
    if not isinstance(state, dict) or "bit_generator" not in state or "state" not in state:
        raise bad("rng_state")
    for key in ("params", "potential"):
        if not isinstance(data[key], dict):
            raise bad(key)
    names = {f.name for f in fields(StepRecord)}
    if not isinstance(data["history"], list) or not all(
        isinstance(r, dict) and set(r) <= names for r in data["history"]
    ):
        raise bad("history")
    return data
