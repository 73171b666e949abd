"""A MACE model inside LAMMPS: a :class:`PotentialSpec` for the plugin, and a ready instance.

:func:`mace_potential` turns any MACE model file into the LAMMPS commands that load the
``mace/lizrcl`` plugin pair style (built on first use, :mod:`lizrcl_tools.potential.plugin_build`) with the
model exported to TorchScript (:mod:`lizrcl_tools.potential.export`, cached). :func:`make_lammps` then
gives a LAMMPS instance with units, box, atoms, masses and the potential set, so MD and SSW
never repeat the set-up. :func:`single_point` reads energy, forces and stress back in ASE
conventions.

Graph modes of the pair style (``mode``):

``"single"``  (``pair_style mace/lizrcl no_domain_decomposition``) one MPI rank; graph nodes are
    the local atoms and edges to periodic images carry integer cell shifts. The fast mode.
``"ghost"``   (``pair_style mace/lizrcl domain_decomposition``) any number of ranks; ghost atoms
    out to ``num_interactions × r_max`` are graph nodes, forces on them are reverse-communicated.
``"auto"``    (``pair_style mace/lizrcl``) single on one rank, ghost on several.

If the plugin cannot be built (no C++20 compiler), the spec falls back, with a
:class:`~lizrcl_tools.errors.LizrclWarning`, to ``fix external`` driven by the Python
``MACECalculator`` (one rank, same energies, slower); its ``metadata["backend"]`` is
``"fix_external"`` and :func:`make_lammps` (or :func:`attach_external`) installs the callback.

Units: LAMMPS ``metal`` (eV, Å, ps, bar); results of :func:`single_point` in eV, eV/Å, eV/Å³
(ASE sign: positive = tensile).

Example
-------
>>> from ase.io import read
>>> from lizrcl_tools.potential.mace_plugin import make_lammps, single_point
>>> atoms = read("Li2ZrCl6.cif")                                       # doctest: +SKIP
>>> lmp = make_lammps(atoms, "lizrcl.model", dtype="float32")          # doctest: +SKIP
>>> single_point(lmp, atoms)["energy"]                                 # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools.errors import LizrclWarning, SetupError
from lizrcl_tools.keys import ELEMENTS
from lizrcl_tools.potential import PotentialSpec
from lizrcl_tools.potential.dispersion import overlay_dispersion
from lizrcl_tools.resources import user_cache_dir

MODES = {"auto": "", "single": "no_domain_decomposition", "ghost": "domain_decomposition"}
"""Python mode name → ``pair_style mace/lizrcl`` keyword."""

EXTERNAL_FIX_ID = "lizrcl_mace"
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


def model_cache_root() -> Path:
    """Where exported models are cached (``$LIZRCL_MODEL_CACHE``, else ``$XDG_CACHE_HOME/lizrcl/models``)."""
    return user_cache_dir("models", "LIZRCL_MODEL_CACHE")


def exported_model(
    model: str | os.PathLike, dtype: str | None = None, head: str | None = None
):
    """Return the :class:`~lizrcl_tools.potential.export.ExportedModel` for ``model``, exporting if needed.

    A TorchScript export is used as it is (its dtype wins; a different explicit ``dtype``
    gives a warning). A ``torch.save`` MACE model is exported once per (checksum, dtype
    (default float64), head) into :func:`model_cache_root`.
    """
    from lizrcl_tools.potential.export import export_model, is_torchscript, load_exported, sha256_file

    # Absolute, because LAMMPS input files written from the spec may run in another folder.
    model = Path(model).absolute()
    if not model.is_file():
        raise SetupError(f"MACE model file {model} does not exist")
    if is_torchscript(model):
        info = load_exported(model)
        if dtype is not None and info.dtype != dtype:
            warnings.warn(
                f"{model} is an exported {info.dtype} model; using it as {info.dtype} "
                f"(asked for {dtype})",
                LizrclWarning,
                stacklevel=2,
            )
        return info
    dtype = dtype or "float64"
    tag = f"{sha256_file(model)[:16]}-{dtype}" + (f"-{head}" if head else "")
    target = model_cache_root() / tag / f"{model.stem}-lammps.pt"
    if target.is_file():
        return load_exported(target)
    return export_model(model, target, dtype=dtype, head=head)


def _quote(path: str | os.PathLike) -> str:
    text = str(path)
    return f'"{text}"' if any(c.isspace() for c in text) else text


def mace_potential(
    model: str | os.PathLike,
    elements: Sequence[str] = ELEMENTS,
    dtype: str | None = None,
    mode: str = "auto",
    head: str | None = None,
    name: str | None = None,
    fallback: bool = True,
    core_repulsion_A: tuple[float, float] | None = None,
    dispersion=None,
) -> PotentialSpec:
    """LAMMPS commands for a MACE model in the ``mace/lizrcl`` plugin pair style.

    Parameters
    ----------
    model : str or PathLike
        A MACE ``.model`` file (exported and cached on first use) or an exported TorchScript.
    elements : sequence of str
        Element of each LAMMPS type, in type order (default Li, Zr, Cl). Each must be in the
        model.
    dtype : {"float64", "float32"}, optional
        Precision of the export (default float64 for a ``.model``, the file's own dtype for a
        TorchScript export). float32 is ~2× faster on CPU.
    mode : {"auto", "single", "ghost"}
        Graph mode of the pair style (module docstring).
    head : str, optional
        Head of a multi-head model.
    name : str, optional
        Name recorded in run metadata (default ``mace:<model stem>``).
    core_repulsion_A : (float, float), optional
        ``(inner, outer)`` in Å: overlay LAMMPS's ZBL screened-nuclear repulsion, switched
        off smoothly between ``inner`` and ``outer``. A guard for small models that never saw
        short contacts (their energy can fall without bound as two atoms merge); with
        ``outer`` well below every bond length (Li–Cl, Zr–Cl ≈ 2.4–2.6 Å, Cl–Cl ≥ 3.4 Å in
        the crystals) it leaves physical configurations untouched. Ignored (and recorded as
        such) when the model carries its own ZBL term (trained with ``--pair_repulsion``,
        as the shipped model is): two ZBL walls would double the repulsion. Default: off.
    fallback : bool
        If the plugin cannot be built, return a ``fix external`` spec (with a warning) rather
        than raising.
    dispersion : D3, str or None
        Grimme D3 correction overlaid at run time (:mod:`lizrcl_tools.potential.dispersion`):
        a :class:`~lizrcl_tools.potential.dispersion.D3`, ``"d3bj"``/``"d3zero"`` (default
        cutoffs) or None/``"none"``. Recorded in ``metadata["dispersion"]``.

    Returns
    -------
    PotentialSpec
        ``pre_commands`` load the plugin; ``commands`` set ``pair_style``/``pair_coeff``.
        ``metadata`` records model, export, checksum, dtype, r_max, mode and backend.

    Raises
    ------
    SetupError
        Unknown mode or element, missing model, or (``fallback=False``) no plugin.
    """
    from lizrcl_tools.potential import plugin_build as plugin

    if mode not in MODES:
        raise SetupError(f"mode {mode!r} unknown; choose one of {', '.join(MODES)}")
    elements = tuple(elements)
    info = exported_model(model, dtype=dtype, head=head)
    missing = [e for e in elements if e not in info.elements]
    if missing:
        raise SetupError(
            f"element(s) {', '.join(missing)} not in MACE model {model} "
            f"(it knows {', '.join(info.elements)})"
        )
    metadata: dict[str, Any] = {
        "model": str(Path(model).absolute()),
        "exported": info.path,
        "sha256": info.sha256,
        "dtype": info.dtype,
        "r_max_A": info.r_max,
        "num_interactions": info.num_interactions,
        "model_elements": list(info.elements),
        "mode": mode,
        "units": "metal",
    }
    name = name or f"mace:{Path(model).stem}"
    try:
        so = plugin.ensure_plugin()
    except SetupError as exc:
        if not fallback:
            raise
        warnings.warn(
            f"MACE LAMMPS plugin unavailable ({exc}); using 'fix external' with the Python "
            "MACE calculator instead (1 MPI rank, slower)",
            LizrclWarning,
            stacklevel=2,
        )
        return overlay_dispersion(_external_spec(model, info, elements, name, metadata), dispersion)
    style = f"{plugin.PAIR_STYLE} {MODES[mode]}".rstrip()
    coeff = f"{_quote(info.path)} {' '.join(elements)}"
    metadata.update({"backend": "plugin", "plugin": str(so)})
    if core_repulsion_A is not None and info.pair_repulsion:
        metadata["core_repulsion_A"] = "built into the model (mace ZBL pair repulsion)"
        core_repulsion_A = None
    if core_repulsion_A is None:
        commands: tuple[str, ...] = (f"pair_style {style}", f"pair_coeff * * {coeff}")
    else:
        inner, outer = core_repulsion_A
        if not 0 < inner < outer:
            raise SetupError(f"core repulsion needs 0 < inner < outer (Å), got {core_repulsion_A}")
        commands = (
            f"pair_style hybrid/overlay {style} zbl {inner} {outer}",
            f"pair_coeff * * {plugin.PAIR_STYLE} {coeff}",
            *_zbl_coeffs(elements),
        )
        metadata["core_repulsion_A"] = [inner, outer]
    spec = PotentialSpec(
        name=name,
        elements=elements,
        commands=commands,
        pre_commands=(f"plugin load {_quote(so)}",),
        newton="on",
        metadata=metadata,
    )
    return overlay_dispersion(spec, dispersion)


def _zbl_coeffs(elements: Sequence[str]) -> list[str]:
    """``pair_coeff i j zbl Z_i Z_j`` for every type pair (LAMMPS wants i ≤ j)."""
    from ase.data import atomic_numbers

    lines = []
    for i, a in enumerate(elements, start=1):
        for j, b in enumerate(elements[i - 1 :], start=i):
            lines.append(f"pair_coeff {i} {j} zbl {atomic_numbers[a]} {atomic_numbers[b]}")
    return lines


def _external_spec(model, info, elements, name, metadata) -> PotentialSpec:
    from lizrcl_tools.potential.export import is_torchscript

    if is_torchscript(model):
        raise SetupError(
            f"the plugin is unavailable and the 'fix external' fallback needs the original "
            f"MACE .model file, not the TorchScript export {model}"
        )
    metadata.update({"backend": "fix_external", "mode": "single"})
    # pair_style zero keeps neighbour lists and the communication cutoff meaningful.
    return PotentialSpec(
        name=name,
        elements=elements,
        commands=(f"pair_style zero {info.r_max:.6g}", "pair_coeff * *"),
        newton="on",
        metadata=metadata,
    )


class _ExternalMACE:
    """``fix external`` callback: evaluate the Python MACE calculator on LAMMPS's atoms."""

    def __init__(self, lmp, spec: PotentialSpec) -> None:
        from mace.calculators import MACECalculator

        from lizrcl_tools.potential.export import _load_mace

        dtype = spec.metadata["dtype"]
        self.lmp = lmp
        self.elements = spec.elements
        model = _load_mace(Path(spec.metadata["model"]))
        self.calc = MACECalculator(models=model, device="cpu", default_dtype=dtype)

    def __call__(self, caller, ntimestep, nlocal, tag, x, f) -> None:
        from ase import Atoms

        box = self.lmp.extract_box()
        lo, hi, xy, yz, xz, periodic = box[0], box[1], box[2], box[3], box[4], box[5]
        cell = np.array(
            [[hi[0] - lo[0], 0, 0], [xy, hi[1] - lo[1], 0], [xz, yz, hi[2] - lo[2]]], float
        )
        types = self.lmp.numpy.extract_atom("type")[:nlocal]
        atoms = Atoms(
            symbols=[self.elements[t - 1] for t in types],
            positions=np.asarray(x) - np.asarray(lo),
            cell=cell,
            pbc=[bool(p) for p in periodic],
        )
        atoms.calc = self.calc
        f[:] = atoms.get_forces()
        self.lmp.fix_external_set_energy_global(EXTERNAL_FIX_ID, atoms.get_potential_energy())
        # LAMMPS virial W = -stress·V; ASE Voigt xx yy zz yz xz xy -> LAMMPS xx yy zz xy xz yz.
        s = -atoms.get_stress(voigt=True) * atoms.get_volume()
        self.lmp.fix_external_set_virial_global(
            EXTERNAL_FIX_ID, [s[0], s[1], s[2], s[5], s[4], s[3]]
        )


def attach_external(lmp, spec: PotentialSpec) -> None:
    """Install the ``fix external`` MACE callback of a fallback spec on a LAMMPS instance."""
    if spec.metadata.get("backend") != "fix_external":
        return
    if lmp.extract_setting("world_size") > 1:
        raise SetupError("the 'fix external' MACE fallback runs on one MPI rank only")
    lmp.commands_list(
        [
            f"fix {EXTERNAL_FIX_ID} all external pf/callback 1 1",
            f"fix_modify {EXTERNAL_FIX_ID} energy yes virial yes",
        ]
    )
    lmp.set_fix_external_callback(EXTERNAL_FIX_ID, _ExternalMACE(lmp, spec))


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
