"""Generalised coordinates of a periodic cell and the Gaussian bias potentials of SSW.

Coordinates
-----------
One SSW step walks away from a minimum with cell ``h0`` (rows = lattice vectors, Å, LAMMPS
lower-triangular frame). A structure ``(h, r)`` with fractional coordinates ``s = r h⁻¹`` is
measured from a centre ``(h_c, r_c)`` by the dimensionless displacement ::

    Δ = ( wrap(s − s_c) h0 / ds_atom ,  lowtri(h0⁻¹ (h − h_c)) / ds_cell )

``wrap`` takes the minimum image of each fractional difference; ``lowtri`` keeps the six
lower-triangular components (xx, yy, zz, yx, zx, zy): the strain freedoms of a LAMMPS cell.
The atom part is in units of ``ds_atom`` (Å) and the cell part in units of ``ds_cell``
(dimensionless strain), so one Gaussian of unit width in Δ has width ``ds_atom`` along atomic
directions and ``ds_cell`` along strain directions. With a fixed cell the cell part is absent.

Gaussian bias (Shang & Liu, JCTC 9, 1838 (2013), Eq. 2)
-------------------------------------------------------
``v(h, r) = w exp(−g² / 2)``, ``g = Δ(h, r; centre) · N`` with ``N`` a unit vector in Δ space.
With ``G = g v`` (= −∂v/∂g):

* atomic forces at fixed cell:  ``f = G (N_atom / ds_atom) h0ᵀ h⁻ᵀ``  (eV/Å);
* virial at fixed fractional coordinates, ``W = −∂v/∂ε`` for the strain ``h → h (1 + ε)``:
  ``W = G lowtri(hᵀ h0⁻ᵀ L(N_cell)) / ds_cell`` (eV), where ``L`` rebuilds the lower-triangular
  matrix. LAMMPS reads it as (xx, yy, zz, xy, xz, yz) with the xy tilt driven by the
  (y, x) entry of our row convention.

The same maps turn the true forces and virial into the generalised force ``−∂E/∂Δ`` used by the
dimer and by the choice of Gaussian heights (:meth:`Coordinates.generalized_force`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_LOW = ((0, 0), (1, 1), (2, 2), (1, 0), (2, 0), (2, 1))
"""Lower-triangular components, in LAMMPS virial order xx yy zz xy xz yz."""


def lowtri(m: np.ndarray) -> np.ndarray:
    """The six lower-triangular entries of a 3×3 matrix, order xx yy zz yx zx zy."""
    return np.array([m[i, j] for i, j in _LOW])


def from_lowtri(v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`lowtri`: a lower-triangular 3×3 matrix."""
    m = np.zeros((3, 3))
    for k, (i, j) in enumerate(_LOW):
        m[i, j] = v[k]
    return m


def voigt_virial_matrix(virial: np.ndarray) -> np.ndarray:
    """Symmetric 3×3 virial from LAMMPS order (xx yy zz xy xz yz), eV."""
    w = np.asarray(virial, dtype=float)
    return np.array([[w[0], w[3], w[4]], [w[3], w[1], w[5]], [w[4], w[5], w[2]]])


