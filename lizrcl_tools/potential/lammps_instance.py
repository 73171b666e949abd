"""A LAMMPS instance set up from a :class:`PotentialSpec`, and single-point results from it.

:func:`make_lammps` gives a LAMMPS instance with units, box, atoms, masses and the potential set,
so MD and SSW never repeat the set-up; :func:`single_point` reads energy, forces and stress back
in ASE conventions. :func:`tune_glibc_malloc` is the in-process allocator setting that speeds up
MACE steps. Re-exported by :mod:`lizrcl_tools.potential.mace_plugin` (the historical home).

Units: LAMMPS ``metal`` (eV, Å, ps, bar); results of :func:`single_point` in eV, eV/Å, eV/Å³
(ASE sign: positive = tensile).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from lizrcl_tools.errors import SetupError
from lizrcl_tools.keys import ELEMENTS
from lizrcl_tools.potential.mace_external import attach_external
from lizrcl_tools.potential.spec import PotentialSpec

_PRESSURE_ID = "lizrcl_pvirial"

_M_TRIM_THRESHOLD = -1  # mallopt() parameter numbers from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3


def tune_glibc_malloc(threshold_bytes: int = 1 << 34) -> bool:
    """Stop glibc from trimming the heap and from re-tuning its mmap threshold.

    A MACE step allocates and frees the same large autograd buffers every time; by default
    glibc returns them to the kernel and faults them back in on the next step. This is the
    in-process equivalent of starting Python with ``MALLOC_TRIM_THRESHOLD_`` and
    ``MALLOC_MMAP_THRESHOLD_`` set (platform notes: 35-45 % faster MD steps). It changes
    the allocator of the whole process and cannot be undone, so callers opt in.

    Returns
    -------
    bool
        True if glibc accepted the trim threshold (False on other C libraries).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    value = min(int(threshold_bytes), 2**31 - 1)
    ok = bool(mallopt(_M_TRIM_THRESHOLD, value))
    # glibc rejects mmap thresholds above 32 MiB; the call still disables dynamic re-tuning.
    mallopt(_M_MMAP_THRESHOLD, min(value, 32 << 20))
    return ok


