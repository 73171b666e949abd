"""Biased-dimer softening of the SSW walking direction (Shang & Liu, JCTC 8, 2215 (2012)).

At a point X (generalised coordinates, :mod:`lizrcl_tools.ssw.bias`) with generalised force
F(X) = −∂E/∂X, a dimer of half-length δ along the unit vector N gives the Hessian–vector product
``H N ≈ (F(X) − F(X + δN)) / δ`` and the curvature ``C(N) = N·H N``. Rotating N lowers C and so
turns the direction towards a soft mode, the likely route to a neighbouring basin. To stop N
collapsing onto one floppy mode, the rotation minimises the *biased* curvature ::

    C_b(N) = N·H N − a (N·N0)²

with N0 the initial random direction. Each rotation costs two force calls: one dimer image
along N, one along the rotation direction Θ (the normalised negative gradient of C_b on the
unit sphere). In the plane (N, Θ) the quadratic model is then exact, and the best angle is
found on a fine grid. Net translation is projected out of every new direction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

GForce = Callable[[np.ndarray], np.ndarray]
"""``gforce(delta) -> −∂E/∂X`` at the point displaced by ``delta`` from the dimer centre."""


@dataclass(frozen=True)
class DimerResult:
    """Softened direction and what it cost.

    Attributes
    ----------
    direction : ndarray
        Unit vector N after rotation.
    curvature : float
        Unbiased curvature N·H N at the end, eV per Δ² (from the last model).
    force_calls : int
        Force evaluations used.
    """

    direction: np.ndarray
    curvature: float
    force_calls: int


def remove_translation(vec: np.ndarray, natoms: int) -> np.ndarray:
    """Subtract the mean atomic displacement (rigid translation) from a Δ vector."""
    out = np.array(vec, dtype=float)
    atoms = out[: 3 * natoms].reshape(natoms, 3)
    atoms -= atoms.mean(axis=0)
    return out


def soften_direction(
    gforce: GForce,
    f_center: np.ndarray,
    direction: np.ndarray,
    direction0: np.ndarray,
    natoms: int,
    *,
    delta: float = 0.01,
    rotations: int = 2,
    bias_strength: float = 0.5,
    min_gradient: float = 1e-3,
) -> DimerResult:
    """Rotate ``direction`` towards low (biased) curvature with a forward-difference dimer.

    Parameters
    ----------
    gforce : callable
        Generalised force at a displacement from the centre (eV per Δ unit).
    f_center : ndarray
        Generalised force at the centre (already known, no call spent).
    direction, direction0 : ndarray
        Current and initial unit directions N and N0.
    natoms : int
        Number of atoms (for removing translation).
    delta : float
        Dimer displacement in Δ units (×ds_atom Å along atoms).
    rotations : int
        Number of rotations.
    bias_strength : float
        a in −a (N·N0)², eV per Δ².
    min_gradient : float
        Stop rotating once the rotational gradient is smaller than this.

    Returns
    -------
    DimerResult
    """
    n = direction / np.linalg.norm(direction)
    calls = 0
    curvature = float("nan")
    for _ in range(rotations):
        hn = (f_center - gforce(delta * n)) / delta
        calls += 1
        c_n = float(n @ hn)
        curvature = c_n
        proj = float(n @ direction0)
        grad = 2.0 * (hn - c_n * n) - 2.0 * bias_strength * proj * (direction0 - proj * n)
        grad = remove_translation(grad, natoms)
        grad -= (grad @ n) * n
        gnorm = float(np.linalg.norm(grad))
        if gnorm < min_gradient:
            break
        theta = -grad / gnorm
        h_theta = (f_center - gforce(delta * theta)) / delta
        calls += 1
        c_t = float(theta @ h_theta)
        c_nt = 0.5 * float(theta @ hn + n @ h_theta)
        phi = np.linspace(-0.5 * np.pi, 0.5 * np.pi, 721)
        cos, sin = np.cos(phi), np.sin(phi)
        model = c_n * cos**2 + 2 * c_nt * sin * cos + c_t * sin**2
        model -= bias_strength * (cos * proj + sin * float(theta @ direction0)) ** 2
        k = int(np.argmin(model))
        n = remove_translation(cos[k] * n + sin[k] * theta, natoms)
        n /= np.linalg.norm(n)
        curvature = float(c_n * cos[k] ** 2 + 2 * c_nt * sin[k] * cos[k] + c_t * sin[k] ** 2)
    return DimerResult(n, curvature, calls)
