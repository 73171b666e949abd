"""Climbing-image nudged elastic band for Li hops, and the study's seven migration paths.

Modules
-------
band         CI-NEB orchestration over ASE (relaxed endpoints, IDPP, waypoints): ``run_neb``
study_paths  the study's seven hops in layered Li2ZrCl6 (Note S1): ``build_study_paths``
workflow     NEB through the LAMMPS engine: ``run_hop``, ``neb_between_files``, ``run_study_paths``
report       JSON record, energy-profile plot, band file, VASP NEB inputs, comparison table
teacher      the teacher's energies at the model's images (``teacher_profile``)

VASP NEB inputs themselves are written by :mod:`lizrcl_tools.vasp.neb_folders`.
"""

from lizrcl_tools.neb.band import NebResult, interpolate_band, run_neb

__all__ = ["NebResult", "interpolate_band", "run_neb"]
