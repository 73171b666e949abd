"""A cheap fixed-charge rigid-ion Li–Zr–Cl potential for tests, demos and benchmarks.

Functional form (Born–Mayer–Huggins, "Fumi–Tosi") plus damped-shifted-force Coulomb, as the
LAMMPS pair style ``born/coul/dsf`` evaluates it::

    E_ij(r) = A_ij exp((sigma_ij - r) / rho) - C_ij / r**6 + D_ij / r**8 + q_i q_j E_DSF(r)

with formal charges Li +1, Zr +4, Cl −1 (:data:`lizrcl_tools.keys.OXIDATION_STATES`) and no
k-space sum: the Fennell–Gezelter damped shifted force (DSF) Coulomb term (J. Chem. Phys. 124,
234104 (2006); alpha = 0.2 Å⁻¹, cutoff 10 Å, their recommended values) keeps energies and
forces continuous at the cutoff, so NVE runs conserve energy.

Where the numbers come from
---------------------------
Starting point: the Tosi–Fumi parameters for LiCl (M. P. Tosi and F. G. Fumi, J. Phys. Chem.
Solids 25, 45 (1964)): b = 0.338e-19 J, rho = 0.342 Å, radii sigma_Li = 0.816 Å and
sigma_Cl = 1.585 Å, Pauling factors c_ij = 1 + z_i/n_i + z_j/n_j (n = 2 for Li+, 8 for Cl−,
and 8 for Zr4+ taken as Kr-like), A_ij = c_ij b, sigma_ij = sigma_i + sigma_j; Mayer's
dispersion C and D (J. Chem. Phys. 1, 270 (1933)) as tabulated by Tosi and Fumi. Pairs with
Zr have no dispersion.

Then set by hand (no published rigid-ion set for Zr4+ in chlorides was at hand), by relaxing
cells with this module in LAMMPS:

* With the unmodified LiCl set, trigonal Li2ZrCl6 (``build("li2zrcl6-p3m1")``) is not the
  lowest-enthalpy arrangement: NPT at 300 K swells it by ~40 % into a phase with 3-coordinated
  Li (Ewald sums give the same ordering, so it is the rigid-ion model, not DSF).
* A harder repulsion (rho = 0.30 Å), sigma_Li = 0.84 Å, sigma_Zr = 1.40 Å and C(Cl–Cl) × 1.5
  fix that: relaxed Li2ZrCl6 keeps octahedral Li and Zr with a = 11.1 Å, c = 5.84 Å
  (experiment 10.95 Å, 5.93 Å) and Zr–Cl = 2.48 Å, 1 eV per 27-atom cell below the swollen
  phase; rocksalt LiCl relaxes to a = 5.09 Å (experiment 5.13 Å) and lies 46 meV/atom below
  wurtzite (with the unmodified set wurtzite wins, see :mod:`lizrcl_tools.ssw.toy`).

This is a test potential, not a physical model of Li2ZrCl6: use it to exercise the MD and
analysis machinery, never for numbers to publish.

Units: eV, Å, e (LAMMPS ``units metal``).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations_with_replacement

from ase.units import J, m

from lizrcl_tools.keys import ELEMENTS, OXIDATION_STATES
from lizrcl_tools.potential import PotentialSpec
from lizrcl_tools.potential.dispersion import overlay_dispersion

NAME = "bmh-dsf"
"""Name recorded in run metadata."""

_B_EV = 0.338e-19 * J
"""Tosi–Fumi Born–Mayer prefactor b (0.338e-19 J), in eV."""

RHO_A = 0.30
"""Born–Mayer hardness rho, Å (Tosi–Fumi 0.342 Å, hardened; module docstring)."""

SIGMA_A = {"Li": 0.84, "Cl": 1.585, "Zr": 1.40}
"""Ionic radii, Å: Cl from Tosi–Fumi, Li (Tosi–Fumi 0.816 Å) and Zr set by hand (module docstring)."""

SHELL_ELECTRONS = {"Li": 2, "Cl": 8, "Zr": 8}
"""Outer-shell electron counts n_i used in the Pauling factors."""

# Mayer's dispersion coefficients for LiCl, in units of 1e-79 J m^6 (C) and 1e-99 J m^8 (D);
# C(Cl-Cl) x 1.5 (module docstring).
_C_1E79 = {("Li", "Li"): 0.073, ("Li", "Cl"): 2.0, ("Cl", "Cl"): 1.5 * 111.0}
_D_1E99 = {("Li", "Li"): 0.03, ("Li", "Cl"): 2.4, ("Cl", "Cl"): 223.0}

DSF_ALPHA_PER_A = 0.2
"""DSF damping parameter, Å⁻¹."""

CUTOFF_A = 10.0
"""Cutoff of both the Born–Mayer and the Coulomb terms, Å."""


def pair_parameters(a: str, b: str) -> dict[str, float]:
    """Born–Mayer–Huggins parameters of one element pair in LAMMPS ``born`` form.

    Parameters
    ----------
    a, b : str
        Element symbols (Li, Zr or Cl).

    Returns
    -------
    dict
        ``A_eV`` (eV), ``rho_A`` (Å), ``sigma_A`` (Å), ``C_eV_A6`` (eV Å⁶), ``D_eV_A8`` (eV Å⁸),
        with LAMMPS's sign convention E = A exp((sigma − r)/rho) − C/r⁶ + D/r⁸.
    """
    for s in (a, b):
        if s not in SIGMA_A:
            raise ValueError(f"no classical parameters for element {s!r} (known: Li, Zr, Cl)")
    z_a, z_b = OXIDATION_STATES[a], OXIDATION_STATES[b]
    pauling = 1.0 + z_a / SHELL_ELECTRONS[a] + z_b / SHELL_ELECTRONS[b]
    key = (a, b) if (a, b) in _C_1E79 else (b, a)
    c_si = _C_1E79.get(key, 0.0) * 1e-79 * J * m**6  # J m^6 -> eV Å^6
    d_si = _D_1E99.get(key, 0.0) * 1e-99 * J * m**8
    return {
        "A_eV": pauling * _B_EV,
        "rho_A": RHO_A,
        "sigma_A": SIGMA_A[a] + SIGMA_A[b],
        "C_eV_A6": c_si,
        # Tosi–Fumi dispersion is attractive in both terms; LAMMPS adds +D/r^8.
        "D_eV_A8": -d_si if d_si else 0.0,
    }


def classical_potential(
    elements: Sequence[str] = ELEMENTS,
    alpha_per_A: float = DSF_ALPHA_PER_A,
    cutoff_A: float = CUTOFF_A,
    charge_scale: float = 1.0,
    dispersion=None,
) -> PotentialSpec:
    """Return the rigid-ion Li/Zr/Cl potential as a :class:`PotentialSpec` (``atom_style charge``).

    Parameters
    ----------
    elements : sequence of str
        Element of each LAMMPS type, in type order (default Li, Zr, Cl). Every element must be
        one of Li, Zr, Cl.
    alpha_per_A : float
        DSF damping parameter, Å⁻¹.
    cutoff_A : float
        Cutoff of the short-range and Coulomb terms, Å.
    charge_scale : float
        Factor on the formal charges (the parameters were set for 1).
    dispersion : D3, str or None
        Grimme D3 overlaid on top (:func:`lizrcl_tools.potential.dispersion.overlay_dispersion`).
        The model already has Mayer C6/C8 terms, so this double-counts: for pipeline tests only.

    Returns
    -------
    PotentialSpec
        ``pair_style born/coul/dsf`` with one ``pair_coeff`` line per type pair and formal
        charges per element.

    Examples
    --------
    >>> spec = classical_potential()
    >>> spec.commands[0]
    'pair_style born/coul/dsf 0.2 10.0'
    """
    elements = tuple(elements)
    lines = [f"pair_style born/coul/dsf {alpha_per_A} {cutoff_A}"]
    for i, j in combinations_with_replacement(range(len(elements)), 2):
        p = pair_parameters(elements[i], elements[j])
        lines.append(
            f"pair_coeff {i + 1} {j + 1} {p['A_eV']:.8g} {p['rho_A']:.8g} {p['sigma_A']:.8g} "
            f"{p['C_eV_A6']:.8g} {p['D_eV_A8']:.8g}"
        )
    # Shift the short-range energy to zero at the cutoff so E is continuous (NVE checks).
    lines.append("pair_modify shift yes")
    spec = PotentialSpec(
        name=NAME,
        elements=elements,
        commands=tuple(lines),
        atom_style="charge",
        charges={s: charge_scale * float(OXIDATION_STATES[s]) for s in elements},
        newton="on",
        metadata={
            "charge_scale": charge_scale,
            "form": "Born-Mayer-Huggins (Tosi-Fumi) + DSF Coulomb, formal charges",
            "dsf_alpha_per_A": alpha_per_A,
            "cutoff_A": cutoff_A,
            "references": "Tosi & Fumi, J. Phys. Chem. Solids 25, 45 (1964); "
            "Fennell & Gezelter, J. Chem. Phys. 124, 234104 (2006); rho, Li/Zr radii, C(Cl-Cl) set by hand",
        },
    )
    return overlay_dispersion(spec, dispersion)
