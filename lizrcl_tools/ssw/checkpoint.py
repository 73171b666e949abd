"""The SSW walk's checkpoint: a JSON file written atomically after every step.

It holds the RNG state, the current minimum (cell and positions, Å), the step count, the
parameters, the potential and the per-step history (:class:`StepRecord`).
:meth:`lizrcl_tools.ssw.walker.SSWWalker.resume` continues from it.
"""

from __future__ import annotations

from dataclasses import dataclass

CHECKPOINT_VERSION = 1


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
    """

    step: int
    energy: float
    accepted: bool
    new_minimum: bool
    gaussians: int
    force_calls: int
    failed: bool = False
