"""INCAR tags: which exist and what type they take, user overrides, merging, INCAR text.

Known tags are data: pymatgen's ``incar_parameters.json`` plus
``vasp_inputs/_extra_incar_tags.yaml`` (:func:`known_incar_tags`). An unknown tag or a wrong
value type is a :class:`~lizrcl_tools.errors.PresetError` naming the file (or ``--incar``) and
the tag, because VASP silently ignores tags it does not know. Overrides are absolute: a user
value replaces the preset's, ``None`` removes the tag, and :func:`merge_incar` lists every
difference from the preset as an :class:`IncarChange`.

Units: ENCUT eV, EDIFF eV, EDIFFG eV/Å (negative: force criterion), SIGMA eV.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lizrcl_tools.errors import LizrclWarning, ParseError, PresetError, SetupError
from lizrcl_tools.vasp.preset_files import preset_dirs, read_yaml

if TYPE_CHECKING:
    from lizrcl_tools.vasp.presets import Preset

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
            extra = read_yaml(extra_file) or {}
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
        data = read_yaml(path)
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
