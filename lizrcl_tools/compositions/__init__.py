"""Compositions and layered variants of (LiCl)1−x(ZrCl4)x: relax, formation energies, hull.

Stage after ``potential/`` (uses the LAMMPS engine of ``ssw`` for relaxations and the
teacher of ``dataset.references`` for single points). Public API::

    run_compositions(outdir, spec, ...)      # the six compounds + references → JSON, table, plot
    run_stacking(outdir, spec, ...)          # layered stacking variants + M-defect → JSON, table, XRD
    formation_energy, lower_hull, above_hull # pure functions (formation.py)
"""

from lizrcl_tools.compositions.formation import above_hull, formation_energy, lower_hull

__all__ = ["above_hull", "formation_energy", "lower_hull", "run_compositions", "run_stacking"]


def __getattr__(name: str):
    if name == "run_compositions":
        from lizrcl_tools.compositions.workflow import run_compositions

        return run_compositions
    if name == "run_stacking":
        from lizrcl_tools.compositions.stacking import run_stacking

        return run_stacking
    raise AttributeError(name)
