"""A MACE model inside LAMMPS: a :class:`PotentialSpec` for the plugin, and a ready instance.

:func:`mace_potential` turns any MACE model file into the LAMMPS commands that load the
``mace/lizrcl`` plugin pair style (built on first use, :mod:`lizrcl_tools.potential.plugin_build`) with the
model exported to TorchScript (:mod:`lizrcl_tools.potential.export`, cached). :func:`make_lammps` then
gives a LAMMPS instance with units, box, atoms, masses and the potential set, so MD and SSW
never repeat the set-up. :func:`single_point` reads energy, forces and stress back in ASE
conventions. Both live in :mod:`lizrcl_tools.potential.lammps_instance` (any potential, not
only MACE) and are re-exported here; the ``fix external`` fallback lives in
:mod:`lizrcl_tools.potential.mace_external`.

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

Device (``device``, the pair style's ``device`` keyword; default ``"cpu"``, which writes no
keyword): ``"cuda"`` puts the model on a GPU (per MPI rank: ``cuda:(node-local rank % devices)``;
LAMMPS stops with an error naming the torch build if torch has no usable CUDA device),
``"auto"`` takes CUDA when torch has it, else the CPU, and writes the choice to the LAMMPS log.
The graph is built on the CPU either way; the CUDA path is built but not yet measured on a GPU.

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

from lizrcl_tools.errors import LizrclWarning, SetupError
from lizrcl_tools.keys import ELEMENTS
from lizrcl_tools.potential.lammps_instance import make_lammps, single_point, tune_glibc_malloc
from lizrcl_tools.potential.mace_external import EXTERNAL_FIX_ID, attach_external, external_spec
from lizrcl_tools.potential.dispersion import overlay_dispersion
from lizrcl_tools.potential.spec import DEVICES, PotentialSpec, device_keyword
from lizrcl_tools.resources import user_cache_dir

__all__ = [
    "DEVICES",
    "EXTERNAL_FIX_ID",
    "MODES",
    "check_device",
    "device_keyword",
    "attach_external",
    "exported_model",
    "mace_potential",
    "make_lammps",
    "model_cache_root",
    "single_point",
    "tune_glibc_malloc",
]

MODES = {"auto": "", "single": "no_domain_decomposition", "ghost": "domain_decomposition"}
"""Python mode name → ``pair_style mace/lizrcl`` keyword."""

def check_device(device: str) -> None:
    """Refuse ``device="cuda"`` early when torch in this process has no CUDA device.

    The pair style makes the same check when LAMMPS reads it; this one lets a command stop
    before it writes anything. Call it only where the LAMMPS run happens in this process
    (not for tasks sent to other machines).

    Raises
    ------
    SetupError
        ``device`` unknown, or ``"cuda"`` without a usable CUDA device (the torch build named).
    """
    device_keyword(device)
    if device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        build = (f"built with CUDA {torch.version.cuda}, but no GPU is visible"
                 if torch.version.cuda else "a CPU-only build")
        raise SetupError(
            f"--device cuda: torch {torch.__version__} has no usable CUDA device ({build}); "
            "use --device cpu or --device auto, or install a CUDA build of torch"
        )


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
    # "fused": exports made before contraction fusing have no such tag and are not reused.
    tag = f"{sha256_file(model)[:16]}-{dtype}-fused" + (f"-{head}" if head else "")
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
    dispersion: Any = None,
    device: str = "cpu",
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
    device : {"cpu", "cuda", "auto"}
        Where the pair style runs the model (module docstring); recorded in
        ``metadata["device"]``. The ``fix external`` fallback runs the Python calculator on
        the same device.

    Returns
    -------
    PotentialSpec
        ``pre_commands`` load the plugin; ``commands`` set ``pair_style``/``pair_coeff``.
        ``metadata`` records model, export, checksum, dtype, r_max, mode, device and backend.

    Raises
    ------
    SetupError
        Unknown mode, device or element, missing model, or (``fallback=False``) no plugin.
    """
    from lizrcl_tools.potential import plugin_build as plugin

    if mode not in MODES:
        raise SetupError(f"mode {mode!r} unknown; choose one of {', '.join(MODES)}")
    device_words = device_keyword(device)
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
        "device": device,
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
        return overlay_dispersion(external_spec(model, info, elements, name, metadata), dispersion)
    style = " ".join(w for w in (plugin.PAIR_STYLE, MODES[mode], device_words) if w)
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