@dataclass(frozen=True)
class Coordinates:
    """Generalised (dimensionless) coordinates of one SSW step; see the module docstring.

    Parameters
    ----------
    h0 : ndarray (3, 3)
        Reference cell, Å (lower-triangular).
    ds_atom : float
        Length that one unit of Δ means along atomic directions, Å.
    ds_cell : float
        Strain that one unit of Δ means along cell directions (dimensionless).
    relax_cell : bool
        Whether the cell part exists (variable-cell walk).
    """

    h0: np.ndarray
    ds_atom: float
    ds_cell: float
    relax_cell: bool

    def size(self, natoms: int) -> int:
        """Length of a Δ vector for ``natoms`` atoms."""
        return 3 * natoms + (6 if self.relax_cell else 0)

    def split(self, vec: np.ndarray, natoms: int) -> tuple[np.ndarray, np.ndarray]:
        """(atom part (N, 3), cell part (6,) — zeros for a fixed cell)."""
        atoms = np.asarray(vec[: 3 * natoms]).reshape(natoms, 3)
        cell = np.asarray(vec[3 * natoms :]) if self.relax_cell else np.zeros(6)
        return atoms, cell

    def join(self, atoms: np.ndarray, cell: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`split`."""
        parts = [np.asarray(atoms, dtype=float).ravel()]
        if self.relax_cell:
            parts.append(np.asarray(cell, dtype=float))
        return np.concatenate(parts)

    def displacement(self, h, pos, h_c, pos_c) -> np.ndarray:
        """Δ of ``(h, pos)`` from the centre ``(h_c, pos_c)`` (dimensionless)."""
        ds = np.linalg.solve(h.T, np.asarray(pos).T).T - np.linalg.solve(h_c.T, np.asarray(pos_c).T).T
        ds -= np.round(ds)
        atoms = ds @ self.h0 / self.ds_atom
        cell = lowtri(np.linalg.solve(self.h0, h - h_c)) / self.ds_cell
        return self.join(atoms, cell)

    def step(self, h, pos, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Move ``(h, pos)`` by ``delta`` in Δ space; returns the new (cell, positions)."""
        natoms = len(pos)
        d_atoms, d_cell = self.split(delta, natoms)
        s = np.linalg.solve(h.T, np.asarray(pos).T).T
        s_new = s + d_atoms * self.ds_atom @ np.linalg.inv(self.h0)
        h_new = h + self.ds_cell * self.h0 @ from_lowtri(d_cell)
        return h_new, s_new @ h_new

    def generalized_force(self, h, forces: np.ndarray, virial: np.ndarray) -> np.ndarray:
        """−∂E/∂Δ from Cartesian forces (eV/Å) and the symmetric virial (eV, LAMMPS order).

        Returns eV per unit of Δ.
        """
        f_atoms = self.ds_atom * np.asarray(forces) @ h.T @ np.linalg.inv(self.h0).T
        f_cell = self.ds_cell * lowtri(self.h0.T @ np.linalg.inv(h).T @ voigt_virial_matrix(virial))
        return self.join(f_atoms, f_cell)

    def to_dict(self) -> dict:
        """JSON-ready form (checkpoints)."""
        return {"h0": self.h0.tolist(), "ds_atom": self.ds_atom, "ds_cell": self.ds_cell, "relax_cell": self.relax_cell}

    @classmethod
    def from_dict(cls, d: dict) -> "Coordinates":
        """Inverse of :meth:`to_dict`."""
        return cls(np.array(d["h0"], dtype=float), float(d["ds_atom"]), float(d["ds_cell"]), bool(d["relax_cell"]))


@dataclass(frozen=True)
class Gaussian:
    """One bias Gaussian ``w exp(−((Δ − 0)·N)²/2)`` centred at ``(h_c, pos_c)``.

    Attributes
    ----------
    h_c, pos_c : ndarray
        Centre cell (Å) and positions (Å).
    direction : ndarray
        Unit vector N in Δ space.
    height : float
        w, eV.
    """

    h_c: np.ndarray
    pos_c: np.ndarray
    direction: np.ndarray
    height: float


@dataclass
class BiasPotential:
    """A sum of :class:`Gaussian` terms on one set of :class:`Coordinates`.

    Calling it as ``bias(h, pos)`` gives ``(energy eV, forces eV/Å (N, 3), virial eV (6,))``,
    the form :meth:`lizrcl_tools.potential.lammps_engine.LammpsEngine.set_bias` expects.
    """

    coords: Coordinates
    gaussians: list[Gaussian] = field(default_factory=list)

    def add(self, gaussian: Gaussian) -> None:
        """Append one Gaussian."""
        self.gaussians.append(gaussian)

    def _terms(self, h, pos):
        for gau in self.gaussians:
            g = float(self.coords.displacement(h, pos, gau.h_c, gau.pos_c) @ gau.direction)
            v = gau.height * np.exp(-0.5 * g * g)
            yield gau, g, v

    def energy(self, h, pos) -> float:
        """Bias energy, eV."""
        return float(sum(v for _, _, v in self._terms(h, pos)))

    def generalized_force(self, h, pos) -> np.ndarray:
        """−∂V_bias/∂Δ, eV per unit of Δ."""
        out = np.zeros(self.coords.size(len(pos)))
        for gau, g, v in self._terms(h, pos):
            out += g * v * gau.direction
        return out

    def __call__(self, h, pos) -> tuple[float, np.ndarray, np.ndarray]:
        natoms = len(pos)
        c = self.coords
        energy = 0.0
        forces = np.zeros((natoms, 3))
        virial = np.zeros(6)
        if not self.gaussians:
            return energy, forces, virial
        to_cart = c.h0.T @ np.linalg.inv(h).T / c.ds_atom
        for gau, g, v in self._terms(h, pos):
            energy += v
            n_atoms, n_cell = c.split(gau.direction, natoms)
            forces += g * v * (n_atoms @ to_cart)
            if c.relax_cell:
                virial += g * v * lowtri(h.T @ np.linalg.inv(c.h0).T @ from_lowtri(n_cell)) / c.ds_cell
        return float(energy), forces, virial
