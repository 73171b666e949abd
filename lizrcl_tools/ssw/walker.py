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
   (FIRE in Python, :mod:`~.relax`, atoms and cell) for at most ``bias_relax_steps`` force
   calls. Stop early once the true energy falls (a barrier crossed) after at least
   ``min_gaussians`` Gaussians (:mod:`~.climb`).
   Instead of a climb, a step may leave the minimum by a kick (random displacements) or a swap
   (two unlike atoms exchanged), chosen by their recent yield of new minima per force call
   (:mod:`~.moves`, :mod:`~.swap`); the quench follows either.
3. **Quench**: remove all Gaussians, relax atoms (and cell) on the true surface to
   ``force_tol`` eV/Å and ``stress_tol_GPa``.
4. **Metropolis** at ``temperature_K``: accept if H_new < H_i, else with probability
   exp(−(H_new − H_i)/k_B T), H = E + pV.
5. **Record** the minimum (accepted or not) and the climb's intermediate points in the
   :class:`~.database.MinimaDB`; write the checkpoint (JSON, atomically) after the database.

Restart: the checkpoint holds the RNG state, the current minimum, the step count and the
parameters; :meth:`SSWWalker.resume` continues the walk where it stopped. A step interrupted
before its checkpoint is redone identically, and the database merges the repeat (visits are
keyed by (seed, step)), so no minimum is lost or double-counted.

Force-call budget: every energy/force evaluation passes through one method,
:meth:`LammpsEngine.evaluate`, which counts it and refuses a call past
``LammpsEngine.max_force_calls`` (:class:`BudgetExhausted`); all relaxations are FIRE loops of
such calls (:mod:`~.relax`), so ``run(max_force_calls=B)`` never spends more than B. Each
step's calls are booked by phase in ``StepRecord.profile``.

Units: eV, Å, K, GPa. Example::

    from lizrcl_tools.ssw import SSWParameters, SSWWalker
    walker = SSWWalker(atoms, spec, "minima.db", SSWParameters(), seed=1, checkpoint="walk.json")
    walker.run(50)
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.units import GPa, kB

from lizrcl_tools.errors import LizrclWarning, RunFailed, SetupError
from lizrcl_tools.fileio import write_json_atomic
from lizrcl_tools.potential.spec import PotentialSpec
from lizrcl_tools.ssw.checkpoint import CHECKPOINT_VERSION, StepRecord, read_checkpoint
from lizrcl_tools.ssw.climb import climb, kick, quench, start_quench
from lizrcl_tools.ssw.database import MinimaDB
from lizrcl_tools.potential.lammps_engine import BudgetExhausted, LammpsEngine, reduce_tilt, to_lammps_frame
from lizrcl_tools.ssw.moves import choose_move
from lizrcl_tools.ssw.parameters import SSWParameters, with_overrides
from lizrcl_tools.ssw.swap import allowed_pairs, swap
from lizrcl_tools.structures.checks import check_min_distance, contact_ratio

__all__ = ["CHECKPOINT_VERSION", "BudgetExhausted", "HoleOfPotential", "SSWParameters", "SSWWalker", "StepRecord",
           "with_overrides"]


class HoleOfPotential(RunFailed):
    """A relaxation ended in, or was sliding into, a hole of the potential (two atoms closer than
    the contact floor). ``atoms``: the structure where it was caught; ``rim``: the last one on the
    way in that passed the check (the relaxation's start when none was checked before)."""

    def __init__(self, message: str, atoms: Atoms, rim: Atoms | None = None) -> None:
        super().__init__(message)
        self.atoms = atoms
        self.rim = rim


class _ContactGuard:
    """``check(cell, positions)`` for a relaxation: the walker's contact check, remembering the
    last structure that passed it (the rim of a hole, where the teacher's labels are wanted)."""

    def __init__(self, walker: "SSWWalker", what: str, cell: np.ndarray, pos: np.ndarray) -> None:
        self.walker, self.what = walker, what
        self.last = (np.array(cell, dtype=float), np.array(pos, dtype=float))

    def __call__(self, cell: np.ndarray, pos: np.ndarray) -> None:
        self.walker._check_contacts(cell, pos, self.what, rim=self.last)
        self.last = (np.array(cell, dtype=float), np.array(pos, dtype=float))


