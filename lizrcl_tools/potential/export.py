"""Export a trained MACE model to the TorchScript file the ``mace/lizrcl`` pair style loads.

This runs mace's own LAMMPS export (:class:`mace.calculators.LAMMPS_MACE` compiled with
``e3nn.util.jit.compile``, as ``mace_create_lammps_model`` does) in-process, without its
interactive head prompt, and writes a sidecar JSON next to the exported file::

    model-lammps.pt     TorchScript; buffers atomic_numbers, r_max, num_interactions, head
    model-lammps.json   elements, atomic numbers, r_max (Å), dtype, units, head, checksums

Units: energies eV, lengths Å, forces eV/Å (LAMMPS ``units metal``).

Example
-------
>>> from lizrcl_tools.potential.export import export_model, load_exported
>>> info = export_model("lizrcl.model", "lizrcl-lammps.pt", dtype="float64")  # doctest: +SKIP
>>> load_exported("lizrcl-lammps.pt").elements                                # doctest: +SKIP
('Li', 'Cl', 'Zr')
"""

from __future__ import annotations

import hashlib
import os
import warnings
import zipfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.fileio import atomic_path, check_output, read_json, write_json_atomic

DTYPES = ("float64", "float32")
"""Floating-point precisions an exported model can have."""

DEFAULT_DTYPE = "float32"
"""Precision of an export when none is asked for. The shipped model was trained in float32
(its card), so a float32 export evaluates it at its training precision, about twice as fast
on CPU as float64; ask for float64 for energy-conservation or finite-difference studies."""

UNITS = {"energy": "eV", "length": "Å", "force": "eV/Å", "lammps_units": "metal"}
"""Units of the exported model, recorded in the sidecar."""

SIDECAR_FORMAT = 1


@dataclass(frozen=True)
class ExportedModel:
    """Metadata of an exported (TorchScript) MACE model.

    Attributes
    ----------
    path : str
        The TorchScript file.
    elements : tuple of str
        Element symbols in the model's one-hot order.
    atomic_numbers : tuple of int
        Atomic numbers in the same order.
    r_max : float
        Cutoff radius, Å.
    num_interactions : int
        Message-passing layers (the ghost-node mode needs ghosts out to this × r_max).
    dtype : str
        ``float64`` or ``float32``.
    head : str or None
        Head the export evaluates, for multi-head models.
    units : dict
        Energy/length/force units and the LAMMPS ``units`` style.
    pair_repulsion : bool
        The model carries mace's ZBL screened-nuclear repulsion (trained with
        ``--pair_repulsion``); no external core guard is needed.
    source : str or None
        The model file it was exported from.
    source_sha256, sha256 : str or None
        Checksums of the source model and of the exported file.
    fused_contractions : int
        Symmetric contractions evaluated by
        :class:`~lizrcl_tools.potential.contraction.ElementContraction` (same numbers, faster).
    """

    path: str
    elements: tuple[str, ...]
    atomic_numbers: tuple[int, ...]
    r_max: float
    num_interactions: int
    dtype: str
    head: str | None = None
    units: dict[str, str] | None = None
    pair_repulsion: bool = False
    source: str | None = None
    source_sha256: str | None = None
    sha256: str | None = None
    fused_contractions: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the sidecar's content)."""
        data = asdict(self)
        data["format"] = SIDECAR_FORMAT
        return data


def sidecar_path(exported: str | os.PathLike) -> Path:
    """Sidecar JSON of an exported model: ``model-lammps.pt`` → ``model-lammps.json``."""
    return Path(exported).with_suffix(".json")


