"""Self-learning recipes: YAML data, checked key by key.

Example (the tiny recipe of the tests; a real one raises the counts and the training)::

    seed: 1
    teacher: mace:lizrcl_tools/data/lizrcl_mace_small.model   # or: sevennet
    generations: 2
    structures: [li2zrcl6-p3m1, licl]     # builder names (lizrcl build --list) or files
    generators:
      rattle: {per_structure: 3, sigma_A: 0.05}
      volume_scan: {scales: [0.97, 1.03], sigma_A: 0.02}
      model_md: {temperature_K: 600, steps: 20, every: 10, timestep_fs: 1.0}   # from generation 1 on
    filter: {max_force_eV_A: 30.0}
    select: {max_frames: 8, min_novelty: 0.0005}
    train: {num_channels: 8, max_L: 0, r_max: 4.0, max_num_epochs: 1, ...}   # TrainConfig fields

Generation 0 has no model of its own yet, so ``model_md`` runs with the teacher there (the
"teacher MD" generator) and with the previous generation's model afterwards (frames the model
visits, where it goes wrong).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import PresetError

GENERATOR_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "rattle": {"per_structure": int, "sigma_A": (int, float)},
    "volume_scan": {"scales": list, "sigma_A": (int, float)},
    "model_md": {"temperature_K": (int, float), "steps": int, "every": int, "timestep_fs": (int, float)},
}
"""Generator name → its keys and their types."""

GENERATOR_DEFAULTS: dict[str, dict[str, Any]] = {
    "rattle": {"per_structure": 4, "sigma_A": 0.05},
    "volume_scan": {"scales": [0.95, 1.0, 1.05], "sigma_A": 0.02},
    "model_md": {"temperature_K": 600.0, "steps": 200, "every": 20, "timestep_fs": 1.0},
}


@dataclass(frozen=True)
class Recipe:
    """A checked self-learning recipe (see the module docstring for the file format).

    Attributes
    ----------
    teacher : str
        Labelling reference (``sevennet``, ``mace:PATH``).
    generations : int
        Number of generations (``gen_000`` … ``gen_{n-1}``).
    structures : list of str
        Builder names or structure files: the starting cells.
    generators : dict
        Generator name → settings (defaults filled in).
    max_force_eV_A : float
        Physical filter: frames with a teacher force above this are dropped (eV/Å).
    max_frames : int
        Frames labelled per generation, chosen by fingerprint novelty.
    min_novelty : float
        Smallest fingerprint (cosine) distance to every frame already in the pool.
    train : dict
        :class:`~lizrcl_tools.potential.train.TrainConfig` fields.
    seed : int
        Seed of every stochastic step (generation k uses ``seed + k``).
    source : str
        The recipe file, for messages and records.
    """

    teacher: str
    generations: int = 1
    structures: list[str] = field(default_factory=lambda: ["li2zrcl6-p3m1"])
    generators: dict[str, dict[str, Any]] = field(default_factory=lambda: {"rattle": dict(GENERATOR_DEFAULTS["rattle"])})
    max_force_eV_A: float = 30.0
    max_frames: int = 50
    min_novelty: float = 1e-3
    train: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    source: str = "<recipe>"

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (written to ``WORK/recipe.json``; a rerun must match it)."""
        out = dataclasses.asdict(self)
        out.pop("source")
        return out


