"""FIRE relaxation of atoms and cell through :class:`~lizrcl_tools.potential.lammps_engine.LammpsEngine`, one
force call per iteration, so a force-call budget is honoured exactly.

LAMMPS ``minimize`` caps its force evaluations only approximately (its line searches run past
``maxeval``: up to 41 extra calls were seen with ``fix box/relax`` on 16-atom LiCl cells), so
the SSW walk relaxes in Python: every iteration is one :meth:`LammpsEngine.evaluate`, which
refuses a call that would pass the engine's budget (:class:`~.engine.BudgetExhausted`).

The relaxation runs in the generalised coordinates Δ of :class:`~lizrcl_tools.ssw.bias.Coordinates`
(atoms in units of ``ds_atom`` Å, cell strain in units of ``ds_cell``), optionally on the
biased surface ``E + V_bias`` and at a pressure (enthalpy ``E + pV``). The integrator is FIRE
(Bitzek et al., PRL 97, 170201 (2006)) with ASE's default settings (dt 0.1, dt_max 1, N_min 5,
f_inc 1.1, f_dec 0.5, α 0.1, f_α 0.99) and a largest step of ``max_step`` Δ units per
iteration. Convergence: largest atomic force ≤ ``fmax`` eV/Å and largest stress component
(cell walks) ≤ ``smax`` eV/Å³, both on the surface being relaxed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ase.units import GPa

from lizrcl_tools.ssw.bias import BiasPotential, Coordinates, voigt_virial_matrix
from lizrcl_tools.potential.lammps_engine import Evaluation, LammpsEngine, reduce_tilt


@dataclass
class RelaxResult:
    """End of a relaxation.

    Attributes
    ----------
    cell, positions : ndarray
        Final cell (Å, LAMMPS frame) and positions (Å).
    evaluation : Evaluation
        True-surface energy (eV), forces and virial at the final structure (no extra call).
    steps : int
        Force calls spent (one per iteration; 0 for a given, already converged start).
    converged : bool
        Whether ``fmax``/``smax`` were reached.
    """

    cell: np.ndarray
    positions: np.ndarray
    evaluation: Evaluation
    steps: int
    converged: bool


def _gradient(coords: Coordinates, h, pos, ev: Evaluation, bias: BiasPotential | None,
              pressure_eV_A3: float) -> tuple[np.ndarray, float, float]:
    """Generalised force on the relaxed surface, and (largest atomic force eV/Å, largest stress eV/Å³)."""
    virial = np.array(ev.virial, dtype=float)
    forces = np.array(ev.forces, dtype=float)
    volume = abs(float(np.linalg.det(h)))
    # Enthalpy: the pressure's virial is −pV on the diagonal.
    virial[:3] -= pressure_eV_A3 * volume
    if bias is not None and bias.gaussians:
        _, bf, bw = bias(h, pos)
        forces = forces + bf
        virial = virial + bw
    g = coords.generalized_force(h, forces, virial)
    fmax = float(np.sqrt((forces**2).sum(axis=1)).max())
    smax = float(np.abs(voigt_virial_matrix(virial)).max() / volume) if coords.relax_cell else 0.0
    return g, fmax, smax


def fire_relax(
    engine: LammpsEngine,
    coords: Coordinates,
    cell: np.ndarray,
    positions: np.ndarray,
    *,
    fmax: float,
    max_steps: int,
    smax: float = 0.05 * GPa,
    bias: BiasPotential | None = None,
    pressure_GPa: float = 0.0,
    max_step: float = 0.2,
    dt: float = 0.1,
    dt_max: float = 1.0,
    start: Evaluation | None = None,
    check: Callable[[np.ndarray, np.ndarray], None] | None = None,
    check_every: int = 10,
) -> RelaxResult:
    """Relax ``(cell, positions)`` with FIRE in Δ coordinates, one force call per iteration.

    Parameters
    ----------
    engine : LammpsEngine
        Evaluates the true surface (its budget applies: :class:`~.engine.BudgetExhausted`
        propagates, the structure reached so far is lost to the caller).
    coords : Coordinates
        Generalised coordinates (``relax_cell`` decides whether the cell moves).
    cell, positions : ndarray
        Start, Å (LAMMPS frame).
    fmax : float
        Largest atomic force at convergence, eV/Å.
    max_steps : int
        Most force calls to spend.
    smax : float
        Largest stress component at convergence (cell walks), eV/Å³ (default 0.05 GPa).
    bias : BiasPotential, optional
        Relax on ``E + bias`` (the bias costs no force call).
    pressure_GPa : float
        External pressure, GPa.
    max_step : float
        Largest move per iteration, Δ units (norm of the whole step).
    dt, dt_max : float
        FIRE's initial and largest time step (ASE units, mass 1).
    start : Evaluation, optional
        The true-surface evaluation at ``(cell, positions)`` if already known (saves a call).
    check : callable, optional
        ``check(cell, positions)`` every ``check_every`` iterations; it raises to abort the
        relaxation (e.g. atoms falling into a hole of the potential, where FIRE would spend
        its whole ``max_steps`` sliding down).
    check_every : int
        Iterations between checks (a check costs no force call).

    Returns
    -------
    RelaxResult
    """
    p_ev = pressure_GPa * GPa
    h, pos = np.array(cell, dtype=float), np.array(positions, dtype=float)
    if start is None:
        ev = engine.evaluate(h, pos)
        steps = 1
    else:
        ev, steps = start, 0
    g, f_at, s_at = _gradient(coords, h, pos, ev, bias, p_ev)
    v = np.zeros_like(g)
    alpha, n_pos = 0.1, 0
    while not (f_at <= fmax and s_at <= smax):
        if steps >= max_steps:  # (a given start counts as free, so a relaxation may use max_steps calls)
            return RelaxResult(h, pos, ev, steps, False)
        power = float(g @ v)
        if power > 0:
            gn = float(np.linalg.norm(g))
            v = (1 - alpha) * v + alpha * np.linalg.norm(v) * g / max(gn, 1e-300)
            n_pos += 1
            if n_pos > 5:
                dt = min(dt * 1.1, dt_max)
                alpha *= 0.99
        else:
            v[:] = 0.0
            alpha, n_pos = 0.1, 0
            dt *= 0.5
        v += dt * g
        dr = dt * v
        norm = float(np.linalg.norm(dr))
        if norm > max_step:
            dr *= max_step / norm
        h, pos = coords.step(h, pos, dr)
        if bias is None:
            h = reduce_tilt(h)  # same lattice, LAMMPS-legal tilts; only the biased walk needs fixed h
        ev = engine.evaluate(h, pos)
        steps += 1
        if check is not None and steps % check_every == 0:
            check(h, pos)
        g, f_at, s_at = _gradient(coords, h, pos, ev, bias, p_ev)
    return RelaxResult(h, pos, ev, steps, True)
