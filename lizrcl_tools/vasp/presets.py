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
The folder writer is in :mod:`lizrcl_tools.vasp.folders`.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lizrcl_tools.errors import LizrclWarning, ParseError, PresetError, SetupError
from lizrcl_tools.resources import resource_dirs

PRESET_SECTIONS = ("description", "incar", "kpoints", "potcar", "notes")
"""The only top-level sections a preset may have."""

_KPOINTS_KEYS = ("mode", "length")
_POTCAR_KEYS = ("functional", "symbols")
_EXTRA_TAGS_FILE = "_extra_incar_tags.yaml"

# The python types a YAML value may have for each type name used in incar_parameters.json.
# bool is excluded from int/float on purpose: `ENCUT: true` is a typo, not 1 eV.
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "str": (str,),
    "list": (list, tuple),
}


# --------------------------------------------------------------------------- YAML loading


def _yaml_loader() -> type:
    """A SafeLoader that rejects duplicate keys and reads ``5e-6`` as a float.

    PyYAML keeps the last of two equal keys silently (a preset with two ENCUT lines would
    hide one) and, following YAML 1.1, reads ``5e-6`` as a string; both are fixed here.
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise ParseError(
                    loader.name,
                    f"duplicate key {key!r} (first on line {seen[key]}); YAML would keep only the last",
                    key_node.start_mark.line + 1,
                )
            seen[key] = key_node.start_mark.line + 1
        return loader.construct_mapping(node, deep=deep)

    _Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
        list("-+0123456789."),
    )
    return _Loader


def _read_yaml(path: Path) -> Any:
    """Read a YAML file; syntax errors become :class:`ParseError` with the line."""
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        raise ParseError(path, f"cannot read: {exc.strerror}") from exc
    loader = _yaml_loader()(text)
    loader.name = str(path)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ParseError(path, f"not valid YAML: {exc.problem}", line) from exc
    finally:
        loader.dispose()


# --------------------------------------------------------------------------- where presets are


def preset_dirs() -> list[Path]:
    """Folders searched for presets, first match wins.

    A source checkout (editable install) uses the repository's top-level ``vasp_inputs/``; an
    installed wheel carries the same files under ``<prefix>/share/lizrcl/vasp_inputs``
    (see :func:`lizrcl_tools.resources.resource_dirs`).
    """
    return resource_dirs("vasp_inputs")


def available_presets() -> list[str]:
    """Names of the presets that :func:`load_preset` finds by name, sorted."""
    names: set[str] = set()
    for folder in preset_dirs():
        names.update(p.stem for p in folder.glob("*.yaml") if not p.name.startswith("_"))
    return sorted(names)


def _find_preset(name: str) -> Path:
    for folder in preset_dirs():
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(d) for d in preset_dirs()) or "(no preset folder found)"
    raise PresetError(
        searched, name, f"unknown preset; available: {', '.join(available_presets()) or 'none'}"
    )


# --------------------------------------------------------------------------- known INCAR tags


def known_incar_tags() -> dict[str, dict[str, Any]]:
    """All INCAR tags accepted in presets and overrides, with their type and allowed values.

    Returns
    -------
    dict
        ``tag -> {"type": "int" | "float" | "bool" | "str" | "list" | "bool | str", "values":
        [...] (optional)}``: pymatgen's ``incar_parameters.json`` plus the extras listed in
        ``vasp_inputs/_extra_incar_tags.yaml``.
    """
    from importlib.util import find_spec

    # Located without importing pymatgen.io.vasp itself (seconds: it pulls in scipy.signal).
    spec = find_spec("pymatgen.io.vasp")
    if spec is None or not spec.submodule_search_locations:
        raise SetupError("pymatgen is not installed; it provides the list of known INCAR tags")
    json_path = Path(list(spec.submodule_search_locations)[0]) / "incar_parameters.json"
    tags = json.loads(json_path.read_text())
    for folder in preset_dirs():
        extra_file = folder / _EXTRA_TAGS_FILE
        if extra_file.is_file():
            extra = _read_yaml(extra_file) or {}
            for tag, spec in extra.items():
                if not isinstance(spec, Mapping) or spec.get("type") not in _PY_TYPES:
                    raise PresetError(extra_file, str(tag), f"needs type: one of {list(_PY_TYPES)}")
                tags.setdefault(str(tag).upper(), {"type": spec["type"]})
            break
    return tags


def check_incar_value(
    tag: str, value: Any, known: Mapping[str, Mapping[str, Any]], path: str | PathLike
) -> None:
    """Raise :class:`PresetError` unless ``tag`` is known and ``value`` has its type.

    A value outside pymatgen's list of allowed values only warns (:class:`LizrclWarning`):
    that list is incomplete for newer VASP versions, whereas an unknown tag or a wrong type
    is always a mistake.
    """
    spec = known.get(tag)
    if spec is None:
        raise PresetError(path, tag, "unknown INCAR tag (VASP would ignore it silently)")
    type_names = [t.strip() for t in str(spec.get("type", "")).split("|") if t.strip()]
    allowed_types = tuple(t for name in type_names for t in _PY_TYPES.get(name, ()))
    is_bool = isinstance(value, bool)
    ok = not allowed_types or (
        isinstance(value, allowed_types) and (not is_bool or bool in allowed_types)
    )
    if not ok:
        hint = " (write floats with a dot or exponent, e.g. 5.0e-6)" if isinstance(value, str) else ""
        raise PresetError(
            path, tag, f"expected {spec['type']}, got {type(value).__name__} {value!r}{hint}"
        )
    from lizrcl_tools.vasp.incar_rules import check_value_rule

    check_value_rule(tag, value, path)
    allowed_values = spec.get("values")
    if allowed_values and not isinstance(value, (list, tuple)):
        if not any(values_equal(value, v) for v in allowed_values):
            warnings.warn(
                f"{path}: {tag} = {value!r} is not in pymatgen's list of values {allowed_values}",
                LizrclWarning,
                stacklevel=3,
            )


def values_equal(a: Any, b: Any) -> bool:
    """Whether two INCAR values mean the same to VASP.

    Strings compare case-insensitively (VASP reads ``GGA = BF`` and ``Bf`` alike; pymatgen
    capitalises on reading), numbers to 1e-12 relative, booleans only with booleans.
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=0.0)
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().lower() == b.strip().lower()
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    return a == b


