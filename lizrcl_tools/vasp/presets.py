"""VASP input folders from presets: INCAR, KPOINTS, POSCAR and POTCAR (or POTCAR.spec).

A preset is one YAML file in the top-level ``vasp_inputs/`` folder (``pbe-relax``,
``pbe-static``, ``beef-static``) with the fixed sections ``description``, ``incar``,
``kpoints``, ``potcar`` and ``notes``. Presets are validated on load: an unknown section or an
unknown INCAR tag is a :class:`~lizrcl_tools.errors.PresetError` naming the file and the key,
because VASP silently ignores tags it does not know. Known tags are data: pymatgen's
``incar_parameters.json`` plus ``vasp_inputs/_extra_incar_tags.yaml``.

Overrides are absolute: a user value replaces the preset's value, ``None`` removes the tag,
and every difference between the written INCAR and the preset is listed in
:attr:`WriteReport.applied_changes`. Unlike pymatgen's input sets, nothing is dropped or
rewritten silently: the INCAR text is produced by :class:`pymatgen.io.vasp.Incar`, read back,
and compared tag by tag with preset + overrides before anything is written.

Example
-------
>>> from ase.build import bulk
>>> from lizrcl_tools.vasp import load_preset, write_vasp_inputs
>>> report = write_vasp_inputs([bulk("LiCl", "rocksalt", a=5.13)], "pbe-static", "runs",
...                            incar_overrides={"ENCUT": 520})        # doctest: +SKIP
>>> report.applied_changes[0].tag                                     # doctest: +SKIP
'ENCUT'

Units: ENCUT eV, EDIFF eV, EDIFFG eV/Å (negative: force criterion), SIGMA eV, k-mesh length Å.
The folder writer is in :mod:`lizrcl_tools.vasp.folders`; INCAR tags, overrides and INCAR text
in :mod:`lizrcl_tools.vasp.incar`; KPOINTS text in :mod:`lizrcl_tools.vasp.kpoints`; preset
folders and YAML reading in :mod:`lizrcl_tools.vasp.preset_files`. Their public names are
re-exported here, so ``from lizrcl_tools.vasp.presets import merge_incar`` keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lizrcl_tools.errors import PresetError
from lizrcl_tools.vasp.incar import (
    IncarChange,
    check_incar_value,
    known_incar_tags,
    merge_incar,
    parse_incar_assignments,
    read_incar_overrides,
    render_incar,
    values_equal,
)
from lizrcl_tools.vasp.kpoints import render_kpoints
from lizrcl_tools.vasp.preset_files import available_presets, find_preset, preset_dirs, read_yaml

__all__ = [
    "PRESET_SECTIONS",
    "IncarChange",
    "Preset",
    "available_presets",
    "check_incar_value",
    "known_incar_tags",
    "load_preset",
    "merge_incar",
    "parse_incar_assignments",
    "preset_dirs",
    "read_incar_overrides",
    "render_incar",
    "render_kpoints",
    "values_equal",
]

PRESET_SECTIONS = ("description", "incar", "kpoints", "potcar", "notes")
"""The only top-level sections a preset may have."""

_KPOINTS_KEYS = ("mode", "length")
_POTCAR_KEYS = ("functional", "symbols")


@dataclass(frozen=True)
class Preset:
    """A validated VASP preset.

    Attributes
    ----------
    name : str
        File stem (``pbe-static``).
    path : Path
        The YAML file it was read from.
    description : str
        One paragraph saying what the preset is for.
    incar : Mapping[str, Any]
        INCAR tags in file order (read-only), upper-case tags; ENCUT in eV, EDIFF in eV,
        EDIFFG in eV/Å, SIGMA in eV.
    kpoints_length : int
        Length of VASP's fully automatic k-mesh, Å (``N_i = max(1, int(l·|b_i| + 0.5))``).
    potcar_functional : str
        pymatgen POTCAR set name (``PBE_54``).
    potcar_symbols : Mapping[str, str]
        Element -> POTCAR title (``Li -> Li_sv``).
    notes : tuple of str
        Lines written to each run folder's ``NOTES.txt``.
    """

    name: str
    path: Path
    description: str
    incar: Mapping[str, Any]
    kpoints_length: int
    potcar_functional: str
    potcar_symbols: Mapping[str, str]
    notes: tuple[str, ...] = field(default_factory=tuple)


def load_preset(name_or_path: str | PathLike) -> Preset:
    """Read and validate a preset by name (see :func:`available_presets`) or by file path.

    Parameters
    ----------
    name_or_path : str or PathLike
        ``"pbe-static"``, or a path to a YAML file with the same sections.

    Returns
    -------
    Preset

    Raises
    ------
    PresetError
        Unknown preset name, unknown section, unknown INCAR tag, wrong value type, or a bad
        kpoints/potcar entry; the message names the file and the key.
    ParseError
        The file is not valid YAML or repeats a key (with the line).
    """
    text = str(name_or_path)
    is_path = isinstance(name_or_path, PathLike) or text.endswith((".yaml", ".yml")) or "/" in text
    path = Path(text) if is_path else find_preset(text)
    if not path.is_file():
        raise PresetError(path, path.name, "preset file does not exist")
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise PresetError(path, "<top level>", "a preset must be a mapping of sections")
    for section in data:
        if section not in PRESET_SECTIONS:
            raise PresetError(path, str(section), f"unknown section; allowed: {', '.join(PRESET_SECTIONS)}")
    for section in ("incar", "kpoints", "potcar"):
        if not isinstance(data.get(section), Mapping):
            raise PresetError(path, section, "missing section, or not a mapping")

    known = known_incar_tags()
    incar: dict[str, Any] = {}
    for raw_tag, value in data["incar"].items():
        tag = str(raw_tag).strip().upper()
        if tag in incar:
            raise PresetError(path, tag, "given twice (tags are case-insensitive)")
        check_incar_value(tag, value, known, path)
        incar[tag] = value

    kpoints = data["kpoints"]
    for key in kpoints:
        if key not in _KPOINTS_KEYS:
            raise PresetError(path, f"kpoints.{key}", f"unknown key; allowed: {', '.join(_KPOINTS_KEYS)}")
    if kpoints.get("mode") != "automatic":
        raise PresetError(path, "kpoints.mode", "only 'automatic' (VASP fully automatic length) is supported")
    length = kpoints.get("length")
    if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
        raise PresetError(path, "kpoints.length", f"must be a positive integer length in Å, got {length!r}")

    potcar = data["potcar"]
    for key in potcar:
        if key not in _POTCAR_KEYS:
            raise PresetError(path, f"potcar.{key}", f"unknown key; allowed: {', '.join(_POTCAR_KEYS)}")
    functional = potcar.get("functional")
    if not isinstance(functional, str) or not functional:
        raise PresetError(path, "potcar.functional", "must name a pymatgen POTCAR set, e.g. PBE_54")
    symbols = potcar.get("symbols")
    if not isinstance(symbols, Mapping) or not symbols:
        raise PresetError(path, "potcar.symbols", "must map elements to POTCAR titles")
    from ase.data import chemical_symbols

    for element, title in symbols.items():
        if element not in chemical_symbols[1:]:
            raise PresetError(path, f"potcar.symbols.{element}", "not an element symbol")
        # A title is the element, optionally followed by _variant (Li_sv); catches Li: Zr_sv.
        if not isinstance(title, str) or not re.fullmatch(rf"{element}(_\w+)?", title):
            raise PresetError(path, f"potcar.symbols.{element}", f"{title!r} is not a POTCAR title for {element}")

    notes = data.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise PresetError(path, "notes", "must be a list of strings")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise PresetError(path, "description", "must be a string")

    return Preset(
        name=path.stem,
        path=path.resolve(),
        description=description.strip(),
        incar=MappingProxyType(incar),
        kpoints_length=length,
        potcar_functional=functional,
        potcar_symbols=MappingProxyType(dict(symbols)),
        notes=tuple(notes),
    )
