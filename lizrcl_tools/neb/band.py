"""Climbing-image nudged elastic band (CI-NEB) between two minima, on any ASE calculator.

Orchestration only: the band's tangent and spring forces come from ASE
(:class:`ase.mep.NEB`, improved tangent of Henkelman & Jónsson, J. Chem. Phys. 113, 9978
(2000); climbing image of Henkelman, Uberuaga & Jónsson, J. Chem. Phys. 113, 9901 (2000)),
the initial path from ASE's image-dependent pair potential (IDPP; Smidstrup et al.,
J. Chem. Phys. 140, 214106 (2014)). What this module adds:

* both endpoints are relaxed first (fixed cell) with the same calculator, so barrier and
  reaction energy refer to minima of the potential that is asked;
* an optional waypoint for the moving atom (the tetrahedral site of an O–T–O hop), used
  to interpolate the two halves of the band separately;
* one calculator shared by all moving images (one LAMMPS instance, one model in memory);
  the relaxed endpoints carry fixed single-point results, so each band iteration costs one
  force call per moving image;
* two stages: a plain band until the forces fall below ``climb_after`` × ``fmax``, then the
  highest image climbs until every image's largest atomic force (perpendicular NEB force, the
  climbing image's inverted parallel force included) is below ``fmax`` (eV/Å).

Units: eV, Å, eV/Å.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError


@dataclass
class NebResult:
    """A converged (or stopped) band.

    Attributes
    ----------
    images : list of ase.Atoms
        Endpoints and moving images, in path order (positions Å).
    energies_eV : ndarray
        Potential energy of every image, eV (absolute, as the potential gives it).
    path_A : ndarray
        Cumulative path length along the band (minimum image, all atoms), Å.
    converged : bool
        True when the band met ``fmax`` within ``max_steps``.
    fmax_eV_A : float
        Force tolerance asked for, eV/Å.
    max_force_eV_A : float
        Largest NEB force on any atom of any moving image at the end, eV/Å.
    steps : int
        Optimiser iterations on the band (both stages).
    force_calls : int
        Force evaluations in all (endpoint relaxations included).
    climbing_image : int
        Index of the climbing image (the highest-energy moving image).
    endpoint_steps : tuple of int
        Optimiser steps used by the two endpoint relaxations.
    seconds : float
        Wall time, s.
    settings : dict
        The settings the band ran with (recorded in the JSON).
    """

    images: list[Atoms]
    energies_eV: np.ndarray
    path_A: np.ndarray
    converged: bool
    fmax_eV_A: float
    max_force_eV_A: float
    steps: int
    force_calls: int
    climbing_image: int
    endpoint_steps: tuple[int, int] = (0, 0)
    seconds: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def barrier_eV(self) -> float:
        """Forward barrier: highest image energy minus the initial state's, eV."""
        return float(np.max(self.energies_eV) - self.energies_eV[0])

    @property
    def reverse_barrier_eV(self) -> float:
        """Backward barrier: highest image energy minus the final state's, eV."""
        return float(np.max(self.energies_eV) - self.energies_eV[-1])

    @property
    def reaction_energy_eV(self) -> float:
        """Final minus initial energy, eV (positive = endothermic)."""
        return float(self.energies_eV[-1] - self.energies_eV[0])


class _CountingCalculator:
    """Counts force calls of a shared ASE calculator while in a ``with`` block."""

    def __init__(self, calc: Any) -> None:
        self.calc = calc
        self.calls = 0
        self._original = None

    def __enter__(self) -> "_CountingCalculator":
        original = self._original = self.calc.calculate

        def calculate(*args: Any, **kwargs: Any) -> None:
            self.calls += 1
            original(*args, **kwargs)

        self.calc.calculate = calculate
        return self

    def __exit__(self, *exc: object) -> None:
        # Remove the instance attribute so the class method is used again.
        del self.calc.calculate


