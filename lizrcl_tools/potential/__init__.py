"""Potential stage: how an interatomic potential is described, trained, checked and run.

- :mod:`lizrcl_tools.potential.spec`: :class:`PotentialSpec`, the LAMMPS commands of one
  potential, shared by MD, SSW and NEB.
- :mod:`lizrcl_tools.potential.classical`: rigid-ion test potentials (seconds-scale MD).
- :mod:`lizrcl_tools.potential.mace_plugin`: the MACE model in the ``mace/lizrcl`` pair style.
- :mod:`lizrcl_tools.potential.train`, :mod:`~lizrcl_tools.potential.evaluate`,
  :mod:`~lizrcl_tools.potential.export`, :mod:`~lizrcl_tools.potential.plugin_build`: mace-torch
  training, error reports, TorchScript export and the C++ plugin build.
- :mod:`lizrcl_tools.potential.lammps_engine`: one long-lived LAMMPS instance that evaluates
  (counted force calls, hard budget), minimises and adds a Python bias: SSW, NEB and the
  compositions' relaxations run on it.
"""

from __future__ import annotations

from lizrcl_tools._lazy import lazy_exports

from lizrcl_tools.potential.spec import PotentialSpec, type_order

_EXPORTS = {
    "classical_potential": "lizrcl_tools.potential.classical",
    "mace_potential": "lizrcl_tools.potential.mace_plugin",
    "train": "lizrcl_tools.potential.train",
    "evaluate_file": "lizrcl_tools.potential.evaluate",
    "export_model": "lizrcl_tools.potential.export",
    "build_plugin": "lizrcl_tools.potential.plugin_build",
}

__all__ = ["PotentialSpec", "type_order", *sorted(_EXPORTS)]

# Lazy: training and the plugin import torch and mace.
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
