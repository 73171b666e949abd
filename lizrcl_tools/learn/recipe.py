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
    select: {max_frames: 8, min_novelty: 0.0005}   # optional: committee: [previous, teacher],
                                                 #   min_disagreement_eV_A: 0.3
    train: {num_channels: 8, max_L: 0, r_max: 4.0, max_num_epochs: 1, ...}   # TrainConfig fields

Generators: ``rattle``, ``volume_scan``, ``model_md``, ``teacher_md`` (named cells,
``name@N`` supercells, ``mixed:x`` random cells; every listed temperature), ``random_cells``
(over an x range of (LiCl)1−x(ZrCl4)x), ``contacts`` (pairs pushed to distances, Å),
``hot_rattle``, ``ssw_walk`` (SSW walks of the previous generation's model, their minima and
walk points; not in generation 0), ``ssw_minima`` (existing SSW minima databases); keys and defaults in
:data:`GENERATOR_SPECS`, code in :mod:`lizrcl_tools.learn.generators`.

Generations may differ: ``generations`` is then a list, one mapping per generation, whose
``structures``/``generators``/``select`` replace the top-level ones and whose ``train`` is
merged over the top-level ``train``::

    generations:
      - name: initial
        generators: {random_cells: {n_frames: 50}, teacher_md: {structures: [li2zrcl6-p3m1@54]}}
      - name: contacts
        generators: {contacts: {pairs: {Li-Cl: [1.6, 2.4]}, per_pair: 6}}
        train: {max_num_epochs: 30}

The shipped model's five rounds are such a recipe: ``lizrcl_tools/data/recipes/default_model.yaml``.

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

GENERATOR_SPECS: dict[str, dict[str, tuple[str, Any]]] = {
    "rattle": {"per_structure": ("int", 4), "sigma_A": ("positive", 0.05)},
    "volume_scan": {"scales": ("positives", [0.95, 1.0, 1.05]), "sigma_A": ("non-negative", 0.02)},
    "model_md": {"temperature_K": ("positive", 600.0), "steps": ("int", 200), "every": ("int", 20),
                 "timestep_fs": ("positive", 1.0)},
    "teacher_md": {"structures": ("names", ["li2zrcl6-p3m1@54"]), "temperatures_K": ("positives", [600.0]),
                   "steps": ("int", 300), "every": ("int", 10), "timestep_fs": ("positive", 2.0)},
    "random_cells": {"n_frames": ("int", 20), "x_range": ("range", [0.0, 1.0]), "x_one_fraction": ("fraction", 0.0),
                     "max_strain": ("non-negative", 0.04), "rattle_A": ("range", [0.02, 0.12])},
    "contacts": {"pairs": ("pairs", {"Li-Cl": [1.6, 2.4], "Zr-Cl": [1.8, 2.3]}), "per_pair": ("int", 4),
                 "sigma_A": ("non-negative", 0.08), "move_both": ("bool", True)},
    "hot_rattle": {"n_frames": ("int", 24), "sigma_A": ("range", [0.10, 0.30]), "max_strain": ("non-negative", 0.03)},
    "ssw_walk": {"structures": ("names", ["li2zrcl6-p3m1"]), "steps": ("int", 10), "walkers": ("int", 2),
                 "dispersion": ("dispersion", "none"), "window_eV_atom": ("positive", 0.5),
                 "max_walk_points": ("int", 20)},
    "ssw_minima": {"databases": ("names", None), "window_eV_atom": ("positive", 0.5), "max_walk_points": ("int", 20)},
}
"""Generator name → key → (kind, default); a default of None means the key is required.
Kinds: int (≥ 1), positive, non-negative, fraction (0–1), positives (non-empty list),
range ([lo, hi], 0 ≤ lo ≤ hi), names (non-empty list of strings), pairs ({"A-B": range}), bool,
dispersion (none, d3bj, d3zero)."""

