"""Stochastic surface walking (SSW) for periodic crystals, driven through LAMMPS.

One SSW step from a minimum R_i with energy E_i (Shang & Liu, JCTC 9, 1838 (2013); Shang,
Zhang & Liu, PCCP 16, 17845 (2014) for crystals):

1. **Direction.** N0 = normalised mix of a global random vector (Gaussian displacements scaled
   by 1/√m, Maxwell–Boltzmann-like) and a local "bond" vector on two neighbouring atoms A, B
   along ±(r_A − r_B), with mixing weight λ ~ U(0.1, 1.5); net translation removed; for a
   variable cell a random strain part of relative weight ``cell_weight`` is appended.
2. **Climb**, n = 1 … N_G: soften N with biased-dimer rotations (:mod:`~.dimer`); step one
   Gaussian width along N; add a Gaussian ``w exp(−((X − X_n)·N)²/2)`` centred at the current
   point with the height chosen so the total force along +N at the new point equals
   ``force_target`` (capped at ``max_height_per_atom × N_atoms``); relax on the biased surface
   with LAMMPS ``minimize`` (bias through ``fix external``, cell through ``fix box/relax``) for at
   most ``bias_relax_steps`` iterations. Stop early once the true energy falls (a barrier
   crossed) after at least ``min_gaussians`` Gaussians.
3. **Quench**: remove all Gaussians, relax atoms (and cell) on the true surface.
4. **Metropolis** at ``temperature_K``: accept if H_new < H_i, else with probability
   exp(−(H_new − H_i)/k_B T), H = E + pV.
5. **Record** the minimum (accepted or not) and the climb's intermediate points in the
   :class:`~.database.MinimaDB`; write the checkpoint (JSON, atomically) after the database.

Restart: the checkpoint holds the RNG state, the current minimum, the step count and the
parameters; :meth:`SSWWalker.resume` continues the walk where it stopped. A step interrupted
before its checkpoint is redone identically, and the database merges the repeat (visits are
keyed by (seed, step)), so no minimum is lost or double-counted.

Units: eV, Å, K, GPa. Example::

    from lizrcl_tools.ssw import SSWParameters, SSWWalker
    walker = SSWWalker(atoms, spec, "minima.db", SSWParameters(), seed=1, checkpoint="walk.json")
    walker.run(50)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.units import GPa, kB

from lizrcl_tools.errors import LizrclWarning, RunFailed, SetupError
from lizrcl_tools.fileio import write_json_atomic
from lizrcl_tools.potential.spec import PotentialSpec
from lizrcl_tools.ssw.bias import BiasPotential, Coordinates, Gaussian
from lizrcl_tools.ssw.checkpoint import CHECKPOINT_VERSION, StepRecord, read_checkpoint
from lizrcl_tools.ssw.database import MinimaDB
from lizrcl_tools.ssw.dimer import remove_translation, soften_direction
from lizrcl_tools.ssw.engine import LammpsEngine, reduce_tilt, to_lammps_frame
from lizrcl_tools.ssw.parameters import SSWParameters, with_overrides

__all__ = ["CHECKPOINT_VERSION", "SSWParameters", "SSWWalker", "StepRecord", "with_overrides"]


@dataclass
class _State:
    cell: np.ndarray
    positions: np.ndarray
    energy: float
    step: int = 0
    accepted: int = 0
    force_calls: int = 0
    history: list[StepRecord] = field(default_factory=list)


class SSWWalker:
    """One SSW walker: a LAMMPS engine, a seeded RNG, a minima database and a checkpoint.

    Parameters
    ----------
    atoms : ase.Atoms
        Starting structure (periodic, right-handed cell). It is quenched first (step 0).
    spec : PotentialSpec
        Potential for LAMMPS.
    db : str or PathLike or MinimaDB
        Minima database (created if absent; may be shared by several walkers).
    params : SSWParameters
        Walk settings.
    seed : int
        Seed of this walker's RNG (recorded in the database and checkpoint).
    checkpoint : str or PathLike, optional
        JSON checkpoint written after every step.
    """

    def __init__(self, atoms: Atoms, spec: PotentialSpec, db, params: SSWParameters | None = None,
                 seed: int = 0, checkpoint=None, _state: dict | None = None) -> None:
        self.spec = spec
        self.params = params or SSWParameters()
        self.seed = int(seed)
        self.db = db if isinstance(db, MinimaDB) else MinimaDB(db)
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.symbols = atoms.get_chemical_symbols()
        self.masses = atoms.get_masses()
        self.rng = np.random.default_rng(self.seed)
        if _state is not None:
            self.rng.bit_generator.state = _state["rng_state"]
            cell, pos = np.array(_state["cell"]), np.array(_state["positions"])
        else:
            cell, pos, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
            cell = reduce_tilt(cell)
        self.engine = LammpsEngine(spec, self.symbols, cell, pos)
        if _state is not None:
            self.state = _State(cell, pos, float(_state["energy"]), int(_state["step"]), int(_state["accepted"]),
                                int(_state["force_calls"]), [StepRecord(**r) for r in _state["history"]])
            self.engine.force_calls = self.state.force_calls
        else:
            self.engine.set_structure(cell, pos)
            ev = self._quench()
            cell, pos = self._current_structure()
            self.state = _State(cell, pos, ev.energy)
            rec = self.db.add_minimum(self._atoms(cell, pos), ev.energy, seed=self.seed, step=0,
                                      potential=spec.name)
            self.state.force_calls = self.engine.force_calls
            self.state.history.append(StepRecord(0, ev.energy, True, rec.new, 0, self.engine.force_calls))
            self._write_checkpoint()

    # ------------------------------------------------------------------ restart
    @classmethod
    def resume(cls, checkpoint, db=None, spec: PotentialSpec | None = None,
               seed: int | None = None) -> "SSWWalker":
        """Continue a walk from its checkpoint (database path and potential default to the recorded ones).

        Parameters
        ----------
        checkpoint : str or PathLike
            The walk's JSON checkpoint.
        db, spec : optional
            Minima database and potential; default: those recorded in the checkpoint.
        seed : int, optional
            The seed the caller expects. A walk continues only with its own seed (its RNG state
            is in the checkpoint); a different one is refused rather than silently ignored.

        Raises
        ------
        ParseError
            Malformed checkpoint (see :func:`~lizrcl_tools.ssw.checkpoint.read_checkpoint`).
        SetupError
            ``seed`` differs from the checkpoint's.
        """
        path = Path(checkpoint)
        data = read_checkpoint(path)
        if seed is not None and int(seed) != data["seed"]:
            raise SetupError(
                f"{path}: this walk was started with seed {data['seed']}; it cannot resume with seed "
                f"{seed} (use --seed {data['seed']}, or a new --checkpoint for a new walk)"
            )
        spec = spec or PotentialSpec.from_dict(data["potential"])
        atoms = Atoms(data["symbols"], positions=data["positions"], cell=data["cell"], pbc=True)
        return cls(atoms, spec, db or data["db"], SSWParameters.from_dict(data["params"]), data["seed"],
                   checkpoint=path, _state=data)

    def _write_checkpoint(self) -> None:
        if self.checkpoint is None:
            return
        s = self.state
        write_json_atomic(self.checkpoint, {
            "version": CHECKPOINT_VERSION,
            "seed": self.seed,
            "step": s.step,
            "rng_state": self.rng.bit_generator.state,
            "symbols": self.symbols,
            "cell": s.cell.tolist(),
            "positions": s.positions.tolist(),
            "energy": s.energy,
            "accepted": s.accepted,
            "force_calls": s.force_calls,
            "db": str(self.db.path),
            "params": asdict(self.params),
            "potential": self.spec.to_dict(),
            "history": [asdict(r) for r in s.history],
        })

    # ------------------------------------------------------------------ helpers
    def _atoms(self, cell, pos) -> Atoms:
        atoms = Atoms(self.symbols, positions=pos, cell=cell, pbc=True)
        atoms.wrap()
        return atoms

    def _current_structure(self) -> tuple[np.ndarray, np.ndarray]:
        h, pos = self.engine.get_structure()
        h = reduce_tilt(h)
        frac = np.linalg.solve(h.T, pos.T).T % 1.0
        return h, frac @ h

    def _quench(self):
        p = self.params
        return self.engine.minimize(relax_cell=p.relax_cell, force_tol=p.force_tol, vmax=p.cell_vmax,
                                    max_iter=p.quench_max_iter, pressure_GPa=p.pressure_GPa)

    def _enthalpy(self, energy: float, cell: np.ndarray) -> float:
        return energy + self.params.pressure_GPa * GPa * abs(np.linalg.det(cell))

    def initial_direction(self, coords: Coordinates, cell, pos) -> np.ndarray:
        """Random N0: global (1/√m-scaled) + λ × local bond vector (+ strain part), unit norm."""
        p, rng, n = self.params, self.rng, len(pos)
        glob = rng.normal(size=(n, 3)) / np.sqrt(self.masses)[:, None]
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

    # ------------------------------------------------------------------ one step
    def step(self) -> StepRecord:
        """Run one SSW step, record it, and write the checkpoint.

        A LAMMPS failure inside the step (e.g. atoms pushed on top of each other) makes it a
        rejected step with ``failed=True`` and a :class:`LizrclWarning`; the walk goes on from the
        current minimum, so a resumed walk does not stop at the same step again.
        """
        p, eng, s = self.params, self.engine, self.state
        step = s.step + 1
        try:
            energy, cell, pos, walk_frames, n_used = self._explore(step)
        except RunFailed as exc:
            warnings.warn(f"SSW step {step} (seed {self.seed}) failed and counts as rejected: {exc}",
                          LizrclWarning, stacklevel=2)
            eng.set_bias(None)
            self.rng.random()  # the draw a completed step makes, so seeds stay comparable
            s.step = step
            s.force_calls = eng.force_calls
            record = StepRecord(step, s.energy, False, False, 0, eng.force_calls, failed=True)
            s.history.append(record)
            self._write_checkpoint()
            return record
        rec = self.db.add_minimum(self._atoms(cell, pos), energy, seed=self.seed, step=step,
                                  potential=self.spec.name)
        if p.store_walk_points:
            self.db.add_walk_points(walk_frames, seed=self.seed, step=step)
        # Always draw, so the random stream does not depend on the energies' order.
        u = self.rng.random()
        dh = self._enthalpy(energy, cell) - self._enthalpy(s.energy, s.cell)
        accept = dh <= 0 or (p.temperature_K > 0 and u < math.exp(-dh / (kB * p.temperature_K)))
        if accept:
            s.cell, s.positions, s.energy = cell, pos, energy
            s.accepted += 1
        s.step = step
        s.force_calls = eng.force_calls
        record = StepRecord(step, energy, bool(accept), rec.new, n_used, eng.force_calls)
        s.history.append(record)
        self._write_checkpoint()
        return record

    def _explore(self, step: int):
        """Climb with Gaussians from the current minimum and quench; returns
        (energy eV, cell, positions, walk frames, Gaussians used)."""
        p, eng, s = self.params, self.engine, self.state
        n = len(self.symbols)
        coords = Coordinates(s.cell.copy(), p.ds_atom, p.ds_cell, p.relax_cell)
        bias = BiasPotential(coords)
        n0 = self.initial_direction(coords, s.cell, s.positions)
        direction = n0
        hc, pc = s.cell.copy(), s.positions.copy()
        ev = eng.evaluate(hc, pc)

        def gforce_at(h, pos, e):
            return coords.generalized_force(h, e.forces, e.virial) + bias.generalized_force(h, pos)

        f_center = gforce_at(hc, pc, ev)
        e_prev = ev.energy
        walk_frames = []
        n_used = 0
        w_max = p.max_height_per_atom * n
        for k in range(p.n_gaussians):
            def gforce(delta, hc=hc, pc=pc):
                h, pos = coords.step(hc, pc, delta)
                return gforce_at(h, pos, eng.evaluate(h, pos))

            direction = soften_direction(gforce, f_center, direction, n0, n, delta=p.dimer_delta,
                                         rotations=p.dimer_rotations, bias_strength=p.direction_bias).direction
            ht, pt = coords.step(hc, pc, direction)
            f_trial = gforce_at(ht, pt, eng.evaluate(ht, pt)) @ direction
            height = float(np.clip((p.force_target - f_trial) * math.exp(0.5), 0.0, w_max))
            bias.add(Gaussian(hc.copy(), pc.copy(), direction.copy(), height))
            eng.set_structure(ht, pt)
            eng.set_bias(bias)
            try:
                eng.minimize(relax_cell=p.relax_cell, force_tol=p.force_tol, max_iter=p.bias_relax_steps,
                             pressure_GPa=p.pressure_GPa, rounds=1)
            finally:
                eng.set_bias(None)
            hc, pc = eng.get_structure()
            ev = eng.evaluate(hc, pc)
            f_center = gforce_at(hc, pc, ev)
            n_used = k + 1
            walk_frames.append((self._atoms(hc, pc), ev.energy))
            if n_used >= p.min_gaussians and ev.energy < e_prev:
                break
            e_prev = ev.energy
        eng.set_structure(hc, pc)
        quenched = self._quench()
        cell, pos = self._current_structure()
        return quenched.energy, cell, pos, walk_frames, n_used

    def run(self, n_steps: int, progress: bool = True, max_force_calls: int | None = None) -> list[StepRecord]:
        """Walk until ``n_steps`` SSW steps are done in total (counting earlier, resumed ones).

        Parameters
        ----------
        n_steps : int
            Total number of SSW steps wanted.
        progress : bool
            Show a tqdm bar with current/lowest energy (eV/atom), distinct minima, acceptance.
        max_force_calls : int, optional
            Also stop once the walker has used this many force calls.

        Returns
        -------
        list of StepRecord
            The steps run by this call.
        """
        from tqdm.auto import tqdm

        done: list[StepRecord] = []
        n = len(self.symbols)
        bar = tqdm(total=n_steps, initial=self.state.step, desc=f"ssw seed {self.seed}", disable=not progress,
                   unit="step")
        try:
            while self.state.step < n_steps:
                if max_force_calls is not None and self.engine.force_calls >= max_force_calls:
                    break
                done.append(self.step())
                bar.update(1)
                bar.set_postfix(E=f"{self.state.energy / n:.4f}", Emin=f"{self.lowest_energy() / n:.4f}",
                                minima=self.db.count(), acc=f"{self.acceptance_rate():.2f}")
        finally:
            bar.close()
        return done

    def lowest_energy(self) -> float:
        """Lowest minimum energy this walker has reached, eV (whole cell)."""
        return min(r.energy for r in self.state.history)

    def acceptance_rate(self) -> float:
        """Accepted / attempted SSW steps (0 before the first step)."""
        return self.state.accepted / self.state.step if self.state.step else 0.0

    def close(self) -> None:
        """Free LAMMPS."""
        self.engine.close()


