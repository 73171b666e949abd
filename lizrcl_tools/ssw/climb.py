"""The climb of one SSW step: random initial direction, Gaussians pushed uphill, and the quench.

Force calls are booked by phase in :attr:`LammpsEngine.calls_by_phase` (``direction``: the
generalised force at the starting minimum; ``dimer``: rotations of the walking direction;
``gaussian_k``: the trial point and biased relaxation of the k-th Gaussian; ``quench``: the
relaxation on the true surface), which is what ``lizrcl ssw --profile`` prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ase.units import GPa

from lizrcl_tools.ssw.bias import BiasPotential, Coordinates, Gaussian
from lizrcl_tools.ssw.dimer import remove_translation, soften_direction
from lizrcl_tools.potential.lammps_engine import LammpsEngine, reduce_tilt, to_lammps_frame
from lizrcl_tools.ssw.parameters import SSWParameters
from lizrcl_tools.ssw.relax import RelaxResult, fire_relax


def initial_direction(rng: np.random.Generator, params: SSWParameters, masses: np.ndarray,
                      coords: Coordinates, cell: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Random N0: global (1/√m-scaled) + λ × local bond vector (+ strain part), unit norm."""
    p, n = params, len(pos)
    glob = rng.normal(size=(n, 3)) / np.sqrt(masses)[:, None]
    glob -= glob.mean(axis=0)
    glob /= np.linalg.norm(glob)
    a = int(rng.integers(n))
    d = pos - pos[a]
    frac = np.linalg.solve(cell.T, d.T).T
    d = (frac - np.round(frac)) @ cell
    dist = np.linalg.norm(d, axis=1)
    dist[a] = np.inf
    near = np.flatnonzero(dist < 1.3 * dist.min())
    b = int(near[rng.integers(len(near))])
    bond = np.zeros((n, 3))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    bond[a] = -sign * d[b] / dist[b]
    bond[b] = sign * d[b] / dist[b]
    bond -= bond.mean(axis=0)
    lam = rng.uniform(p.lambda_min, p.lambda_max)
    atoms_part = glob + lam * bond / np.linalg.norm(bond)
    atoms_part /= np.linalg.norm(atoms_part)
    strain = rng.normal(size=6)
    vec = coords.join(atoms_part, p.cell_weight * strain / np.linalg.norm(strain))
    vec = remove_translation(vec, n)
    return vec / np.linalg.norm(vec)


def quench_coordinates(params: SSWParameters, cell: np.ndarray, natoms: int) -> Coordinates:
    """Coordinates for the true-surface quench: atoms in Å, strain scaled by 1/√N.

    Why 1/√N: the strain stiffness V·B grows with N while an atom's does not, so this keeps
    FIRE's effective curvatures of strain and atoms within a factor of a few for tens of atoms.
    """
    return Coordinates(cell.copy(), 1.0, 1.0 / math.sqrt(natoms), params.relax_cell)


def quench(engine: LammpsEngine, params: SSWParameters, cell: np.ndarray, pos: np.ndarray,
           check: Callable[[np.ndarray, np.ndarray], None] | None = None) -> RelaxResult:
    """Relax on the true surface to ``force_tol`` eV/Å and ``stress_tol_GPa`` (phase ``quench``);
    ``check(cell, positions)`` every 10 iterations may abort it by raising (:func:`~.relax.fire_relax`)."""
    with engine.phase("quench"):
        return fire_relax(engine, quench_coordinates(params, cell, len(pos)), cell, pos, fmax=params.force_tol,
                          smax=params.stress_tol_GPa * GPa, max_steps=params.quench_max_iter,
                          pressure_GPa=params.pressure_GPa, check=check)


def start_quench(engine: LammpsEngine, params: SSWParameters, cell: np.ndarray, pos: np.ndarray,
                 check: Callable[[np.ndarray, np.ndarray], None] | None = None) -> RelaxResult:
    """The quench of a walk's starting structure: with ``start_fixed_cell`` (variable-cell walks)
    the atoms relax at fixed cell to ``force_tol`` first, then :func:`quench`; both in phase
    ``quench``, inside the engine's budget."""
    if not (params.start_fixed_cell and params.relax_cell):
        return quench(engine, params, cell, pos, check=check)
    with engine.phase("quench"):
        fixed = fire_relax(engine, Coordinates(np.array(cell, dtype=float), 1.0, 1.0, False), cell, pos,
                           fmax=params.force_tol, max_steps=params.quench_max_iter, check=check)
    res = quench(engine, params, fixed.cell, fixed.positions, check=check)
    return RelaxResult(res.cell, res.positions, res.evaluation, fixed.steps + res.steps, res.converged)


@dataclass
class ClimbResult:
    """Where a climb ended: last biased point (cell Å, positions Å, true energy eV), the
    intermediate frames ``[(cell, positions, energy)]`` and the number of Gaussians used."""

    cell: np.ndarray
    positions: np.ndarray
    frames: list
    gaussians: int


