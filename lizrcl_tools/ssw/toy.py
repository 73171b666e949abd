"""A cheap LiCl potential whose ground state is rocksalt, for SSW tests and benchmarks.

Why not :func:`lizrcl_tools.potential.classical.classical_potential` directly: with the
Tosi–Fumi Li radius (0.816 Å) its rigid-ion LiCl relaxes to wurtzite 10 meV/atom *below*
rocksalt (checked with this package's engine), so "recover rocksalt" would be the wrong test.
Here the Li+ Born–Mayer radius is enlarged to 1.2 Å and dispersion dropped, which by the
radius-ratio rule makes octahedral coordination win. Relaxed at zero pressure (eV/atom):
rocksalt −3.844 (a = 5.81 Å), wurtzite −3.818, zincblende −3.814, CsCl −3.675.

Form: ``E = A exp((σ − r)/ρ) + q_i q_j E_DSF(r)`` (LAMMPS ``born/coul/dsf``, α = 0.2 Å⁻¹,
cutoff 10 Å), b = 0.338e-19 J and ρ = 0.342 Å from Tosi & Fumi, J. Phys. Chem. Solids 25, 45
(1964), Pauling factors 1.25 (Li–Li), 1 (Li–Cl), 0.75 (Cl–Cl), charges ±1 e. A toy: never use
its numbers as physics.
"""

from __future__ import annotations

from ase.units import J

from lizrcl_tools.potential import PotentialSpec

SIGMA_A = {"Li": 1.2, "Cl": 1.585}
"""Born–Mayer radii, Å (Li enlarged, see the module docstring)."""

ROCKSALT_A = 5.81
"""Relaxed rocksalt lattice constant of this toy, Å (zero pressure)."""


def toy_licl_potential() -> PotentialSpec:
    """Return the toy rocksalt-favouring LiCl potential as a :class:`PotentialSpec`."""
    b_ev = 0.338e-19 * J
    pauling = {("Li", "Li"): 1.25, ("Li", "Cl"): 1.0, ("Cl", "Cl"): 0.75}
    index = {"Li": 1, "Cl": 2}
    lines = ["pair_style born/coul/dsf 0.2 10.0"]
    for (a, c), factor in pauling.items():
        lines.append(
            f"pair_coeff {index[a]} {index[c]} {factor * b_ev:.8g} 0.342 {SIGMA_A[a] + SIGMA_A[c]:.8g} 0 0"
        )
    lines.append("pair_modify shift yes")
    return PotentialSpec(
        name="toy-licl-bm-dsf",
        elements=("Li", "Cl"),
        commands=tuple(lines),
        atom_style="charge",
        charges={"Li": 1.0, "Cl": -1.0},
        newton="on",
        metadata={"note": "toy LiCl for SSW tests; rocksalt ground state, a = 5.81 Å"},
    )
