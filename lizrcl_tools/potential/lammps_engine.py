"""One LAMMPS instance that evaluates and relaxes a periodic cell, with an optional Python bias.

The SSW walker (and the basin-hopping baseline), the NEB band and the compositions'
relaxations talk to LAMMPS only through :class:`LammpsEngine`. It keeps one ``lammps`` object
alive for a whole walk, writes the cell and positions into it through the library interface,
and reads energy (eV), forces (eV/Å) and the virial (eV) back. A ``fix external`` (``pf/callback``) is always defined:

* it adds a bias (energy, atomic forces and, for cell moves, a virial) computed in Python by a
  callable set with :meth:`LammpsEngine.set_bias` — the Gaussian bias of SSW;
* its callback runs once per LAMMPS force evaluation (``run 0``, and every energy/force call
  of ``minimize``), so :attr:`LammpsEngine.force_calls` is an honest count of force calls.

Cells are kept in LAMMPS's frame: lattice vectors as rows, ``a`` along x, ``b`` in the xy plane
(lower-triangular, right-handed). :func:`to_lammps_frame` rotates any right-handed cell there.

Only serial LAMMPS is supported here (one MPI rank): walks run on cells of tens of atoms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.data import atomic_masses, atomic_numbers
from ase.units import GPa, bar

from lizrcl_tools.errors import LizrclError, RunFailed, SetupError
from lizrcl_tools.potential import PotentialSpec

BiasFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray, np.ndarray]]
"""``bias(cell, positions) -> (energy eV, forces eV/Å (N, 3), virial eV (6,) xx yy zz xy xz yz)``."""

_FIX = "lizrcl_ssw_bias"


class BudgetExhausted(LizrclError):
    """The engine's force-call budget (:attr:`LammpsEngine.max_force_calls`) is spent.

    Raised *before* a call that would exceed it, so the count never passes the budget.
    """


def to_lammps_frame(cell: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotate a right-handed cell (rows = lattice vectors, Å) into LAMMPS's lower-triangular frame.

    Returns
    -------
    cell_low, positions_low, rotation
        ``cell_low = cell @ rotation`` is lower-triangular with a positive diagonal;
        ``positions_low = positions @ rotation``. Vectors go back with ``v @ rotation.T``.
    """
    cell = np.asarray(cell, dtype=float)
    if np.linalg.det(cell) <= 0:
        raise SetupError("the cell is left-handed or singular; LAMMPS needs a right-handed cell")
    q, r = np.linalg.qr(cell.T)
    signs = np.sign(np.diag(r))
    q = q * signs  # flip columns so the diagonal of r (and of the rotated cell) is positive
    cell_low = cell @ q
    cell_low[np.triu_indices(3, 1)] = 0.0
    return cell_low, np.asarray(positions, dtype=float) @ q, q


def reduce_tilt(cell_low: np.ndarray) -> np.ndarray:
    """Same lattice, with LAMMPS tilt factors |xy|, |xz| ≤ lx/2 and |yz| ≤ ly/2 (rows a, b, c).

    Only adds integer multiples of lower vectors to higher ones, so fractional coordinates
    change but the lattice (and every structure on it) does not.
    """
    h = np.array(cell_low, dtype=float)
    h[2] -= np.round(h[2, 1] / h[1, 1]) * h[1]
    h[2] -= np.round(h[2, 0] / h[0, 0]) * h[0]
    h[1] -= np.round(h[1, 0] / h[0, 0]) * h[0]
    return h


def virial_to_stress(virial: np.ndarray, volume: float) -> np.ndarray:
    """Virial (eV; xx yy zz xy xz yz) → ASE stress (eV/Å³, Voigt xx yy zz yz xz xy, + = tensile)."""
    w = np.asarray(virial, dtype=float)
    return -np.array([w[0], w[1], w[2], w[5], w[4], w[3]]) / volume


@dataclass
class Evaluation:
    """Energy, forces and virial of one configuration on the *true* surface (bias excluded).

    Attributes
    ----------
    energy : float
        Potential energy, eV.
    forces : ndarray (N, 3)
        Forces, eV/Å, in the LAMMPS frame, atoms in input order.
    virial : ndarray (6,)
        Virial W = −∂E/∂ε at fixed fractional coordinates, eV, order xx yy zz xy xz yz.
    """

    energy: float
    forces: np.ndarray
    virial: np.ndarray


