"""Structural fingerprints used to merge duplicate minima, and the order parameter of the PES map.

Fingerprint
-----------
For every element pair (A, B) a Gaussian-smeared pair-distance histogram up to ``r_max``,
each distance weighted by 1/r² and divided by the number of A and B atoms and the volume per
atom, so it is independent of the supercell chosen (an 8- and a 16-atom rocksalt cell give the
same vector). Two minima are the same when the cosine distance of their fingerprints is below a
tolerance (default 0.01) *and* their energies per atom agree (see
:mod:`lizrcl_tools.ssw.database`).

Distance-weighted Steinhardt order parameter
--------------------------------------------
Structure-level ``Q_l`` over all bonds b = (i, j) with ``r_ij < cutoff_factor · r0_ij``::

    Q_l = sqrt( 4π/(2l+1) Σ_m |Σ_b w_b Y_lm(r̂_b)|² ) / Σ_b w_b
        = sqrt( Σ_b Σ_b' w_b w_b' P_l(r̂_b · r̂_b') ) / Σ_b w_b          (addition theorem)

with ``w_b = exp(−(r_b − r0)² / (2 (δ r0)²))``: bonds near the bond length r0 (sum of ASE
covalent radii of the pair, or a given value) count fully, stretched ones fade. Every bond
is seen from both ends, so only even l are meaningful. Known values for ideal lattices with
equal weights: rocksalt (octahedral) Q4 = 0.7638, Q6 = 0.3536. This is the x axis of the paper's
Fig. S2 (map of SSW minima).
"""

from __future__ import annotations

import warnings
from itertools import combinations_with_replacement

import numpy as np
from ase import Atoms
from ase.data import covalent_radii
from ase.neighborlist import neighbor_list
from scipy.special import eval_legendre

FP_R_MAX_A = 6.0
"""Fingerprint range, Å."""

FP_BIN_A = 0.05
"""Fingerprint grid spacing, Å."""

FP_SIGMA_A = 0.08
"""Gaussian smearing of each distance in the fingerprint, Å."""


def reduced_copy(atoms: Atoms) -> Atoms:
    """Copy on the Minkowski-reduced basis of the same lattice, atoms wrapped into it.

    Skewed bases (from cell relaxations) make neighbour searches slow; the structure and
    every quantity in this module are unchanged by the change of basis.
    """
    from ase.geometry.minkowski_reduction import minkowski_reduce

    out = atoms.copy()
    cell, _ = minkowski_reduce(atoms.cell[:])
    if np.linalg.det(cell) < 0:
        cell = -cell
    out.set_cell(cell, scale_atoms=False)
    out.wrap()
    return out


def fingerprint(atoms: Atoms, r_max: float = FP_R_MAX_A, sigma: float = FP_SIGMA_A) -> np.ndarray:
    """Concatenated per-element-pair smeared distance histograms (see the module docstring).

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure.
    r_max : float
        Largest distance, Å.
    sigma : float
        Gaussian smearing, Å.

    Returns
    -------
    ndarray
        1-D fingerprint; compare with :func:`fingerprint_distance`.
    """
    grid = np.arange(0.5, r_max + 1e-9, FP_BIN_A)
    numbers = atoms.numbers
    elements = sorted(set(numbers))
    i, j, d = neighbor_list("ijd", atoms, r_max + 3 * sigma)
    vol_per_atom = atoms.get_volume() / len(atoms)
    parts = []
    for za, zb in combinations_with_replacement(elements, 2):
        sel = (numbers[i] == za) & (numbers[j] == zb)
        na, nb = np.count_nonzero(numbers == za), np.count_nonzero(numbers == zb)
        dist = d[sel]
        hist = np.exp(-0.5 * ((grid[:, None] - dist[None, :]) / sigma) ** 2) / dist[None, :] ** 2
        parts.append(hist.sum(axis=1) * vol_per_atom / (na * nb / len(atoms)))
    return np.concatenate(parts)


def fingerprint_distance(fp1: np.ndarray, fp2: np.ndarray) -> float:
    """Cosine distance (0 = identical, 1 = orthogonal) of two fingerprints of the same composition."""
    fp1, fp2 = np.asarray(fp1, float), np.asarray(fp2, float)
    if fp1.shape != fp2.shape:
        return 1.0
    norm = np.linalg.norm(fp1) * np.linalg.norm(fp2)
    if norm == 0:
        return 0.0 if not (fp1.any() or fp2.any()) else 1.0
    return float(max(0.0, 1.0 - fp1 @ fp2 / norm))


def weighted_steinhardt(
    atoms: Atoms,
    l: int = 4,  # noqa: E741 - the angular momentum l of Steinhardt's Q_l
    r0: float | None = None,
    delta: float = 0.2,
    cutoff_factor: float = 1.4,
) -> float:
    """Structure-level distance-weighted Steinhardt order parameter Q_l (see module docstring).

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure.
    l : int
        Angular order (4 or 6 usually).
    r0 : float, optional
        Bond length, Å; default per pair: sum of ASE covalent radii.
    delta : float
        Relative width of the distance weight.
    cutoff_factor : float
        Bonds longer than ``cutoff_factor · r0`` are ignored.

    Returns
    -------
    float
        Q_l in [0, 1]; 0 when there are no bonds.
    """
    numbers = atoms.numbers
    rmax_pair = max(covalent_radii[z] for z in set(numbers)) * 2 if r0 is None else r0
    i, j, d, vec = neighbor_list("ijdD", atoms, cutoff_factor * rmax_pair)
    r0_b = covalent_radii[numbers[i]] + covalent_radii[numbers[j]] if r0 is None else np.full(len(d), r0)
    keep = d < cutoff_factor * r0_b
    d, vec, r0_b = d[keep], vec[keep], r0_b[keep]
    if len(d) == 0:
        return 0.0
    w = np.exp(-0.5 * ((d - r0_b) / (delta * r0_b)) ** 2)
    unit = vec / d[:, None]
    total = w @ eval_legendre(l, np.clip(unit @ unit.T, -1.0, 1.0)) @ w
    return float(np.sqrt(max(total, 0.0)) / w.sum())


def spacegroup(atoms: Atoms, symprec: float = 0.1) -> tuple[str, int]:
    """International symbol and number from spglib at ``symprec`` Å; ("P1", 1) if it fails."""
    import spglib

    cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
    with warnings.catch_warnings():
        # spglib 2.5 warns about its old error handling on every call; failure is handled below.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            data = spglib.get_symmetry_dataset(cell, symprec=symprec)
        except Exception:  # spglib.SpglibError in new versions: treat as no symmetry found
            data = None
    if data is None:
        return "P1", 1
    return str(data.international), int(data.number)
