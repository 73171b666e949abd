"""lizrcl_tools: open SSW-NN workflow for Li–Zr–Cl solid electrolytes.

Stages (one module each): structure building (:mod:`lizrcl_tools.build`), VASP inputs
(:mod:`lizrcl_tools.vasp_inputs`), training-data collection (:mod:`lizrcl_tools.collect`,
:mod:`lizrcl_tools.lasp`), the MACE potential and its LAMMPS pair style, MD, MSD → D, Ea, σ
analysis, and stochastic surface walking.

Units everywhere: energies eV, lengths Å, forces eV/Å, stress eV/Å³ (ASE sign), time fs or ps
(named in the field), temperature K, diffusivity cm²/s, conductivity mS/cm.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