# --------------------------------------------------------------------------- presets


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
    path = Path(text) if is_path else _find_preset(text)
    if not path.is_file():
        raise PresetError(path, path.name, "preset file does not exist")
    data = _read_yaml(path)
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


# --------------------------------------------------------------------------- overrides


@dataclass(frozen=True)
class IncarChange:
    """One difference between the written INCAR and the preset.

    Attributes
    ----------
    tag : str
    action : str
        ``"added"``, ``"changed"`` or ``"removed"``.
    preset_value, value : Any
        Before (None when added) and after (None when removed).
    source : str
        Where the override came from (``--incar``, a file path, ``incar_overrides``).
    """

    tag: str
    action: str
    preset_value: Any
    value: Any
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"tag": self.tag, "action": self.action, "preset_value": self.preset_value,
                "value": self.value, "source": self.source}

    def __str__(self) -> str:
        if self.action == "added":
            return f"{self.tag} = {self.value!r} added (from {self.source})"
        if self.action == "removed":
            return f"{self.tag} (was {self.preset_value!r}) removed (from {self.source})"
        return f"{self.tag}: {self.preset_value!r} -> {self.value!r} (from {self.source})"


def parse_incar_assignments(items: Sequence[str], source: str = "--incar") -> dict[str, Any]:
    """Parse ``["ENCUT=520", "ISMEAR=0"]`` into typed values, as pymatgen reads an INCAR.

    ``TAG=`` (empty value) removes the tag. Unknown tags raise :class:`PresetError` naming
    ``source`` and the tag.
    """
    from pymatgen.io.vasp.inputs import Incar

    known = known_incar_tags()
    out: dict[str, Any] = {}
    for item in items:
        tag, sep, raw = item.partition("=")
        tag = tag.strip().upper()
        if not sep or not tag:
            raise PresetError(source, item, "expected TAG=VALUE (e.g. ENCUT=520; TAG= removes a tag)")
        if tag not in known:
            raise PresetError(source, tag, "unknown INCAR tag (VASP would ignore it silently)")
        raw = raw.strip()
        if not raw:
            out[tag] = None
            continue
        value = Incar.proc_val(tag, raw)
        if isinstance(value, str) and tag not in ("SYSTEM",):
            value = raw  # keep the user's spelling; proc_val capitalises strings
        check_incar_value(tag, value, known, source)
        out[tag] = value
    return out


