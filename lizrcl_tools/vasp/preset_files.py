"""Where VASP presets live, and the strict YAML reading they (and INCAR override files) share.

Presets are YAML files in the top-level ``vasp_inputs/`` folder (or its installed copy, see
:func:`preset_dirs`). :func:`read_yaml` rejects duplicate keys and reads ``5e-6`` as a float;
its syntax errors are :class:`~lizrcl_tools.errors.ParseError` with the line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import ParseError, PresetError
from lizrcl_tools.resources import resource_dirs


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


def read_yaml(path: Path) -> Any:
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


def find_preset(name: str) -> Path:
    """Path of the preset called ``name`` (first of :func:`preset_dirs` that has it)."""
    for folder in preset_dirs():
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(d) for d in preset_dirs()) or "(no preset folder found)"
    raise PresetError(
        searched, name, f"unknown preset; available: {', '.join(available_presets()) or 'none'}"
    )
