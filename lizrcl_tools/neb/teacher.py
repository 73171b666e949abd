"""The teacher's energies at the model's band: is a barrier off because of the model?

The shipped MACE model was distilled from SevenNet-0 (PBE, no dispersion) and runs with D3
added at run time. At every image of a finished band this evaluates

* the teacher (``lizrcl_tools.dataset.references``, default ``sevennet``), and
* the bare model (same MACE, no D3) in LAMMPS, so that the D3 part of the model's profile,
  (model + D3) − (bare model), can be added to the teacher's profile.

The teacher's profile at the model's images is not the teacher's own minimum energy path:
its endpoints are the model's minima, not the teacher's, and its saddle may lie elsewhere.
A teacher barrier close to the model's says the model reproduces its teacher on this path
(a difference from the study is then teacher/PBE vs the study's DFT, or a different path); a
large difference says the model is off here. Units: eV.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from ase import Atoms


def teacher_energies(images: Sequence[Atoms], reference: str = "sevennet") -> tuple[np.ndarray, str]:
    """Energies (eV) of ``images`` with the named reference, and its provenance string."""
    from lizrcl_tools.dataset.references import get_reference

    ref = get_reference(reference)
    energies = []
    for image in images:
        atoms = image.copy()
        atoms.calc = ref.calculator
        energies.append(float(atoms.get_potential_energy()))
    return np.array(energies), f"{ref.name}: {ref.version}"


def model_energies(images: Sequence[Atoms], spec: Any) -> np.ndarray:
    """Energies (eV) of ``images`` with a LAMMPS potential (one instance for the band)."""
    from lizrcl_tools.neb.workflow import engine_calculator

    calc = engine_calculator(spec, images[0])
    try:
        out = []
        for image in images:
            atoms = image.copy()
            atoms.calc = calc
            out.append(float(atoms.get_potential_energy()))
        return np.array(out)
    finally:
        calc.engine.close()


def _profile(energies: np.ndarray) -> dict[str, Any]:
    rel = energies - energies[0]
    return {"relative_energies_eV": rel.tolist(), "barrier_eV": float(rel.max()),
            "reaction_energy_eV": float(rel[-1])}


def teacher_profile(
    images: Sequence[Atoms],
    model_energies_eV: Sequence[float],
    bare_spec: Any | None = None,
    reference: str = "sevennet",
) -> dict[str, Any]:
    """Teacher and (optionally) bare-model profiles at the model's images.

    Parameters
    ----------
    images : sequence of ase.Atoms
        The model's band, endpoints included.
    model_energies_eV : sequence of float
        The model's energies at those images (with whatever dispersion it ran with), eV.
    bare_spec : PotentialSpec, optional
        The model without dispersion; given, the D3 part of the model's profile is added to
        the teacher's (``with_model_d3``).
    reference : str
        Teacher name for :func:`lizrcl_tools.dataset.references.get_reference`.

    Returns
    -------
    dict
        ``reference``, teacher ``barrier_eV`` / ``reaction_energy_eV`` /
        ``relative_energies_eV`` (max over the images minus the first image), and with
        ``bare_spec``: ``bare_model`` (same keys) and ``with_model_d3`` (teacher + D3 part).
    """
    e_teacher, provenance = teacher_energies(images, reference)
    out: dict[str, Any] = {"reference": provenance, **_profile(e_teacher),
                           "note": "teacher at the model's images (model endpoints), not the teacher's own path"}
    if bare_spec is not None:
        e_bare = model_energies(images, bare_spec)
        d3 = np.asarray(model_energies_eV, float) - e_bare
        out["bare_model"] = {"potential": getattr(bare_spec, "name", str(bare_spec)), **_profile(e_bare)}
        out["with_model_d3"] = _profile(e_teacher + d3)
    return out
