"""Any :class:`PotentialSpec` as an ASE calculator, computed by LAMMPS itself.

Used to evaluate potentials that exist only as LAMMPS pair styles (the fast tier's
``pair_style pod``) with the same tools as the MACE calculator (:mod:`lizrcl_tools.potential.evaluate`),
and through exactly the pair style that the MD runs use. Each calculation makes a fresh LAMMPS
instance (:func:`~lizrcl_tools.potential.lammps_instance.make_lammps`) and reads energy, forces
and stress back with :func:`~lizrcl_tools.potential.lammps_instance.single_point`, so frames of
different sizes and cells need no bookkeeping; for cheap pair styles the set-up costs
milliseconds.

Units: eV, eV/Å, eV/Å³ (ASE sign: positive = tensile).
"""

from __future__ import annotations

from typing import Any

from ase.calculators.calculator import Calculator, all_changes

from lizrcl_tools.potential.spec import PotentialSpec


class LammpsCalculator(Calculator):
    """ASE calculator for a :class:`PotentialSpec` (energy, forces, stress).

    Parameters
    ----------
    spec : PotentialSpec
        The potential, e.g. :func:`lizrcl_tools.potential.pod.fast_potential`.
    """

    implemented_properties = ("energy", "free_energy", "forces", "stress")

    def __init__(self, spec: PotentialSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        from lizrcl_tools.potential.lammps_instance import make_lammps, single_point

        super().calculate(atoms, properties, system_changes)
        lmp = make_lammps(self.atoms, self.spec)
        try:
            result = single_point(lmp, self.atoms)
        finally:
            lmp.close()
        self.results = {
            "energy": result["energy"],
            "free_energy": result["energy"],
            "forces": result["forces"],
            "stress": result["stress"],
        }