def _frozen(atoms: Atoms, energy: float, forces: np.ndarray) -> Atoms:
    """A copy of ``atoms`` carrying fixed single-point results (no further force calls)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    out = atoms.copy()
    out.calc = SinglePointCalculator(out, energy=float(energy), forces=np.array(forces))
    return out


def relax_fixed_cell(
    atoms: Atoms, calculator: Any, fmax: float, max_steps: int = 300
) -> tuple[Atoms, float, np.ndarray, int, bool]:
    """Relax positions at a fixed cell (ASE BFGS, largest step 0.1 Å).

    Returns
    -------
    (atoms, energy eV, forces eV/Å, steps, converged)
        ``atoms`` is a relaxed copy carrying a single-point calculator.
    """
    from ase.optimize import BFGS

    work = atoms.copy()
    work.calc = calculator
    opt = BFGS(work, maxstep=0.1, logfile=None)
    converged = bool(opt.run(fmax=fmax, steps=max_steps))
    energy = float(work.get_potential_energy())
    forces = np.array(work.get_forces())
    return _frozen(work, energy, forces), energy, forces, int(opt.nsteps), converged


def interpolate_band(
    initial: Atoms,
    final: Atoms,
    n_images: int,
    *,
    method: str = "idpp",
    via: np.ndarray | None = None,
    mover: int | None = None,
) -> list[Atoms]:
    """Initial band of ``n_images`` structures (endpoints included) from ``initial`` to ``final``.

    Parameters
    ----------
    initial, final : ase.Atoms
        Endpoints with the same atoms in the same order and the same cell.
    n_images : int
        Total number of images, ≥ 3.
    method : {"idpp", "linear"}
        Interpolation of the moving images (minimum-image convention).
    via : ndarray (3,), optional
        A waypoint (Cartesian, Å) for atom ``mover``: the band is built as two halves,
        initial → waypoint → final, with the waypoint on the middle image.
    mover : int, optional
        Index of the atom that ``via`` applies to.
    """
    from ase.mep import NEB

    if n_images < 3:
        raise SetupError(f"a band needs at least 3 images (2 endpoints + 1 moving), got {n_images}")
    if len(initial) != len(final) or initial.get_chemical_symbols() != final.get_chemical_symbols():
        raise SetupError("the two endpoints must hold the same atoms in the same order")
    if not np.allclose(initial.cell, final.cell, atol=1e-6):
        raise SetupError("the two endpoints must share one cell (NEB here is at fixed cell)")
    if method not in ("idpp", "linear"):
        raise SetupError(f"interpolation must be 'idpp' or 'linear', not {method!r}")

    def segment(a: Atoms, b: Atoms, n: int) -> list[Atoms]:
        band = [a.copy()] + [a.copy() for _ in range(n - 2)] + [b.copy()]
        if n > 2:
            NEB(band, method="improvedtangent").interpolate(method=method, mic=True)
        return band

    if via is None:
        return segment(initial, final, n_images)
    if mover is None:
        raise SetupError("a waypoint needs the index of the atom it applies to (mover)")
    if n_images < 5:
        raise SetupError("a band through a waypoint needs at least 5 images")
    middle = segment(initial, final, 3)[1]
    middle.positions[mover] = np.asarray(via, float)
    n_first = (n_images + 1) // 2
    first = segment(initial, middle, n_first)
    second = segment(middle, final, n_images - n_first + 1)
    return first + second[1:]


def path_lengths(images: list[Atoms]) -> np.ndarray:
    """Cumulative distance along the band (all atoms, minimum image), Å."""
    from ase.geometry import find_mic

    out = [0.0]
    for a, b in zip(images[:-1], images[1:]):
        d, _ = find_mic(b.positions - a.positions, a.cell, a.pbc)
        out.append(out[-1] + float(np.sqrt((d**2).sum())))
    return np.array(out)


def run_neb(
    initial: Atoms,
    final: Atoms,
    calculator: Any,
    *,
    n_images: int = 7,
    fmax: float = 0.05,
    climb: bool = True,
    climb_after: float = 3.0,
    max_steps: int = 400,
    spring_eV_A2: float = 0.1,
    relax_endpoints: bool = True,
    endpoint_fmax: float | None = None,
    interpolation: str = "idpp",
    via: np.ndarray | None = None,
    mover: int | None = None,
    log: Callable[[str], None] | None = None,
) -> NebResult:
    """Relax both endpoints, interpolate, and converge a (climbing-image) band.

    Parameters
    ----------
    initial, final : ase.Atoms
        Initial and final states (same atoms, same order, same cell).
    calculator : ase.calculators.calculator.Calculator
        Energy and forces; one object shared by every image (and the endpoint relaxations).
    n_images : int
        Total images including the two endpoints.
    fmax : float
        Convergence: largest NEB force on any atom of any moving image, eV/Å.
    climb : bool
        Climbing image in the second stage.
    climb_after : float
        The climbing stage starts once the plain band is below ``climb_after × fmax`` (or
        after half of ``max_steps``).
    max_steps : int
        Optimiser (FIRE) iterations on the band, both stages together.
    spring_eV_A2 : float
        Spring constant between images, eV/Å².
    relax_endpoints : bool
        Relax the endpoints first (default); off when they are minima already.
    endpoint_fmax : float, optional
        Force tolerance of the endpoint relaxations, eV/Å (default: ``min(fmax, 0.05)``).
    interpolation : {"idpp", "linear"}
    via, mover :
        Waypoint of the moving atom (see :func:`interpolate_band`).
    log : callable, optional
        Receives one-line progress messages.

    Returns
    -------
    NebResult
    """
    if fmax <= 0:
        raise SetupError(f"the force tolerance must be positive (eV/Å), got {fmax}")
    say = log or (lambda _msg: None)
    start = time.perf_counter()
    with _CountingCalculator(calculator) as counter:
        result = _run(initial, final, calculator, n_images, fmax, climb, climb_after, max_steps,
                      spring_eV_A2, relax_endpoints, endpoint_fmax, interpolation, via, mover, say)
    result.force_calls = counter.calls
    result.seconds = time.perf_counter() - start
    return result


def _run(initial, final, calculator, n_images, fmax, climb, climb_after, max_steps,  # noqa: ANN001, ANN202
         spring_eV_A2, relax_endpoints, endpoint_fmax, interpolation, via, mover, say):
    from ase.mep import NEB
    from ase.optimize import FIRE

    endpoint_fmax = min(fmax, 0.05) if endpoint_fmax is None else endpoint_fmax
    ends = []
    endpoint_steps = []
    for name, atoms in (("initial", initial), ("final", final)):
        if relax_endpoints:
            relaxed, energy, _, steps, ok = relax_fixed_cell(atoms, calculator, endpoint_fmax)
            say(f"{name} state relaxed: E = {energy:.4f} eV in {steps} steps"
                + ("" if ok else f" (NOT below {endpoint_fmax} eV/Å)"))
        else:
            work = atoms.copy()
            work.calc = calculator
            relaxed, steps = _frozen(work, work.get_potential_energy(), work.get_forces()), 0
        ends.append(relaxed)
        endpoint_steps.append(steps)

    images = interpolate_band(ends[0], ends[1], n_images, method=interpolation, via=via, mover=mover)
    images[0], images[-1] = ends
    for image in images[1:-1]:
        image.calc = calculator
    band = NEB(images, k=spring_eV_A2, climb=False, method="improvedtangent", allow_shared_calculator=True)
    opt = FIRE(band, logfile=None)
    first_target = fmax * climb_after if climb else fmax
    stage1_steps = max_steps // 2 if climb else max_steps
    converged = bool(opt.run(fmax=first_target, steps=stage1_steps))
    steps = int(opt.nsteps)
    say(f"plain band: {steps} steps, {'below' if converged else 'not below'} {first_target:.3g} eV/Å")
    if climb:
        band.climb = True
        opt = FIRE(band, logfile=None)
        converged = bool(opt.run(fmax=fmax, steps=max(1, max_steps - steps)))
        steps += int(opt.nsteps)
        say(f"climbing band: {steps} steps in all, {'converged' if converged else 'NOT converged'}")
    forces = band.get_forces().reshape(n_images - 2, len(initial), 3)
    max_force = float(np.sqrt((forces**2).sum(axis=2)).max())
    energies = np.array(band.energies, float)
    climbing = 1 + int(np.argmax(energies[1:-1]))
    result_images = [im.copy() for im in images]
    settings = {
        "n_images": n_images, "fmax_eV_A": fmax, "climb": climb, "climb_after": climb_after,
        "max_steps": max_steps, "spring_eV_A2": spring_eV_A2, "relax_endpoints": relax_endpoints,
        "endpoint_fmax_eV_A": endpoint_fmax, "interpolation": interpolation,
        "optimizer": "FIRE (band), BFGS (endpoints)", "tangent": "improvedtangent",
        "waypoint": None if via is None else {"atom": mover, "position_A": np.asarray(via).tolist()},
    }
    return NebResult(
        images=result_images, energies_eV=energies, path_A=path_lengths(result_images),
        converged=converged, fmax_eV_A=fmax, max_force_eV_A=max_force, steps=steps,
        force_calls=0, climbing_image=climbing, endpoint_steps=tuple(endpoint_steps),
        settings=settings,
    )
