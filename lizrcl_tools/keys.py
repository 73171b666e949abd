"""Names of the per-frame labels in training files, kept in one place.

These follow mace-torch's defaults (``mace/tools/default_keys.py``) so a file written by
``lizrcl vasp collect`` trains with ``mace_run_train`` unchanged.

Units: energy eV, forces eV/Å, stress eV/Å³ in ASE's convention (positive = tensile, Voigt
order xx yy zz yz xz xy), which is what ``ase.io.read`` gives for a vasprun.xml.
"""

from __future__ import annotations

REF_ENERGY = "REF_energy"
"""Total energy of the frame, eV (``atoms.info``)."""

REF_FORCES = "REF_forces"
"""Per-atom forces, eV/Å, shape (N, 3) (``atoms.arrays``)."""

REF_STRESS = "REF_stress"
"""Stress, eV/Å³, Voigt 6-vector, ASE sign (``atoms.info``)."""

CONFIG_TYPE = "config_type"
"""Free-text class of the frame (``"md600K"``, ``"ssw"``, ``"vasp"``...) used for per-bin reports."""

SOURCE = "source"
"""Where the frame came from: ``"path/to/vasprun.xml:step"``."""

SOURCE_STEP = "source_step"
"""0-based ionic step index inside :data:`SOURCE`."""

ELEMENTS = ("Li", "Zr", "Cl")
"""The chemical system this toolkit is built for, in the canonical type order Li, Zr, Cl."""

OXIDATION_STATES = {"Li": 1, "Zr": 4, "Cl": -1}
"""Formal charges used for charge-neutrality checks."""
