"""Molecular dynamics in LAMMPS for any :class:`~lizrcl_tools.potential.PotentialSpec`.

Modules: :mod:`~lizrcl_tools.md.protocols` (run settings), :mod:`~lizrcl_tools.md.inputs`
(LAMMPS input text), :mod:`~lizrcl_tools.md.runner` (chunked, restartable NPT → NVT runs),
:mod:`~lizrcl_tools.md.dump` (dump trimming/reading), :mod:`~lizrcl_tools.md.static`
(single points, relaxations), :mod:`~lizrcl_tools.md.setup` (potential and cell choice).

Example
-------
>>> from ase.build import bulk
>>> from lizrcl_tools.md import get_protocol, run_md
>>> from lizrcl_tools.potential.classical import classical_potential
>>> atoms = bulk("LiCl", "rocksalt", a=5.13, cubic=True).repeat(2)
>>> p = get_protocol("quick").with_overrides(npt_ps=0.2, nvt_ps=0.2, barostat="iso")
>>> record = run_md(atoms, classical_potential(), 600, "runs/T600", p)  # doctest: +SKIP
"""

from __future__ import annotations

from lizrcl_tools._lazy import lazy_exports

# Lazy exports: the analysis stage imports lizrcl_tools.md.record (the run record), which must
# not pull in the runner, ASE's LAMMPS writer or the potential package.
_EXPORTS = {
    "DEFAULT_PROTOCOL": "lizrcl_tools.md.protocols",
    "PROTOCOLS": "lizrcl_tools.md.protocols",
    "MDProtocol": "lizrcl_tools.md.protocols",
    "get_protocol": "lizrcl_tools.md.protocols",
    "RunRecord": "lizrcl_tools.md.record",
    "read_run_record": "lizrcl_tools.md.record",
    "read_run_json": "lizrcl_tools.md.runner",
    "run_folder_name": "lizrcl_tools.md.runner",
    "run_md": "lizrcl_tools.md.runner",
    "run_temperatures": "lizrcl_tools.md.runner",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