GENERATOR_KEYS = {name: {key: kind for key, (kind, _) in spec.items()} for name, spec in GENERATOR_SPECS.items()}
GENERATOR_DEFAULTS = {name: {key: default for key, (_, default) in spec.items() if default is not None}
                      for name, spec in GENERATOR_SPECS.items()}


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
        Starting cells: builder names, ``name@N`` supercells, structure files.
    generators : dict
        Generator name → settings (defaults filled in).
    max_force_eV_A : float
        Physical filter: frames with a teacher force above this are dropped (eV/Å).
    max_frames : int
        Frames labelled per generation, chosen by fingerprint novelty.
    min_novelty : float
        Smallest fingerprint (cosine) distance to every frame already in the pool.
    committee : list of str
        Committee of force models for disagreement selection (``previous``, ``previous2``: the
        models of generations k−1, k−2; ``teacher``; or a reference such as ``mace:PATH``);
        empty: no disagreement selection.
    min_disagreement_eV_A : float
        With a committee: keep only candidates on which two members' forces differ by more
        than this on some atom (eV/Å), before novelty selection.
    train : dict
        :class:`~lizrcl_tools.potential.train.TrainConfig` fields.
    seed : int
        Seed of every stochastic step (generation k uses ``seed + k``).
    rounds : list of dict
        Per generation, when the recipe lists its generations: ``name`` and what replaces the
        top-level ``structures``, ``generators``, ``select`` or is merged over ``train``.
        Empty: every generation uses the top-level settings.
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
    committee: list[str] = field(default_factory=list)
    min_disagreement_eV_A: float = 0.0
    train: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    rounds: list[dict[str, Any]] = field(default_factory=list)
    source: str = "<recipe>"

    def plan(self, k: int) -> dict[str, Any]:
        """Settings of generation ``k``: name, structures, generators, max_frames, min_novelty,
        committee, min_disagreement_eV_A, train."""
        out = {"name": f"gen_{k:03d}", "structures": self.structures, "generators": self.generators,
               "max_frames": self.max_frames, "min_novelty": self.min_novelty, "committee": self.committee,
               "min_disagreement_eV_A": self.min_disagreement_eV_A, "train": self.train}
        if self.rounds:
            r = self.rounds[k]
            out.update({key: r[key] for key in ("name", "structures", "generators", "max_frames", "min_novelty",
                                                "committee", "min_disagreement_eV_A") if key in r})
            out["train"] = {**self.train, **r.get("train", {})}
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (written to ``WORK/recipe.json``; a rerun must match it)."""
        out = dataclasses.asdict(self)
        out.pop("source")
        return out


_TOP = {"teacher", "generations", "structures", "generators", "filter", "select", "train", "seed"}
_ROUND = {"name", "structures", "generators", "select", "train"}
_SELECT = {"max_frames", "min_novelty", "committee", "min_disagreement_eV_A"}


def _committee(path: Any, where: str, select: dict[str, Any]) -> tuple[list[str], float]:
    """``committee`` and ``min_disagreement_eV_A`` of a select block: both or neither."""
    committee = select.get("committee", [])
    if "committee" not in select and "min_disagreement_eV_A" not in select:
        return [], 0.0
    if not (isinstance(committee, list) and len(committee) >= 2 and all(isinstance(c, str) and c for c in committee)
            and len(set(committee)) == len(committee)):
        raise PresetError(path, f"{where}.committee", "expected two or more different force models (previous, "
                          f"previous2, teacher, or references such as mace:PATH), got {committee!r}")
    if "min_disagreement_eV_A" not in select:
        raise PresetError(path, f"{where}.min_disagreement_eV_A", "required with a committee (eV/Å)")
    return list(committee), _number(path, f"{where}.min_disagreement_eV_A", select["min_disagreement_eV_A"])


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
    """Check ``data`` (a parsed recipe) and return the :class:`Recipe`; errors name ``path``.

    ``generations`` is a count (every generation runs the top-level settings) or a list, one
    mapping per generation with any of ``name``, ``structures``, ``generators`` (replace the
    top-level ones), ``select`` and ``train`` (merged over them).
    """
    for key in data:
        if key not in _TOP:
            raise PresetError(path, str(key), f"unknown key; expected one of {', '.join(sorted(_TOP))}")
    teacher = data.get("teacher")
    if not isinstance(teacher, str) or not teacher:
        raise PresetError(path, "teacher", "required: a labelling reference such as 'sevennet' or 'mace:PATH'")
    seed = _int(path, "seed", data.get("seed", 0), 0)
    structures = _structures(path, "structures", data.get("structures", ["li2zrcl6-p3m1"]))
    gens_raw = data.get("generations", 1)
    rounds_in = gens_raw if isinstance(gens_raw, list) else None
    if rounds_in is None:
        generations = _int(path, "generations", gens_raw, 1)
    elif not rounds_in:
        raise PresetError(path, "generations", "an empty list; give a count or one mapping per generation")
    else:
        generations = len(rounds_in)
    if "generators" in data or rounds_in is None or not all(isinstance(r, dict) and "generators" in r for r in rounds_in):
        generators = _generators(path, "generators", data.get("generators"))
    else:
        generators = {}
    filt = _section(path, "filter", data, {"max_force_eV_A"})
    select = _section(path, "select", data, _SELECT)
    max_force = _number(path, "filter.max_force_eV_A", filt.get("max_force_eV_A", 30.0))
    max_frames = _int(path, "select.max_frames", select.get("max_frames", 50), 1)
    min_novelty = _number(path, "select.min_novelty", select.get("min_novelty", 1e-3), allow_zero=True)
    committee, min_disagreement = _committee(path, "select", select)
    train = _train(path, "train", data.get("train") or {})
    rounds = []
    for k, r in enumerate(rounds_in or []):
        where = f"generations[{k}]"
        if not isinstance(r, dict):
            raise PresetError(path, where, "expected a mapping (name, structures, generators, select, train)")
        for key in r:
            if key not in _ROUND:
                raise PresetError(path, f"{where}.{key}", f"unknown key; expected one of {', '.join(sorted(_ROUND))}")
        out: dict[str, Any] = {"name": str(r.get("name", f"gen_{k:03d}"))}
        if "structures" in r:
            out["structures"] = _structures(path, f"{where}.structures", r["structures"])
        if "generators" in r:
            out["generators"] = _generators(path, f"{where}.generators", r["generators"])
        sel = _section(path, f"{where}.select", r, _SELECT, name="select")
        if "max_frames" in sel:
            out["max_frames"] = _int(path, f"{where}.select.max_frames", sel["max_frames"], 1)
        if "min_novelty" in sel:
            out["min_novelty"] = _number(path, f"{where}.select.min_novelty", sel["min_novelty"], allow_zero=True)
        if "committee" in sel or "min_disagreement_eV_A" in sel:
            out["committee"], out["min_disagreement_eV_A"] = _committee(path, f"{where}.select", sel)
        if "train" in r:
            out["train"] = _train(path, f"{where}.train", r["train"] or {}, base=train)
        rounds.append(out)
    first = rounds[0].get("generators", generators) if rounds else generators
    if "ssw_walk" in first:
        raise PresetError(path, "generations[0].generators.ssw_walk" if rounds else "generators.ssw_walk",
                          "walks the previous generation's model, and generation 0 has none; list generations "
                          "and use it from the second on")
    return Recipe(teacher=teacher, generations=generations, structures=structures, generators=generators,
                  max_force_eV_A=max_force, max_frames=max_frames, min_novelty=min_novelty, committee=committee,
                  min_disagreement_eV_A=min_disagreement, train=dict(train),
                  seed=seed, rounds=rounds, source=str(path))


def _structures(path: Any, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise PresetError(path, where, "expected a non-empty list of builder names (name@N: a supercell of N "
                          "atoms) or structure files")
    return list(value)


def _generators(path: Any, where: str, gens_in: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(gens_in, dict) or not gens_in:
        raise PresetError(path, where, f"expected a mapping with one or more of {', '.join(GENERATOR_SPECS)}")
    generators = {}
    for name, settings in gens_in.items():
        if name not in GENERATOR_SPECS:
            raise PresetError(path, f"{where}.{name}", f"unknown generator; expected one of {', '.join(GENERATOR_SPECS)}")
        settings = settings or {}
        if not isinstance(settings, dict):
            raise PresetError(path, f"{where}.{name}", "expected a mapping of settings")
        merged = dict(GENERATOR_DEFAULTS[name])
        for key, value in settings.items():
            if key not in GENERATOR_SPECS[name]:
                raise PresetError(path, f"{where}.{name}.{key}",
                                  f"unknown key; expected one of {', '.join(GENERATOR_SPECS[name])}")
            merged[key] = _value(path, f"{where}.{name}.{key}", GENERATOR_SPECS[name][key][0], value)
        for key, (_, default) in GENERATOR_SPECS[name].items():
            if key not in merged:
                raise PresetError(path, f"{where}.{name}.{key}", "required")
        generators[name] = merged
    return generators


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _value(path: Any, where: str, kind: str, value: Any) -> Any:
    """One generator setting checked against its kind (see :data:`GENERATOR_SPECS`)."""
    def bad(expected: str) -> PresetError:
        return PresetError(path, where, f"expected {expected}, got {value!r}")

    if kind == "int":
        return _int(path, where, value, 1)
    if kind == "dispersion":
        if value not in ("none", "d3bj", "d3zero"):
            raise bad("none, d3bj or d3zero")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind in ("positive", "non-negative", "fraction"):
        if not _is_number(value) or value < 0 or (kind == "positive" and value == 0) or (kind == "fraction" and value > 1):
            raise bad({"positive": "a number > 0", "non-negative": "a number ≥ 0", "fraction": "a number in [0, 1]"}[kind])
        return float(value)
    if kind == "positives":
        if not isinstance(value, list) or not value or not all(_is_number(v) and v > 0 for v in value):
            raise bad("a non-empty list of positive numbers")
        return [float(v) for v in value]
    if kind == "range":
        if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) and v >= 0 for v in value)
                and value[0] <= value[1]):
            raise bad("[lo, hi] with 0 ≤ lo ≤ hi")
        return [float(v) for v in value]
    if kind == "names":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise bad("a non-empty list of names")
        return list(value)
    if kind == "pairs":
        from ase.data import atomic_numbers

        if not isinstance(value, dict) or not value:
            raise bad("a mapping such as {Li-Cl: [1.6, 2.4]} (distances in Å)")
        out = {}
        for pair, rng in value.items():
            elements = str(pair).split("-")
            if len(elements) != 2 or not all(e in atomic_numbers for e in elements):
                raise PresetError(path, f"{where}.{pair}", "expected a pair of elements such as Li-Cl")
            out[str(pair)] = _value(path, f"{where}.{pair}", "range", rng)
            if out[str(pair)][0] <= 0:
                raise PresetError(path, f"{where}.{pair}", f"distances must be > 0 Å, got {rng!r}")
        return out
    raise ValueError(kind)


def _train(path: Any, where: str, train: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    from lizrcl_tools.potential.train import TrainConfig

    if not isinstance(train, dict):
        raise PresetError(path, where, "expected a mapping of TrainConfig fields")
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for key in train:
        if key not in fields or key in ("name", "seed"):
            raise PresetError(path, f"{where}.{key}", f"unknown training setting; expected TrainConfig fields "
                              f"({', '.join(sorted(fields - {'name', 'seed'}))})")
    train = {k: (tuple(v) if k == "extra_args" and isinstance(v, list) else v) for k, v in train.items()}
    try:
        TrainConfig(**{**(base or {}), **train})
    except (TypeError, ValueError) as exc:
        raise PresetError(path, where, str(exc)) from exc
    return dict(train)


def _section(path: Any, where: str, data: dict[str, Any], allowed: set[str], name: str | None = None) -> dict[str, Any]:
    section = data.get(name or where) or {}
    if not isinstance(section, dict):
        raise PresetError(path, where, "expected a mapping")
    for key in section:
        if key not in allowed:
            raise PresetError(path, f"{where}.{key}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
    return section


def _int(path: Any, key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PresetError(path, key, f"expected an integer ≥ {minimum}, got {value!r}")
    return value


def _number(path: Any, key: str, value: Any, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (value == 0 and not allow_zero):
        raise PresetError(path, key, f"expected a {'non-negative' if allow_zero else 'positive'} number, got {value!r}")
    return float(value)