_TOP = {"teacher", "generations", "structures", "generators", "filter", "select", "train", "seed"}


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe file.

    Raises
    ------
    ParseError
        Not readable YAML (line given).
    PresetError
        A missing, unknown or ill-typed key (file and key named).
    """
    from lizrcl_tools.vasp.preset_files import read_yaml

    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise PresetError(path, "<top>", "expected a mapping (teacher, generations, structures, generators, ...)")
    return recipe_from_dict(data, path)


def recipe_from_dict(data: dict[str, Any], path: str | Path = "<recipe>") -> Recipe:
    """Check ``data`` (a parsed recipe) and return the :class:`Recipe`; errors name ``path``."""
    from lizrcl_tools.potential.train import TrainConfig

    for key in data:
        if key not in _TOP:
            raise PresetError(path, str(key), f"unknown key; expected one of {', '.join(sorted(_TOP))}")
    teacher = data.get("teacher")
    if not isinstance(teacher, str) or not teacher:
        raise PresetError(path, "teacher", "required: a labelling reference such as 'sevennet' or 'mace:PATH'")
    generations = _int(path, "generations", data.get("generations", 1), 1)
    seed = _int(path, "seed", data.get("seed", 0), 0)
    structures = data.get("structures", ["li2zrcl6-p3m1"])
    if not isinstance(structures, list) or not structures or not all(isinstance(s, str) for s in structures):
        raise PresetError(path, "structures", "expected a non-empty list of builder names or structure files")
    gens_in = data.get("generators")
    if not isinstance(gens_in, dict) or not gens_in:
        raise PresetError(path, "generators", f"expected a mapping with one or more of {', '.join(GENERATOR_KEYS)}")
    generators = {}
    for name, settings in gens_in.items():
        if name not in GENERATOR_KEYS:
            raise PresetError(path, f"generators.{name}", f"unknown generator; expected one of {', '.join(GENERATOR_KEYS)}")
        settings = settings or {}
        if not isinstance(settings, dict):
            raise PresetError(path, f"generators.{name}", "expected a mapping of settings")
        merged = dict(GENERATOR_DEFAULTS[name])
        for key, value in settings.items():
            where = f"generators.{name}.{key}"
            if key not in GENERATOR_KEYS[name]:
                raise PresetError(path, where, f"unknown key; expected one of {', '.join(GENERATOR_KEYS[name])}")
            kind = GENERATOR_KEYS[name][key]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise PresetError(path, where, f"expected {_kind_name(kind)}, got {value!r}")
            if kind is list and not all(isinstance(v, (int, float)) and v > 0 for v in value):
                raise PresetError(path, where, f"expected positive numbers, got {value!r}")
            if kind is not list and value <= 0:
                raise PresetError(path, where, f"must be > 0, got {value!r}")
            merged[key] = value
        generators[name] = merged
    filt = _section(path, "filter", data, {"max_force_eV_A"})
    select = _section(path, "select", data, {"max_frames", "min_novelty"})
    max_force = _number(path, "filter.max_force_eV_A", filt.get("max_force_eV_A", 30.0))
    max_frames = _int(path, "select.max_frames", select.get("max_frames", 50), 1)
    min_novelty = _number(path, "select.min_novelty", select.get("min_novelty", 1e-3), allow_zero=True)
    train = data.get("train") or {}
    if not isinstance(train, dict):
        raise PresetError(path, "train", "expected a mapping of TrainConfig fields")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in train:
        if key not in fields or key in ("name", "seed"):
            raise PresetError(path, f"train.{key}", f"unknown training setting; expected TrainConfig fields "
                              f"({', '.join(sorted(fields - {'name', 'seed'}))})")
    try:
        TrainConfig(**train)
    except (TypeError, ValueError) as exc:
        raise PresetError(path, "train", str(exc)) from exc
    return Recipe(teacher=teacher, generations=generations, structures=list(structures), generators=generators,
                  max_force_eV_A=max_force, max_frames=max_frames, min_novelty=min_novelty, train=dict(train),
                  seed=seed, source=str(path))


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return {list: "a list", int: "an integer"}.get(kind, "a number") if not isinstance(kind, tuple) else "a number"


def _section(path: Any, name: str, data: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    section = data.get(name) or {}
    if not isinstance(section, dict):
        raise PresetError(path, name, "expected a mapping")
    for key in section:
        if key not in allowed:
            raise PresetError(path, f"{name}.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
    return section


def _int(path: Any, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PresetError(path, key, f"expected an integer ≥ {minimum}, got {value!r}")
    return value


def _number(path: Any, key: str, value: Any, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (value == 0 and not allow_zero):
        raise PresetError(path, key, f"expected a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return float(value)