@dataclass
class _State:
    cell: np.ndarray
    positions: np.ndarray
    energy: float
    step: int = 0
    accepted: int = 0
    force_calls: int = 0
    history: list[StepRecord] = field(default_factory=list)
    kick_origin: np.ndarray | None = None  # fractional (N, 3): where the next kick starts (kick_memory)


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
    max_force_calls : int, optional
        Budget for the quench of the starting structure (step 0); :class:`BudgetExhausted`
        if it does not fit (no walker is made).
    """

    def __init__(self, atoms: Atoms, spec: PotentialSpec, db, params: SSWParameters | None = None,
                 seed: int = 0, checkpoint=None, max_force_calls: int | None = None,
                 _state: dict | None = None) -> None:
        self.spec = spec
        self.params = params or SSWParameters()
        self.seed = int(seed)
        self.db = db if isinstance(db, MinimaDB) else MinimaDB(db)
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.symbols = atoms.get_chemical_symbols()
        self.masses = atoms.get_masses()
        self.rng = np.random.default_rng(self.seed)
        if self.params.swap_moves and len(set(self.symbols)) == 1 and not self.params.swap_pairs:
            # One element: nothing to exchange, so the default mix goes on without swaps (recorded).
            self.params = replace(self.params, swap_moves=False)
        if self.params.swap_moves:
            allowed_pairs(self.symbols, self.params.swap_pairs)  # a bad pair fails here, not at the first swap
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
            if _state.get("kick_origin") is not None:
                self.state.kick_origin = np.array(_state["kick_origin"], dtype=float)
            self.engine.force_calls = self.state.force_calls
        else:
            self.engine.max_force_calls = max_force_calls
            try:
                res = start_quench(
                    self.engine, self.params, cell, pos,
                    check=lambda h, x: self._check_contacts(h, x, "the quench of the starting structure"))
            finally:
                self.engine.max_force_calls = None
            cell, pos = self._wrapped(res.cell, res.positions)
            self._check_contacts(cell, pos, "the quench of the starting structure")
            energy = res.evaluation.energy
            self.state = _State(cell, pos, energy)
            rec = self.db.add_minimum(self._atoms(cell, pos), energy, seed=self.seed, step=0,
                                      potential=spec.name)
            self.state.force_calls = self.engine.force_calls
            self.state.history.append(StepRecord(0, energy, True, rec.new, 0, self.engine.force_calls,
                                                 profile=dict(self.engine.calls_by_phase)))
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
            "kick_origin": None if s.kick_origin is None else s.kick_origin.tolist(),
        })

    # ------------------------------------------------------------------ helpers
    def _atoms(self, cell, pos) -> Atoms:
        atoms = Atoms(self.symbols, positions=pos, cell=cell, pbc=True)
        atoms.wrap()
        return atoms

    @staticmethod
    def _wrapped(cell: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Same structure with LAMMPS-legal tilts and atoms wrapped into the cell."""
        h = reduce_tilt(cell)
        frac = np.linalg.solve(h.T, np.asarray(pos).T).T % 1.0
        return h, frac @ h

    def _check_contacts(self, cell: np.ndarray, pos: np.ndarray, what: str,
                        rim: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """:class:`HoleOfPotential` when ``what`` ended with two atoms closer than the contact floor
        (a hole of the potential); the caller rejects the step (``SSWParameters.reject_close_contacts``)."""
        if not self.params.reject_close_contacts:
            return
        atoms = self._atoms(cell, pos)
        try:
            check_min_distance(atoms, what,
                               remedy="The step is rejected; reject_close_contacts=False keeps such minima.")
        except SetupError as exc:
            raise HoleOfPotential(f"unphysical minimum, a hole of the potential {self.spec.name}: {exc}",
                                  atoms, None if rim is None else self._atoms(*rim)) from exc

    def _clear_of_contacts(self, cell: np.ndarray, pos: np.ndarray) -> bool:
        """No two atoms below the contact floor (always True with ``reject_close_contacts`` off)."""
        return not self.params.reject_close_contacts or contact_ratio(self._atoms(cell, pos)) >= 1.0

    def _enthalpy(self, energy: float, cell: np.ndarray) -> float:
        return energy + self.params.pressure_GPa * GPa * abs(np.linalg.det(cell))

    # ------------------------------------------------------------------ one step
    def step(self) -> StepRecord:
        """Run one SSW step, record it, and write the checkpoint.

        A LAMMPS failure inside the step (e.g. atoms pushed on top of each other), or a quench
        that ends in a hole of the potential (two atoms closer than the contact floor,
        ``reject_close_contacts``), makes it a rejected step with ``failed=True`` and a
        :class:`LizrclWarning`, and no minimum or walk point of it enters the database (a hole's
        structure is kept as ``kind=hole`` with ``store_holes``, for labelling); the walk goes
        on from the current minimum, so a resumed walk does not stop at the same step again.

        Raises
        ------
        BudgetExhausted
            The engine's force-call budget ran out inside the step. The step is dropped: nothing
            of it enters the database, the RNG is put back to the step's start and the checkpoint
            is rewritten (with the calls spent), so a resumed walk with a larger budget redoes
            the step exactly.
        """
        p, eng, s = self.params, self.engine, self.state
        step = s.step + 1
        rng_start = self.rng.bit_generator.state
        eng.calls_by_phase.clear()
        move = choose_move(s.history, p, self.rng)
        try:
            if move == "swap":
                climbed = swap(eng, p, self.rng, self.symbols, s.cell, s.positions)
            elif move == "kick":
                origin = s.positions if s.kick_origin is None else s.kick_origin @ s.cell
                climbed = kick(eng, p, self.rng, s.cell, origin,
                               acceptable=self._clear_of_contacts if p.kick_redraws > 0 else None)
            else:
                climbed = climb(eng, p, self.rng, self.masses, s.cell, s.positions)
            # Checked during the quench too: a structure sliding into a hole would otherwise spend
            # the whole quench_max_iter there (1,000 calls, seen with the shipped model).
            guard = _ContactGuard(self, f"step {step}'s quench", climbed.cell, climbed.positions)
            quenched = quench(eng, p, climbed.cell, climbed.positions, check=guard)
            energy = quenched.evaluation.energy
            cell, pos = self._wrapped(quenched.cell, quenched.positions)
            self._check_contacts(cell, pos, f"step {step}'s quench", rim=guard.last)
        except BudgetExhausted:
            self.rng.bit_generator.state = rng_start
            s.force_calls = eng.force_calls
            self._write_checkpoint()
            raise
        except RunFailed as exc:
            warnings.warn(f"SSW step {step} (seed {self.seed}) failed and counts as rejected: {exc}",
                          LizrclWarning, stacklevel=2)
            if isinstance(exc, HoleOfPotential) and p.store_holes:
                kept = exc.rim if exc.rim is not None else exc.atoms
                self.db.add_hole(kept, seed=self.seed, step=step, potential=self.spec.name,
                                 contact_ratio=contact_ratio(kept), caught_ratio=contact_ratio(exc.atoms))
            eng.set_bias(None)
            self.rng.random()  # the draw a completed step makes, so seeds stay comparable
            s.step = step
            s.force_calls = eng.force_calls
            record = StepRecord(step, s.energy, False, False, 0, eng.force_calls, failed=True,
                                profile=dict(eng.calls_by_phase), move=move)
            s.history.append(record)
            self._write_checkpoint()
            return record
        rec = self.db.add_minimum(self._atoms(cell, pos), energy, seed=self.seed, step=step,
                                  potential=self.spec.name)
        if p.store_walk_points:
            self.db.add_walk_points([(self._atoms(h, x), e) for h, x, e in climbed.frames], seed=self.seed,
                                    step=step)
        # Always draw, so the random stream does not depend on the energies' order.
        with eng.phase("metropolis"):  # uses stored energies: no force call
            u = self.rng.random()
            dh = self._enthalpy(energy, cell) - self._enthalpy(s.energy, s.cell)
            accept = dh <= 0 or (p.temperature_K > 0 and u < math.exp(-dh / (kB * p.temperature_K)))
        if accept:
            s.cell, s.positions, s.energy = cell, pos, energy
            # kick_memory: the next kick adds to this one's unrelaxed displacements, as ASE's
            # basin hopping does (a climb starts the sum afresh from its minimum).
            s.kick_origin = (np.linalg.solve(climbed.cell.T, climbed.positions.T).T
                             if move == "kick" and p.kick_memory else None)
            s.accepted += 1
        s.step = step
        s.force_calls = eng.force_calls
        profile = {"metropolis": 0, **eng.calls_by_phase}
        record = StepRecord(step, energy, bool(accept), rec.new, climbed.gaussians, eng.force_calls,
                            profile=profile, move=move)
        s.history.append(record)
        self._write_checkpoint()
        return record

    def run(self, n_steps: int, progress: bool = True, max_force_calls: int | None = None) -> list[StepRecord]:
        """Walk until ``n_steps`` SSW steps are done in total (counting earlier, resumed ones).

        Parameters
        ----------
        n_steps : int
            Total number of SSW steps wanted.
        progress : bool
            Show a tqdm bar with current/lowest energy (eV/atom), distinct minima, acceptance.
        max_force_calls : int, optional
            Hard budget on the walker's cumulative force calls (``state.force_calls``, the start
            quench included), counted in the engine: the walk stops inside a step when the next
            call would pass it (that step is dropped, see :meth:`step`), so it is never exceeded.

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
        self.engine.max_force_calls = max_force_calls
        try:
            while self.state.step < n_steps:
                try:
                    done.append(self.step())
                except BudgetExhausted:
                    break
                bar.update(1)
                bar.set_postfix(E=f"{self.state.energy / n:.4f}", Emin=f"{self.lowest_energy() / n:.4f}",
                                minima=self.db.count(), acc=f"{self.acceptance_rate():.2f}")
        finally:
            self.engine.max_force_calls = None
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