class LammpsEngine:
    """A LAMMPS instance holding one periodic structure of fixed composition.

    Parameters
    ----------
    spec : PotentialSpec
        The potential (pair style commands, atom style, charges).
    symbols : sequence of str
        Chemical symbols of the atoms, fixed for the engine's life.
    cell : ndarray (3, 3)
        Initial cell, Å; any right-handed cell (rotated into the LAMMPS frame).
    positions : ndarray (N, 3)
        Initial Cartesian positions, Å.
    """

    def __init__(self, spec: PotentialSpec, symbols, cell: np.ndarray, positions: np.ndarray) -> None:
        from lizrcl_tools.lammps_env import new_lammps

        self.spec = spec
        self.symbols = list(symbols)
        self.natoms = len(self.symbols)
        self.force_calls = 0
        self.max_force_calls: int | None = None
        self.calls_by_phase: Counter[str] = Counter()
        self._phase = "other"
        self._bias: BiasFn | None = None
        types = [spec.type_of(s) for s in self.symbols]
        cell_low, pos_low, _ = to_lammps_frame(cell, positions)
        cell_low = reduce_tilt(cell_low)
        lmp = new_lammps()
        self.lmp = lmp
        if lmp.extract_setting("world_size") > 1:
            lmp.close()
            raise SetupError("the LAMMPS engine (SSW, NEB, relaxations) runs on one MPI rank; start it without mpirun")
        try:
            lmp.command("units metal")
            lmp.command(f"atom_style {spec.atom_style}")
            lmp.command("atom_modify map array sort 0 0.0")
            lmp.command("boundary p p p")
            lmp.command(f"newton {spec.newton}")
            for line in spec.pre_commands:
                lmp.command(line)
            (lx, _, _), (xy, ly, _), (xz, yz, lz) = cell_low.tolist()
            lmp.command(f"region cell prism 0 {lx!r} 0 {ly!r} 0 {lz!r} {xy!r} {xz!r} {yz!r} units box")
            lmp.command(f"create_box {len(spec.elements)} cell")
            frac = np.linalg.solve(cell_low.T, pos_low.T).T % 1.0
            x = (frac @ cell_low).ravel().tolist()
            lmp.create_atoms(self.natoms, list(range(1, self.natoms + 1)), types, x)
            for t, sym in enumerate(spec.elements, start=1):
                lmp.command(f"mass {t} {float(atomic_masses[atomic_numbers[sym]])!r}")
            for line in spec.all_commands():
                lmp.command(line)
            if spec.metadata.get("backend") == "fix_external":
                # MACE without the plugin: its own fix external sits beside the bias fix.
                from lizrcl_tools.potential.mace_plugin import attach_external

                attach_external(lmp, spec)
            lmp.command("neighbor 2.0 bin")
            lmp.command("neigh_modify every 1 delay 0 check yes")
            lmp.command("thermo_style custom step pe press pxx pyy pzz pxy pxz pyz")
            lmp.command(f"fix {_FIX} all external pf/callback 1 1")
            lmp.command(f"fix_modify {_FIX} energy yes virial yes")
            lmp.set_fix_external_callback(_FIX, self._callback, None)
        except Exception as exc:
            lmp.close()
            raise SetupError(f"LAMMPS setup for potential {spec.name!r} failed: {exc}") from exc
        self._cell = cell_low
        self._torchscript = spec.metadata.get("backend") == "plugin"

    def _run(self, command: str) -> None:
        """A LAMMPS ``run`` or ``minimize`` command.

        With the MACE pair style it runs without TorchScript's profiling re-optimisation: that
        re-specialises the graph at each new edge count, so the first ~20 single points of every
        engine took seconds each (27 atoms: 4.9 s against 0.25 s per call over the first five,
        equal after twenty; ``scripts/bench_md_speed.py`` paths ``engine-f32``/``-nojit``), and an
        engine lives for a few hundred calls. MD keeps it (~10 % faster in the steady state).
        """
        if not self._torchscript:
            self.lmp.command(command)
            return
        import torch

        with torch.jit.optimized_execution(False):
            self.lmp.command(command)

    # ------------------------------------------------------------------ structure I/O
    def close(self) -> None:
        """Free the LAMMPS instance."""
        if getattr(self, "lmp", None) is not None:
            self.lmp.close()
            self.lmp = None

    def _order(self) -> np.ndarray:
        ids = np.asarray(self.lmp.numpy.extract_atom("id"), dtype=np.int64).ravel()[: self.natoms]
        return ids - 1

    def set_structure(self, cell_low: np.ndarray, positions: np.ndarray) -> None:
        """Write a lower-triangular cell (Å) and positions (Å, input atom order) into LAMMPS."""
        h = np.asarray(cell_low, dtype=float)
        (lx, _, _), (xy, ly, _), (xz, yz, lz) = h.tolist()
        # reset_box() refuses once atoms exist; change_box without remap only moves the box.
        self.lmp.command(
            f"change_box all x final 0 {lx!r} y final 0 {ly!r} z final 0 {lz!r} "
            f"xy final {xy!r} xz final {xz!r} yz final {yz!r} units box"
        )
        frac = np.linalg.solve(h.T, np.asarray(positions, dtype=float).T).T % 1.0
        x = self.lmp.numpy.extract_atom("x")
        x[: self.natoms] = (frac @ h)[self._order()]
        self._cell = h.copy()

    def get_structure(self) -> tuple[np.ndarray, np.ndarray]:
        """Current (cell rows, Å; positions, Å, input atom order), read back from LAMMPS."""
        boxlo, boxhi, xy, yz, xz, _, _ = self.lmp.extract_box()
        lx, ly, lz = (hi - lo for hi, lo in zip(boxhi, boxlo))
        h = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
        x = np.array(self.lmp.numpy.extract_atom("x")[: self.natoms], dtype=float) - np.asarray(boxlo)
        pos = np.empty_like(x)
        pos[self._order()] = x
        return h, pos

    def atoms(self) -> Atoms:
        """The current structure as ASE Atoms (LAMMPS frame, periodic)."""
        h, pos = self.get_structure()
        return Atoms(self.symbols, positions=pos, cell=h, pbc=True)

    # ------------------------------------------------------------------ bias and calls
    def set_bias(self, bias: BiasFn | None) -> None:
        """Use ``bias`` in every following force evaluation (None: the true surface)."""
        self._bias = bias

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Book the force calls made inside the ``with`` block under ``name`` (see ``calls_by_phase``)."""
        previous, self._phase = self._phase, name
        try:
            yield
        finally:
            self._phase = previous

    def remaining(self) -> int | None:
        """Force calls left before :attr:`max_force_calls` (None: no budget)."""
        return None if self.max_force_calls is None else self.max_force_calls - self.force_calls

    def check_budget(self, calls: int = 1) -> None:
        """Raise :class:`BudgetExhausted` unless ``calls`` more force calls fit in the budget."""
        left = self.remaining()
        if left is not None and calls > left:
            raise BudgetExhausted(f"force-call budget of {self.max_force_calls} spent ({self.force_calls} used)")

    def _callback(self, _caller, _step, nlocal, tag, x, fext) -> None:
        self.force_calls += 1
        self.calls_by_phase[self._phase] += 1
        if self._bias is None:
            fext[:] = 0.0
            self.lmp.fix_external_set_energy_global(_FIX, 0.0)
            self.lmp.fix_external_set_virial_global(_FIX, [0.0] * 6)
            return
        boxlo, boxhi, xy, yz, xz, _, _ = self.lmp.extract_box()
        lx, ly, lz = (hi - lo for hi, lo in zip(boxhi, boxlo))
        h = np.array([[lx, 0.0, 0.0], [xy, ly, 0.0], [xz, yz, lz]])
        order = np.asarray(tag, dtype=np.int64).ravel()[:nlocal] - 1
        pos = np.empty((self.natoms, 3))
        pos[order] = np.asarray(x[:nlocal]) - np.asarray(boxlo)
        energy, forces, virial = self._bias(h, pos)
        fext[:nlocal] = forces[order]
        self.lmp.fix_external_set_energy_global(_FIX, float(energy))
        self.lmp.fix_external_set_virial_global(_FIX, [float(v) for v in virial])

    # ------------------------------------------------------------------ calculations
    def _read(self) -> Evaluation:
        lmp = self.lmp
        energy = float(lmp.get_thermo("pe"))
        f = np.array(lmp.numpy.extract_atom("f")[: self.natoms], dtype=float)
        forces = np.empty_like(f)
        forces[self._order()] = f
        press = np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pxy", "pxz", "pyz")])
        volume = float(abs(np.linalg.det(self.get_structure()[0])))
        virial = press * bar * volume
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            raise RunFailed(f"LAMMPS returned a non-finite energy or force ({self.spec.name})")
        return Evaluation(energy, forces, virial)

    def evaluate(self, cell_low: np.ndarray | None = None, positions: np.ndarray | None = None) -> Evaluation:
        """True energy (eV), forces (eV/Å) and virial (eV) at the given or current structure.

        The bias is switched off for the call (and restored after), so the result is the
        potential's own surface. Counts one force call.
        """
        self.check_budget(1)
        if cell_low is not None:
            self.set_structure(cell_low, positions)
        bias, self._bias = self._bias, None
        try:
            self._run("run 0 post no")
            return self._read()
        except RunFailed:
            raise
        except Exception as exc:  # LAMMPS raises plain Exception with its error text
            raise RunFailed(f"LAMMPS force evaluation failed ({self.spec.name}): {exc}") from exc
        finally:
            self._bias = bias

    def minimize(
        self,
        *,
        relax_cell: bool,
        force_tol: float = 0.01,
        max_iter: int = 1000,
        pressure_GPa: float = 0.0,
        rounds: int = 3,
        energy_tol: float = 1e-10,
        vmax: float = 0.002,
    ) -> Evaluation:
        """Relax with LAMMPS ``minimize`` (conjugate gradient), the cell too with ``fix box/relax``.

        Works on the biased surface if a bias is set. ``fix box/relax`` keeps its reference
        cell from the start of a minimisation, so cell relaxations are restarted up to
        ``rounds`` times (the LAMMPS documentation's advice) until the energy stops changing.

        Parameters
        ----------
        relax_cell : bool
            Also relax all six cell degrees of freedom (``tri``) to ``pressure_GPa``.
        force_tol : float
            LAMMPS ``ftol``: 2-norm of the global force vector, eV/Å.
        max_iter : int
            Iterations per round (force evaluations are capped at 5× this).
        pressure_GPa : float
            Target pressure for the cell, GPa.
        rounds : int
            Maximum number of restarted minimisations when the cell relaxes.
        energy_tol : float
            LAMMPS ``etol`` (relative energy change).
        vmax : float
            ``fix box/relax`` largest relative volume change per iteration.

        Returns
        -------
        Evaluation
            True-surface energy/forces/virial at the end (the bias part removed from the energy).
        """
        if self.max_force_calls is not None:
            # LAMMPS's line searches run past maxeval, so this path cannot promise a budget.
            raise SetupError("LAMMPS minimize cannot keep a force-call budget exactly; relax with "
                             "lizrcl_tools.ssw.relax.fire_relax under a budget")
        lmp = self.lmp
        p_bar = float(pressure_GPa * GPa / bar)
        last = None
        for _ in range(rounds if relax_cell else 1):
            if relax_cell:
                lmp.command(f"fix lizrcl_relax all box/relax tri {p_bar!r} vmax {float(vmax)!r} nreset 10")
            try:
                lmp.command("min_style cg")
                self._run(f"minimize {energy_tol!r} {force_tol!r} {int(max_iter)} {5 * int(max_iter)}")
            except Exception as exc:
                raise RunFailed(f"LAMMPS minimize failed ({self.spec.name}): {exc}") from exc
            finally:
                if relax_cell:
                    lmp.command("unfix lizrcl_relax")
            energy = float(lmp.get_thermo("pe"))
            if last is not None and abs(energy - last) < 1e-6 * max(1, self.natoms):
                break
            last = energy
        self._cell = self.get_structure()[0]
        # One clean evaluation so energy/forces/virial all refer to the final structure.
        return self.evaluate()


class EngineCalculator(Calculator):
    """A thin ASE calculator over :class:`LammpsEngine`, for ASE optimisers and basin hopping.

    Every ``calculate`` is one LAMMPS force call, counted in ``engine.force_calls``.
    """

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, spec: PotentialSpec, atoms: Atoms, **kwargs) -> None:
        super().__init__(**kwargs)
        self.engine = LammpsEngine(spec, atoms.get_chemical_symbols(), atoms.cell[:], atoms.positions)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        from ase.geometry.minkowski_reduction import minkowski_reduce

        super().calculate(atoms, properties, system_changes)
        # Same lattice, shortest basis: ASE cell filters can drift to needle-like bases whose
        # 10 Å ghost shells make LAMMPS slow and memory-hungry; the physics is unchanged.
        reduced, _ = minkowski_reduce(self.atoms.cell[:])
        if np.linalg.det(reduced) < 0:
            reduced = -reduced
        cell_low, pos_low, rot = to_lammps_frame(reduced, self.atoms.positions)
        ev = self.engine.evaluate(cell_low, pos_low)
        volume = abs(np.linalg.det(cell_low))
        s = virial_to_stress(ev.virial, volume)
        sigma = np.array([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])
        sigma = rot @ sigma @ rot.T
        self.results = {
            "energy": ev.energy,
            "free_energy": ev.energy,
            "forces": ev.forces @ rot.T,
            "stress": np.array([sigma[0, 0], sigma[1, 1], sigma[2, 2], sigma[1, 2], sigma[0, 2], sigma[0, 1]]),
        }
