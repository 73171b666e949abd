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

from lizrcl_tools.md.protocols import DEFAULT_PROTOCOL, PROTOCOLS, MDProtocol, get_protocol
from lizrcl_tools.md.runner import read_run_json, run_folder_name, run_md, run_temperatures

__all__ = [
    "DEFAULT_PROTOCOL",
    "PROTOCOLS",
    "MDProtocol",
    "get_protocol",
    "read_run_json",
    "run_folder_name",
    "run_md",
    "run_temperatures",
]
