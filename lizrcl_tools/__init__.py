"""lizrcl_tools: open SSW-NN workflow for Li–Zr–Cl solid electrolytes.

The stages, in the order data flows through them (each a subpackage):

========================  =====================================================================
``structures``            named cells, supercells, (LiCl)1−x(ZrCl4)x mixing, checks
``vasp``                  presets → input folders; vasprun.xml/OUTCAR → ``REF_*`` frames
``dataset``               teachers, labelling, the study's LASP set, statistics
``potential``             potential specs, classical test potentials, MACE train/evaluate/export
``md``, ``ssw``           LAMMPS molecular dynamics; stochastic surface walking
``analysis``              MSD → D, σ(T), Arrhenius Ea (never imports torch, mace or lammps)
========================  =====================================================================

The main functions are importable from the top level (lazily, so ``import lizrcl_tools`` stays
light): ``mix``, ``make_supercell``, ``write_vasp_inputs``,
``label_frames``, ``import_lasp``, ``train``, ``evaluate_file``, ``export_model``, ``run_md``,
``run_conductivity``, ``analyze_runs``, ``SSWWalker``.

Units everywhere: energies eV, lengths Å, forces eV/Å, stress eV/Å³ (ASE sign), time fs or ps
(named in the field), temperature K, diffusivity cm²/s, conductivity mS/cm.
"""

from __future__ import annotations

from lizrcl_tools import _legacy
from lizrcl_tools._lazy import lazy_exports

__version__ = "0.1.0"

#: public name → module that defines it
_EXPORTS = {
    "mix": "lizrcl_tools.structures",
    "make_supercell": "lizrcl_tools.structures",
    "write_vasp_inputs": "lizrcl_tools.vasp.folders",
    "label_frames": "lizrcl_tools.dataset.labelling",
    "import_lasp": "lizrcl_tools.dataset.lasp",
    "train": "lizrcl_tools.potential.train",
    "evaluate_file": "lizrcl_tools.potential.evaluate",
    "export_model": "lizrcl_tools.potential.export",
    "run_md": "lizrcl_tools.md.runner",
    "run_conductivity": "lizrcl_tools.md.workflow",
    "analyze_runs": "lizrcl_tools.analysis.pipeline",
    "SSWWalker": "lizrcl_tools.ssw.walker",
}

__all__ = ["__version__", *sorted(_EXPORTS)]

# `lizrcl_tools.build` and `lizrcl_tools.collect` are not exported as functions here: those
# names are the old module paths that _legacy keeps importable.
_legacy.install()

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