def read_incar_overrides(path: str | PathLike) -> dict[str, Any]:
    """Read overrides from a YAML file (``TAG: value``, optionally under ``incar:``) or an INCAR.

    Files ending in ``.yaml``/``.yml`` are YAML (``null`` removes a tag); anything else is
    read as an INCAR with :class:`pymatgen.io.vasp.Incar`.
    """
    path = Path(path)
    known = known_incar_tags()
    if path.suffix.lower() in (".yaml", ".yml"):
        data = _read_yaml(path)
        if isinstance(data, Mapping) and set(data) == {"incar"}:
            data = data["incar"]
        if not isinstance(data, Mapping):
            raise PresetError(path, "<top level>", "expected a mapping of INCAR tags")
        out: dict[str, Any] = {}
        for raw_tag, value in data.items():
            tag = str(raw_tag).strip().upper()
            if value is not None:
                check_incar_value(tag, value, known, path)
            elif tag not in known:
                raise PresetError(path, tag, "unknown INCAR tag (VASP would ignore it silently)")
            out[tag] = value
        return out
    from pymatgen.io.vasp.inputs import Incar

    try:
        incar = Incar.from_file(path)
    except (OSError, ValueError) as exc:
        raise ParseError(path, f"cannot read as an INCAR: {exc}") from exc
    for tag, value in incar.items():
        check_incar_value(tag, value, known, path)
    return dict(incar)


def merge_incar(
    preset: Preset, layers: Sequence[tuple[str, Mapping[str, Any]]]
) -> tuple[dict[str, Any], list[IncarChange]]:
    """Apply override layers (later wins) to the preset's INCAR.

    Parameters
    ----------
    preset : Preset
    layers : sequence of (source, {tag: value})
        ``None`` as a value removes the tag. Each layer's values are absolute.

    Returns
    -------
    incar : dict
        Final tags: preset order first, added tags after.
    changes : list of IncarChange
        Every tag whose final state differs from the preset, with the layer that set it. A
        value equal to the preset's (strings case-insensitively) keeps the preset spelling.
    """
    final = dict(preset.incar)
    setter: dict[str, str] = {}
    for source, layer in layers:
        for raw_tag, value in layer.items():
            tag = raw_tag.strip().upper()
            setter[tag] = source
            if value is None:
                final.pop(tag, None)
            elif not (tag in final and values_equal(final[tag], value)):
                final[tag] = value
    changes = []
    for tag, source in setter.items():
        before, after = preset.incar.get(tag), final.get(tag)
        if before is None and after is not None:
            changes.append(IncarChange(tag, "added", None, after, source))
        elif before is not None and after is None:
            changes.append(IncarChange(tag, "removed", before, None, source))
        elif before is not None and not values_equal(before, after):
            changes.append(IncarChange(tag, "changed", before, after, source))
    return final, changes


# --------------------------------------------------------------------------- file text


def render_incar(incar: Mapping[str, Any]) -> str:
    """INCAR text from pymatgen's :class:`~pymatgen.io.vasp.Incar`, verified by reading back.

    String values are written as given (pymatgen would capitalise ``BF`` to ``Bf``). The
    text is parsed again with ``Incar.from_str``; if any tag is missing, extra or different,
    :class:`SetupError` is raised rather than writing an INCAR that differs from the request.
    """
    from pymatgen.io.vasp.inputs import Incar

    obj = Incar()
    for tag, value in incar.items():
        # Straight into the dict: Incar.__setitem__ would rewrite the string's case.
        obj.data[tag] = list(value) if isinstance(value, tuple) else value
    text = obj.get_str(sort_keys=False)
    parsed = Incar.from_str(text)
    missing = set(incar) ^ set(parsed)
    if missing:
        raise SetupError(f"pymatgen's INCAR writer lost or added tags {sorted(missing)}; not writing")
    for tag, value in incar.items():
        if not values_equal(value, parsed[tag]):
            raise SetupError(
                f"pymatgen writes INCAR tag {tag} as {parsed[tag]!r}, not {value!r}; not writing"
            )
    return text


def render_kpoints(length: int, comment: str) -> str:
    """Fully automatic KPOINTS (``Auto``, length in Å) via pymatgen, verified by reading back."""
    from pymatgen.io.vasp.inputs import Kpoints, KpointsSupportedModes

    kpoints = Kpoints(comment=comment, num_kpts=0, style=KpointsSupportedModes.Automatic, kpts=[[length]])
    text = str(kpoints)
    with warnings.catch_warnings():
        # pymatgen deprecates the Automatic mode in favour of KSPACING, whose rounding
        # differs from the study's "length 25" mesh; the mode is kept on purpose.
        warnings.simplefilter("ignore", DeprecationWarning)
        back = Kpoints.from_str(text)
    if back.style != KpointsSupportedModes.Automatic or list(back.kpts[0]) != [length]:
        raise SetupError(f"pymatgen wrote KPOINTS that reads back as {back.style} {back.kpts}")
    return text