def make_lammps(
    atoms,
    potential: PotentialSpec | str | os.PathLike,
    *,
    dtype: str | None = None,
    mode: str = "auto",
    elements: Sequence[str] | None = None,
    cmdargs: list[str] | None = None,
    comm: object | None = None,
    neighbor_skin: float = 1.0,
    tune_malloc: bool = False,
):
    """A LAMMPS instance holding ``atoms`` with the potential loaded and ready to run.

    Parameters
    ----------
    atoms : ase.Atoms
        Structure (positions Å; velocities, if set, are copied in Å/ps).
    potential : PotentialSpec or path
        A spec (from :func:`mace_potential` or any other potential module) or a MACE model
        path, turned into a spec with ``dtype``/``mode``/``elements``.
    dtype, mode : str
        Used only when ``potential`` is a path (see :func:`mace_potential`).
    elements : sequence of str, optional
        Type order when ``potential`` is a path (default Li, Zr, Cl, plus nothing else).
    cmdargs : list of str, optional
        LAMMPS command-line arguments (default: no screen output, no log file).
    comm : mpi4py communicator, optional
        For MPI runs.
    neighbor_skin : float
        Neighbour-list skin, Å.
    tune_malloc : bool
        Call :func:`tune_glibc_malloc` first (process-wide and permanent, so off by default;
        ~25-40 % faster MACE steps on CPU).

    Returns
    -------
    lammps.lammps
        Units metal, atom IDs = ASE index + 1, types in ``spec.elements`` order. The cell is
        rotated into LAMMPS's lower-triangular form (``ase.calculators.lammps.Prism``); use
        :func:`single_point` with the same ``atoms`` to get results back in the ASE frame.
    """
    from ase.calculators.lammps import Prism
    from ase.data import atomic_masses, atomic_numbers
    from ase.units import fs

    from lizrcl_tools.lammps_env import new_lammps

    if isinstance(potential, PotentialSpec):
        spec = potential
    else:
        # Deferred: mace_plugin re-exports this module.
        from lizrcl_tools.potential.mace_plugin import mace_potential

        spec = mace_potential(potential, elements=tuple(elements or ELEMENTS), dtype=dtype, mode=mode)
    types = [spec.type_of(s) for s in atoms.get_chemical_symbols()]

    if tune_malloc:
        tune_glibc_malloc()
    lmp = new_lammps(cmdargs, comm)
    boundary = " ".join("p" if p else "f" for p in atoms.pbc)
    lmp.commands_list(
        [
            "units metal",
            f"atom_style {spec.atom_style}",
            "atom_modify map array",
            f"boundary {boundary}",
            f"newton {spec.newton}",
            *spec.pre_commands,
        ]
    )
    prism = Prism(np.asarray(atoms.cell), atoms.pbc)
    xhi, yhi, zhi, xy, xz, yz = (float(v) for v in prism.get_lammps_prism())
    lmp.commands_list(
        [
            f"region lizrcl_box prism 0 {xhi!r} 0 {yhi!r} 0 {zhi!r} {xy!r} {xz!r} {yz!r} units box",
            f"create_box {len(spec.elements)} lizrcl_box",
        ]
    )
    positions = prism.vector_to_lammps(atoms.get_positions(), wrap=True)
    velocities = None
    if atoms.has("momenta"):
        # ASE velocity unit is Å per ASE time unit; 1 ps = 1000 fs.
        velocities = (prism.vector_to_lammps(atoms.get_velocities()) * 1000 * fs).ravel().tolist()
    n = len(atoms)
    lmp.create_atoms(n, list(range(1, n + 1)), types, positions.ravel().tolist(), velocities)
    if lmp.get_natoms() != n:
        raise SetupError(f"LAMMPS created {lmp.get_natoms()} of {n} atoms (atoms outside the box?)")
    for t, symbol in enumerate(spec.elements, start=1):
        lmp.command(f"mass {t} {float(atomic_masses[atomic_numbers[symbol]])!r}")
    lmp.commands_list([f"neighbor {float(neighbor_skin)!r} bin", *spec.all_commands()])
    attach_external(lmp, spec)
    return lmp


def single_point(lmp, atoms=None) -> dict[str, Any]:
    """Energy, forces and stress of the current LAMMPS state (``run 0``).

    Parameters
    ----------
    lmp : lammps.lammps
        Instance from :func:`make_lammps` (IDs 1..N, ``atom_modify map``).
    atoms : ase.Atoms, optional
        The structure the instance was made from; given, forces and stress are rotated back
        into its frame.

    Returns
    -------
    dict
        ``energy`` (eV), ``forces`` (N×3, eV/Å, in atom-ID order), ``stress`` (Voigt xx yy zz
        yz xz xy, eV/Å³, ASE sign), ``virial`` (3×3, eV).
    """
    from ase.calculators.lammps import Prism
    from ase.units import bar

    from lizrcl_tools.lammps_env import import_lammps

    lammps = import_lammps()

    if not lmp.has_id("compute", _PRESSURE_ID):
        # Virial part only (pair + fix external): the kinetic part is not a force-field property.
        lmp.command(f"compute {_PRESSURE_ID} all pressure NULL virial")
    lmp.command("run 0 post no")
    energy = float(lmp.get_thermo("pe"))
    n = int(lmp.get_natoms())
    forces = np.array(lmp.gather_atoms("f", 1, 3)[: 3 * n], float).reshape(n, 3)
    p = np.array(lmp.numpy.extract_compute(
        _PRESSURE_ID, lammps.LMP_STYLE_GLOBAL, lammps.LMP_TYPE_VECTOR
    ), float)
    volume = float(lmp.get_thermo("vol"))
    # compute pressure gives W/V in bar, order xx yy zz xy xz yz.
    w = p * bar * volume
    virial = np.array([[w[0], w[3], w[4]], [w[3], w[1], w[5]], [w[4], w[5], w[2]]])
    if atoms is not None:
        prism = Prism(np.asarray(atoms.cell), atoms.pbc)
        forces = prism.vector_to_ase(forces)
        virial = prism.tensor2_to_ase(virial)
    s = -virial / volume
    stress = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    return {"energy": energy, "forces": forces, "stress": stress, "virial": virial}
