"""Single-point energies and relaxations through LAMMPS for any :class:`PotentialSpec`.

Used to check potentials (energy/force consistency, lattice constants) with exactly the pair
style that the MD runs use. Results are returned in ASE's frame and units: eV, eV/Å, Å.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import RunFailed
from lizrcl_tools.lammps_env import new_lammps
from lizrcl_tools.md.inputs import box_to_cell, header_commands, potential_commands, write_data_file
from lizrcl_tools.md.setup import attach_python_parts
from lizrcl_tools.potential import PotentialSpec


def _session(atoms: Atoms, spec: PotentialSpec, folder: Path):
    data = write_data_file(folder / "structure.data", atoms, spec)
    lmp = new_lammps()
    try:
        lmp.commands_list([*header_commands(spec), f"read_data {data}", *potential_commands(spec)])
        lmp.command("thermo_style custom step pe press")
        attach_python_parts(lmp, spec)
    except Exception as exc:
        lmp.close()
        raise RunFailed(f"LAMMPS setup failed for potential {spec.name!r}: {exc}") from exc
    return lmp


def single_point(atoms: Atoms, spec: PotentialSpec) -> dict[str, object]:
    """Energy and forces of ``atoms`` under ``spec``, computed by LAMMPS.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure.
    spec : PotentialSpec
        Potential.

    Returns
    -------
    dict
        ``energy_eV`` (float, total potential energy) and ``forces_eV_A`` ((N, 3) array in the
        frame and atom order of ``atoms``).
    """
    from ase.calculators.lammps import Prism

    with tempfile.TemporaryDirectory(prefix="lizrcl-sp-") as tmp:
        lmp = _session(atoms, spec, Path(tmp))
        try:
            lmp.command("run 0")
            energy = float(lmp.get_thermo("pe"))
            forces = np.array(lmp.gather_atoms("f", 1, 3), dtype=float).reshape(-1, 3)
        finally:
            lmp.close()
    prism = Prism(atoms.cell.array, atoms.pbc)
    return {"energy_eV": energy, "forces_eV_A": prism.vector_to_ase(forces)}


def relax(
    atoms: Atoms,
    spec: PotentialSpec,
    relax_cell: str | None = "iso",
    ftol_eV_A: float = 1e-5,
    max_steps: int = 5000,
) -> Atoms:
    """Minimise ``atoms`` (positions and optionally the cell at zero pressure) with LAMMPS.

    Parameters
    ----------
    atoms : ase.Atoms
        Starting structure (not modified).
    spec : PotentialSpec
        Potential.
    relax_cell : {"iso", "aniso", "tri", None}
        ``fix box/relax`` mode at 0 bar, or None to keep the cell fixed.
    ftol_eV_A : float
        Force tolerance of ``minimize``, eV/Å.
    max_steps : int
        Iteration limit.

    Returns
    -------
    ase.Atoms
        Relaxed structure in the LAMMPS frame (a along x), with ``info["energy_eV"]``.
    """
    with tempfile.TemporaryDirectory(prefix="lizrcl-relax-") as tmp:
        lmp = _session(atoms, spec, Path(tmp))
        try:
            if relax_cell:
                lmp.command(f"fix relax all box/relax {relax_cell} 0.0 vmax 0.001")
            lmp.command("min_style cg")
            # Two passes: box/relax changes the reference cell between them.
            for _ in range(2):
                lmp.command(f"minimize 0.0 {ftol_eV_A} {max_steps} {10 * max_steps}")
            energy = float(lmp.get_thermo("pe"))
            boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
            pos = np.array(lmp.gather_atoms("x", 1, 3), dtype=float).reshape(-1, 3)
            types = np.array(lmp.gather_atoms("type", 0, 1), dtype=int)
        finally:
            lmp.close()
    out = Atoms(
        symbols=[spec.elements[t - 1] for t in types],
        positions=pos,
        cell=box_to_cell(boxlo, boxhi, xy, yz, xz),
        pbc=True,
    )
    out.info["energy_eV"] = energy
    return out
