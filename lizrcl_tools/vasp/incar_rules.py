"""Value rules for INCAR tags, kept as data in ``vasp_inputs/_incar_value_rules.yaml``.

The type of a tag is checked by :func:`lizrcl_tools.vasp.presets.check_incar_value`; this
module adds what the type cannot say: NSW ≥ 0, IBRION in VASP's list, ISIF 0–8, ISMEAR ≥ −5
(or −14/−15), ENCUT/EDIFF/SIGMA/POTIM > 0, and so on. VASP runs many nonsensical values
without complaint, so a value outside its rule is a :class:`~lizrcl_tools.errors.PresetError`
naming the file and the tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from os import PathLike
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import PresetError

RULES_FILE = "_incar_value_rules.yaml"
_RULE_KEYS = ("min", "max", "min_exclusive", "max_exclusive", "values", "also", "why")


@lru_cache(maxsize=4)
def _load(path: Path) -> Mapping[str, Mapping[str, Any]]:
    from lizrcl_tools.vasp.preset_files import read_yaml

    data = read_yaml(path) or {}
    rules = {}
    for tag, rule in data.items():
        if not isinstance(rule, Mapping) or not set(rule) <= set(_RULE_KEYS):
            raise PresetError(path, str(tag), f"a rule is a mapping with keys from {list(_RULE_KEYS)}")
        rules[str(tag).upper()] = dict(rule)
    return rules


def incar_value_rules() -> Mapping[str, Mapping[str, Any]]:
    """``tag -> rule`` from the first preset folder holding the rules file (empty if none)."""
    from lizrcl_tools.vasp.presets import preset_dirs

    for folder in preset_dirs():
        if (folder / RULES_FILE).is_file():
            return _load((folder / RULES_FILE).resolve())
    return {}


def check_value_rule(tag: str, value: Any, path: str | PathLike) -> None:
    """Raise :class:`PresetError` if a numeric ``value`` of ``tag`` breaks its rule."""
    rule = incar_value_rules().get(tag)
    if rule is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    why = f" ({rule['why']})" if rule.get("why") else ""
    if value in (rule.get("also") or ()):
        return
    if "values" in rule and value not in rule["values"]:
        raise PresetError(path, tag, f"{value!r} is not one of {rule['values']}{why}")
    bounds = (
        ("min", lambda v, b: v >= b, ">="), ("max", lambda v, b: v <= b, "<="),
        ("min_exclusive", lambda v, b: v > b, ">"), ("max_exclusive", lambda v, b: v < b, "<"),
    )
    for key, ok, sign in bounds:
        if key in rule and not ok(value, rule[key]):
            raise PresetError(path, tag, f"{value!r} is not allowed: must be {sign} {rule[key]}{why}")