def default_export_path(model_path: str | os.PathLike, dtype: str = "float64") -> Path:
    """``X.model`` → ``X-lammps.pt`` (``X-lammps-float32.pt`` for float32)."""
    model_path = Path(model_path)
    suffix = "" if dtype == "float64" else f"-{dtype}"
    return model_path.with_name(f"{model_path.stem}-lammps{suffix}.pt")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_torchscript(path: str | os.PathLike) -> bool:
    """True if ``path`` is a TorchScript archive (has ``code/``), False for a ``torch.save`` file."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in name for name in archive.namelist())
    except zipfile.BadZipFile:
        return False


def _load_mace(model_path: Path):
    # mace must be imported before e3nn with torch >= 2.6 (weights_only loading of e3nn's
    # constants); importing it here also registers the classes torch.load needs.
    import mace.modules  # noqa: F401
    import torch

    try:
        return torch.load(model_path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch raises many kinds (pickle, zip, runtime)
        raise ParseError(model_path, f"cannot load as a MACE model with torch.load: {exc}") from exc


def _select_head(model, head: str | None, model_path: Path) -> str | None:
    heads = list(getattr(model, "heads", None) or [None])
    if head is None:
        if len(heads) > 1:
            # mace's own tool would prompt here; a batch export must be told.
            raise SetupError(
                f"{model_path} has {len(heads)} heads ({', '.join(map(str, heads))}); "
                "pass head=... (CLI: --head)"
            )
        return heads[0]
    if head not in heads:
        raise SetupError(f"{model_path} has no head {head!r}; heads: {', '.join(map(str, heads))}")
    return head


def export_model(
    model_path: str | os.PathLike,
    out: str | os.PathLike | None = None,
    dtype: str = DEFAULT_DTYPE,
    head: str | None = None,
    overwrite: bool = True,
    force: bool | None = None,
    fuse: bool = True,
) -> ExportedModel:
    """Export a MACE model to TorchScript for the ``mace/lizrcl`` pair style.

    Parameters
    ----------
    model_path : str or PathLike
        A MACE model saved with ``torch.save`` (what ``mace_run_train`` writes as ``*.model``).
    out : str or PathLike, optional
        TorchScript file to write (default :func:`default_export_path`). The sidecar JSON is
        written beside it (:func:`sidecar_path`).
    dtype : {"float32", "float64"}
        Precision of the exported model (default :data:`DEFAULT_DTYPE`). float32 is about
        twice as fast on CPU; float64 for energy-conservation studies.
    head : str, optional
        Head of a multi-head model; required when there is more than one.
    overwrite : bool
        Refuse to replace an existing file when False.
    force : bool, optional
        The export is a finished result (the ``--force`` of ``lizrcl export``): False refuses
        an existing ``out`` before anything is compiled; True replaces it, keeping the old file
        and its sidecar as numbered backups. None: ``overwrite`` decides (caches).
    fuse : bool
        Evaluate invariant symmetric contractions with per-element coefficients formed once
        (:func:`~lizrcl_tools.potential.contraction.fuse_contractions`): the same energies and
        forces up to rounding, faster. False keeps mace's modules exactly.

    Returns
    -------
    ExportedModel
        Metadata of the written file (also in the sidecar).

    Raises
    ------
    SetupError
        Unknown dtype or head, or an existing output with ``overwrite=False``.
    ParseError
        ``model_path`` is not a loadable MACE model.
    """
    if dtype not in DTYPES:
        raise SetupError(f"dtype {dtype!r} not supported; choose one of {', '.join(DTYPES)}")
    model_path = Path(model_path)
    if not model_path.is_file():
        raise SetupError(f"MACE model file {model_path} does not exist")
    if is_torchscript(model_path):
        raise SetupError(
            f"{model_path} is already a TorchScript export; export the original .model file"
        )
    out = Path(out) if out is not None else default_export_path(model_path, dtype)
    existed = out.exists()
    if force is not None:
        check_output(out, force=force, what="exported model")

    from ase.data import chemical_symbols
    from e3nn.util import jit

    model = _load_mace(model_path)
    model = model.double() if dtype == "float64" else model.float()
    model = model.to("cpu").eval()
    chosen = _select_head(model, head, model_path)
    fused = 0
    if fuse:
        from lizrcl_tools.potential.contraction import fuse_contractions

        fused = fuse_contractions(model)

    from mace.calculators import LAMMPS_MACE

    wrapped = LAMMPS_MACE(model, head=chosen) if chosen is not None else LAMMPS_MACE(model)
    with warnings.catch_warnings():
        # TorchScript's complaints about mace's annotations and its own deprecation are noise
        # for the user of an export that works.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        compiled = jit.compile(wrapped)
    with atomic_path(out, overwrite=overwrite, force=force) as tmp:
        compiled.save(str(tmp))

    numbers = tuple(int(z) for z in model.atomic_numbers.tolist())
    info = ExportedModel(
        path=str(out),
        elements=tuple(chemical_symbols[z] for z in numbers),
        atomic_numbers=numbers,
        r_max=float(model.r_max),
        num_interactions=int(model.num_interactions),
        dtype=dtype,
        head=chosen,
        units=dict(UNITS),
        pair_repulsion=bool(getattr(model, "pair_repulsion", False)),
        source=str(model_path),
        source_sha256=sha256_file(model_path),
        sha256=sha256_file(out),
        fused_contractions=fused,
    )
    record = info.to_dict()
    record["exported_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record["versions"] = _versions()
    sidecar_force = force if (force is not None and existed and sidecar_path(out).exists()) else None
    write_json_atomic(sidecar_path(out), record, overwrite=overwrite if force is None else True,
                      force=sidecar_force)
    return info


def _versions() -> dict[str, str]:
    import importlib.metadata

    found = {}
    for dist in ("mace-torch", "torch", "e3nn"):
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def load_exported(path: str | os.PathLike) -> ExportedModel:
    """Read an exported model's metadata from its buffers, checked against the sidecar.

    Parameters
    ----------
    path : str or PathLike
        TorchScript file written by :func:`export_model` (or by ``mace_create_lammps_model``;
        then there is no sidecar and the metadata come from the buffers alone).

    Raises
    ------
    ParseError
        Not TorchScript, missing buffers, or the sidecar disagrees with the file.
    """
    import mace.modules  # noqa: F401  (import order for e3nn with torch >= 2.6)
    import torch
    from ase.data import chemical_symbols

    path = Path(path)
    if not path.is_file():
        raise SetupError(f"exported model {path} does not exist")
    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise ParseError(path, f"not a TorchScript model ({exc})") from exc
    try:
        numbers = tuple(int(z) for z in module.atomic_numbers.tolist())
        r_max = float(module.r_max)
        num_interactions = int(module.num_interactions)
    except AttributeError as exc:
        raise ParseError(path, f"missing buffer of mace's LAMMPS export: {exc}") from exc
    dtype = next(
        (str(p.dtype).removeprefix("torch.") for p in module.parameters() if p.is_floating_point()),
        "float64",
    )
    try:
        pair_repulsion = hasattr(module.model, "pair_repulsion_fn")
    except AttributeError:  # not mace's LAMMPS wrapper: no way to tell, assume none
        pair_repulsion = False
    found = ExportedModel(
        path=str(path),
        elements=tuple(chemical_symbols[z] for z in numbers),
        atomic_numbers=numbers,
        r_max=r_max,
        num_interactions=num_interactions,
        dtype=dtype,
        units=dict(UNITS),
        pair_repulsion=pair_repulsion,
        sha256=sha256_file(path),
    )
    side = sidecar_path(path)
    if not side.is_file():
        return found
    meta = read_json(side)
    for key in ("atomic_numbers", "dtype", "num_interactions"):
        recorded = tuple(meta[key]) if key == "atomic_numbers" else meta.get(key)
        if recorded != getattr(found, key):
            raise ParseError(
                side, f"{key} = {recorded!r} disagrees with {path.name} ({getattr(found, key)!r})"
            )
    if abs(float(meta.get("r_max", r_max)) - r_max) > 1e-9:
        raise ParseError(side, f"r_max = {meta['r_max']} disagrees with {path.name} ({r_max})")
    return ExportedModel(
        **{**asdict(found), "head": meta.get("head"), "source": meta.get("source"),
           "source_sha256": meta.get("source_sha256"),
           "fused_contractions": int(meta.get("fused_contractions", 0))}
    )