def climb(engine: LammpsEngine, params: SSWParameters, rng: np.random.Generator, masses: np.ndarray,
          cell: np.ndarray, pos: np.ndarray) -> ClimbResult:
    """Push the walker out of the minimum ``(cell, pos)`` with up to N_G Gaussians.

    Per Gaussian: ``dimer_rotations`` biased-dimer rotations (2 calls each), one trial point one
    width along N (its force sets the height so the force along +N there is ``force_target``),
    then at most ``bias_relax_steps`` FIRE iterations on the biased surface starting from that
    trial point (its evaluation reused). Stops after ``min_gaussians`` once the true energy falls
    (a barrier crossed), or as soon as it is ``climb_max_ev_per_atom`` above the start.
    """
    p, n = params, len(pos)
    coords = Coordinates(cell.copy(), p.ds_atom, p.ds_cell, p.relax_cell)
    bias = BiasPotential(coords)
    trial = None  # (cell, positions, evaluation) one width along the chosen direction
    with engine.phase("direction"):
        n0 = initial_direction(rng, p, masses, coords, cell, pos)
        ev = engine.evaluate(cell, pos)
        # Softer direction for one call per candidate: of several random directions, walk the
        # one whose point one width ahead is lowest in energy (a secant curvature); its
        # evaluation is the first Gaussian's trial point, so the chosen one costs nothing extra.
        if p.direction_candidates > 1:
            for c in range(p.direction_candidates):
                d = n0 if c == 0 else initial_direction(rng, p, masses, coords, cell, pos)
                h_t, x_t = coords.step(cell, pos, d)
                ev_t = engine.evaluate(h_t, x_t)
                if trial is None or ev_t.energy < trial[2].energy:
                    trial, best = (h_t, x_t, ev_t), d
            n0 = best
    direction = n0
    hc, pc = cell.copy(), pos.copy()

    def gforce_at(h, x, e):
        return coords.generalized_force(h, e.forces, e.virial) + bias.generalized_force(h, x)

    f_center = gforce_at(hc, pc, ev)
    e_prev = e_start = ev.energy
    ceiling = p.climb_max_ev_per_atom * n
    frames = []
    n_used = 0
    w_max = p.max_height_per_atom * n
    for k in range(p.n_gaussians):
        def gforce(delta, hc=hc, pc=pc):
            h, x = coords.step(hc, pc, delta)
            return gforce_at(h, x, engine.evaluate(h, x))

        if p.dimer_rotations > 0:
            with engine.phase("dimer"):
                direction = soften_direction(gforce, f_center, direction, n0, n, delta=p.dimer_delta,
                                             rotations=p.dimer_rotations, bias_strength=p.direction_bias).direction
        with engine.phase(f"gaussian_{k + 1}"):
            if k == 0 and trial is not None and p.dimer_rotations == 0:
                ht, pt, ev_t = trial
            else:
                ht, pt = coords.step(hc, pc, direction)
                ev_t = engine.evaluate(ht, pt)
            f_trial = gforce_at(ht, pt, ev_t) @ direction
            height = float(np.clip((p.force_target - f_trial) * math.exp(0.5), 0.0, w_max))
            bias.add(Gaussian(hc.copy(), pc.copy(), direction.copy(), height))
            res = fire_relax(engine, coords, ht, pt, fmax=p.force_tol, smax=p.stress_tol_GPa * GPa,
                             max_steps=p.bias_relax_steps, bias=bias, pressure_GPa=p.pressure_GPa,
                             max_step=p.bias_max_step, start=ev_t)
        hc, pc, ev = res.cell, res.positions, res.evaluation
        f_center = gforce_at(hc, pc, ev)
        n_used = k + 1
        frames.append((hc.copy(), pc.copy(), ev.energy))
        if n_used >= p.min_gaussians and ev.energy < e_prev:
            break
        if ev.energy - e_start > ceiling:  # far enough uphill: more Gaussians only melt the cell
            break
        e_prev = ev.energy
    return ClimbResult(hc, pc, frames, n_used)


def kick(engine: LammpsEngine, params: SSWParameters, rng: np.random.Generator, cell: np.ndarray,
         pos: np.ndarray, acceptable: Callable[[np.ndarray, np.ndarray], bool] | None = None) -> ClimbResult:
    """A basin-hopping move instead of a climb: atoms displaced by U(−kick_A, kick_A) Å per axis
    (all of them, or with ``kick_radius_A`` > 0 only those within that distance of one random
    atom), and with ``kick_strain`` > 0 the cell strained by a random symmetric strain of
    components U(−kick_strain, kick_strain), atoms following (no force call; the quench
    follows). Cheap new basins where the Gaussian climb, which pushes far uphill, lands in
    disordered or known ones (large random cells). Atom count and composition are unchanged.

    ``acceptable(cell, positions)``: a kick it refuses (e.g. two atoms pushed below the contact
    floor, where a machine-learned potential may have a hole) is drawn again, at most
    ``kick_redraws`` times; the last draw is kept. A kick it accepts at once costs no extra draw.
    """
    p = params
    with engine.phase("kick"):
        for _ in range(p.kick_redraws + 1):
            h, moved = _kick_once(p, rng, cell, pos)
            if acceptable is None or acceptable(h, moved):
                break
    return ClimbResult(h, moved, [], 0)


def _kick_once(p: SSWParameters, rng: np.random.Generator, cell: np.ndarray,
               pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    moved = pos + rng.uniform(-p.kick_A, p.kick_A, size=pos.shape)
    # Draw only for the options in use, so earlier kick streams stay as they were.
    if p.kick_radius_A > 0:
        a = int(rng.integers(len(pos)))
        d = pos - pos[a]
        frac = np.linalg.solve(cell.T, d.T).T
        near = np.linalg.norm((frac - np.round(frac)) @ cell, axis=1) <= p.kick_radius_A
        moved = np.where(near[:, None], moved, pos)
    h = cell.copy()
    if p.kick_strain > 0 and p.relax_cell:
        eps = np.triu(rng.uniform(-p.kick_strain, p.kick_strain, size=(3, 3)))
        deform = np.eye(3) + 0.5 * (eps + eps.T)
        h, moved = cell @ deform, moved @ deform
        h, moved, _ = to_lammps_frame(h, moved)
        h = reduce_tilt(h)
    return h, moved
