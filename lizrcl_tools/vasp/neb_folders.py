"""A VASP NEB run folder from a band of structures (``IMAGES``; sub-folders ``00`` … ``NN``).

VASP's NEB layout: INCAR, KPOINTS and POTCAR in the run folder, one POSCAR per image in
``00`` (initial state), ``01`` … (moving images) and ``NN`` (final state); ``IMAGES`` is the
number of moving images, and VASP needs a multiple of ``IMAGES`` MPI ranks. The INCAR is a
preset's (default ``pbe-relax``: the study's ENCUT, EDIFF, EDIFFG and k-mesh) with the NEB
tags laid over it (:data:`NEB_INCAR`), then the caller's overrides. ``LCLIMB`` is a VTST-tools
tag (climbing image); plain VASP ignores it and runs a plain NEB.

Atoms are stably sorted into Li, Zr, Cl order, identically in every image (same symbols →
same permutation), so atom k of ``00/POSCAR`` is atom k of every other image.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.vasp.folder_io import NOTES_FILE
from lizrcl_tools.vasp.incar import check_incar_value, known_incar_tags, merge_incar, render_incar
from lizrcl_tools.vasp.kpoints import render_kpoints
from lizrcl_tools.vasp.poscar import element_blocks, poscar_text, prepare_atoms
from lizrcl_tools.vasp.potcar import potcar_texts
from lizrcl_tools.vasp.presets import Preset, load_preset

NEB_INCAR: dict[str, Any] = {
    "IBRION": 1,  # quasi-Newton: VASP's recommendation for NEB (CG, the relax preset's, is not)
    "POTIM": 0.5,
    "ISIF": 2,  # fixed cell: all images share the endpoints' cell
    "SPRING": -5,  # nudged elastic band (negative), spring constant 5 eV/Å²
    "LCLIMB": True,  # VTST climbing image
    "NSW": 300,
}
"""INCAR tags laid over the preset for a NEB run (``IMAGES`` is set from the band)."""


def write_vasp_neb(
    images: Sequence[Any],
    outdir: str | PathLike,
    preset: str | PathLike | Preset = "pbe-relax",
    incar_overrides: Mapping[str, Any] | None = None,
    *,
    potcar: str = "auto",
) -> Path:
    """Write the VASP NEB inputs of a band.

    Parameters
    ----------
    images : sequence of ase.Atoms
        The band, endpoints included (≥ 3 structures, same atoms and cell).
    outdir : path
        Run folder to create; an existing one is refused (never replaced).
    preset : str, path or Preset
        VASP preset the INCAR/KPOINTS/POTCAR come from.
    incar_overrides : mapping, optional
        Absolute INCAR values applied after :data:`NEB_INCAR` (``None`` removes a tag).
    potcar : {"auto", "spec", "potcar"}
        As for :func:`lizrcl_tools.vasp.folders.write_vasp_inputs`.

    Returns
    -------
    Path
        The run folder.
    """
    if len(images) < 3:
        raise SetupError(f"a NEB needs at least 3 images (2 endpoints + 1 moving), got {len(images)}")
    symbols = images[0].get_chemical_symbols()
    for k, image in enumerate(images):
        if image.get_chemical_symbols() != symbols:
            raise SetupError(f"image {k} holds other atoms than image 0: a band keeps its atoms")
        if not np.allclose(image.cell, images[0].cell, atol=1e-6):
            raise SetupError(f"image {k} has another cell than image 0 (NEB at fixed cell)")
    outdir = Path(outdir)
    if outdir.exists():
        raise SetupError(f"{outdir} exists; VASP NEB folders are never replaced: choose a new folder")
    preset = preset if isinstance(preset, Preset) else load_preset(preset)
    n_moving = len(images) - 2
    layers = [("NEB", {**NEB_INCAR, "IMAGES": n_moving})]
    if incar_overrides:
        layers.append(("override", dict(incar_overrides)))
    incar, changes = merge_incar(preset, layers)
    known = known_incar_tags()
    for tag, value in incar.items():
        check_incar_value(tag, value, known, "NEB INCAR")
    prepared = [prepare_atoms(image, f"image {k}")[0] for k, image in enumerate(images)]
    blocks = element_blocks(prepared[0].get_chemical_symbols())
    missing = [el for el in blocks if el not in preset.potcar_symbols]
    if missing:
        raise SetupError(f"preset {preset.name} has no POTCAR for {', '.join(missing)}")
    potcar_file, builder, _ = potcar_texts(preset, potcar)
    width = max(2, len(str(len(images) - 1)))
    changed = ", ".join(f"{c.tag} = {c.value}" for c in changes if c.value is not None)
    files = {
        "INCAR": render_incar(incar),
        "KPOINTS": render_kpoints(preset.kpoints_length, f"Fully automatic mesh, length {preset.kpoints_length} A"),
        potcar_file: builder([preset.potcar_symbols[el] for el in blocks]),
        NOTES_FILE: (
            f"VASP NEB inputs written by lizrcl from preset {preset.name} with {changed}.\n"
            f"{len(images)} images: {'0' * width} initial state, {str(len(images) - 1).zfill(width)} final state, "
            f"{n_moving} moving images (run on a multiple of {n_moving} MPI ranks).\n"
            "LCLIMB needs the VTST tools; plain VASP ignores it and runs a plain NEB.\n"
        ),
    }
    for k, atoms in enumerate(prepared):
        files[f"{str(k).zfill(width)}/POSCAR"] = poscar_text(atoms, f"image {k}")
    outdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{outdir.name}.", suffix=".tmp", dir=outdir.parent))
    try:
        for name, text in files.items():
            (tmp / name).parent.mkdir(exist_ok=True)
            (tmp / name).write_text(text)
        os.chmod(tmp, 0o755)
        os.rename(tmp, outdir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return outdir


def read_images_tag(incar: str | PathLike) -> int | None:
    """``IMAGES`` of an INCAR file (None if the tag is absent): the number of moving images.

    Read with :class:`pymatgen.io.vasp.Incar`, as every INCAR in the toolkit is.

    Raises
    ------
    ParseError
        The file cannot be read as an INCAR.
    SetupError
        ``IMAGES`` is not a whole number ≥ 0.
    """
    from pymatgen.io.vasp.inputs import Incar

    try:
        value = Incar.from_file(incar).get("IMAGES")
    except (OSError, ValueError) as exc:
        raise ParseError(incar, f"cannot read as an INCAR: {exc}") from exc
    if value is None:
        return None
    # pymatgen reads IMAGES as an integer when it can and leaves anything else as text
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SetupError(f"{incar}: IMAGES = {value!r} is not a whole number")
    return value


def neb_image_folders(folder: str | PathLike) -> list[Path] | None:
    """The moving-image folders ``01`` … ``N`` of a VASP NEB run folder, or None if ``folder``
    is not one (no INCAR, or an INCAR without ``IMAGES`` ≥ 1).

    VASP runs a NEB from the parent folder and writes each moving image's outputs (OUTCAR,
    vasprun.xml, CONTCAR, ...) into that image's folder; the endpoints ``00`` and ``N+1`` are
    not computed and get no outputs.

    Raises
    ------
    SetupError
        ``IMAGES = N`` but an image folder ``00`` … ``N+1`` or its POSCAR is missing.
    """
    folder = Path(folder)
    incar = folder / "INCAR"
    n_images = read_images_tag(incar) if incar.is_file() else None
    if not n_images:
        return None
    names = [f"{k:02d}" for k in range(n_images + 2)]
    missing = [name for name in names if not (folder / name / "POSCAR").is_file()]
    if missing:
        raise SetupError(f"{folder}: INCAR sets IMAGES = {n_images} but {', '.join(missing)}/POSCAR "
                         f"{'is' if len(missing) == 1 else 'are'} missing (a NEB needs 00 … {names[-1]})")
    return [folder / name for name in names[1:-1]]


NEB_IMAGE_CONFIG_TYPE = "neb_image"
"""``config_type`` that ``vasp collect`` gives the frames of a NEB's moving images."""

NEB_FORCES_NOTE = (
    "forces of NEB images: VTST's NEB writes the NEB force (the true force perpendicular to the band "
    "plus the spring force along it) in place of the energy gradient; check which your VASP wrote "
    "before training forces on frames with config_type neb_image"
)


def neb_image_of(output: str | PathLike) -> int | None:
    """Index k of the moving image whose output file ``output`` is (``NEB/0k/vasprun.xml``),
    or None if ``output`` does not lie in a moving-image folder of a NEB folder."""
    image = Path(output).resolve().parent
    if len(image.name) != 2 or not image.name.isdigit():
        return None
    try:
        images = neb_image_folders(image.parent)
    except SetupError:  # a damaged band: its outputs are read as plain runs
        return None
    return int(image.name) if images and image in images else None
