"""What is in a training file: ``lizrcl data stats train.extxyz [--plot stats.png]``.

Counts frames by reduced formula, by x in (LiCl)1−x(ZrCl4)x, by ``config_type``; gives the range
of the energy per atom (eV/atom, from ``REF_energy``) and of the largest atomic force per frame
(eV/Å, norm of ``REF_forces`` rows). The optional PNG shows histograms of energy per atom and of
force components, and the composition and config_type counts.

x is defined for frames made only of Li, Zr and Cl that are charge neutral with Li+, Zr4+, Cl−
(Cl = Li + 4 Zr): x = Zr / (Li + Zr). LiCl is x = 0, Li2ZrCl6 = 2 LiCl + ZrCl4 is x = 1/3,
ZrCl4 is x = 1. Other frames (Li metal, interfaces, off-stoichiometric cells) are counted under
``n_outside_x_series``.
"""

from __future__ import annotations

import functools
import math
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from lizrcl_tools import keys
from lizrcl_tools._deprecated import renamed
from lizrcl_tools.dataset.labelling import iter_labelled_frames
from lizrcl_tools.errors import ParseError

# The one extxyz training-file reader lives with the labelling that writes those files.
iread_training_file = renamed(iter_labelled_frames, "lizrcl_tools.dataset.stats.iread_training_file")


def reduced_formula(symbols: Iterable[str]) -> str:
    """Reduced formula, elements by increasing electronegativity (so Li, Zr, Cl; NaCl).

    >>> reduced_formula(["Cl"] * 12 + ["Li"] * 4 + ["Zr"] * 2)
    'Li2ZrCl6'
    """
    return _reduced_formula(tuple(sorted(Counter(symbols).items())))


@functools.lru_cache(maxsize=4096)
def _reduced_formula(counts: tuple[tuple[str, int], ...]) -> str:
    # Cached: a training set has few distinct compositions but tens of thousands of frames.
    from pymatgen.core import Element

    divisor = math.gcd(*(n for _, n in counts))
    ordered = sorted(counts, key=lambda item: (Element(item[0]).X, item[0]))
    return "".join(f"{e}{n // divisor if n // divisor > 1 else ''}" for e, n in ordered)


def composition_x(frame: Atoms | Iterable[str], neutral_only: bool = True) -> float | None:
    """x of (LiCl)1−x(ZrCl4)x, ``N_Zr / (N_Li + N_Zr)``, of a frame.

    Parameters
    ----------
    frame : ase.Atoms or iterable of str
        The frame, or its chemical symbols.
    neutral_only : bool
        True (default): x only for a charge-neutral frame made of Li, Zr and Cl alone
        (Cl = Li + 4 Zr), else None. False: the ratio for any frame holding Li or Zr, other
        elements and charge ignored (used to bin error reports).

    Returns
    -------
    float or None
        x in [0, 1]; None when it is not defined (no Li or Zr, or outside the series).
    """
    symbols = frame.get_chemical_symbols() if isinstance(frame, Atoms) else frame
    counts = Counter(symbols)
    li, zr, cl = counts.get("Li", 0), counts.get("Zr", 0), counts.get("Cl", 0)
    if li + zr == 0:
        return None
    if neutral_only and (set(counts) - set(keys.ELEMENTS) or cl != li + 4 * zr):
        return None
    return zr / (li + zr)


def _range(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    arr = np.asarray(values)
    return {"min": float(arr.min()), "max": float(arr.max()), "mean": float(arr.mean())}


MAX_LISTED = 20
"""Frames with non-finite labels listed by index in the statistics (all are counted)."""


def non_finite_labels(atoms: Atoms) -> list[str]:
    """Names of the labels (and positions) of ``atoms`` holding NaN or inf."""
    bad = []
    if not np.isfinite(np.asarray(atoms.positions, dtype=float)).all():
        bad.append("positions")
    for key in (keys.REF_ENERGY, keys.REF_STRESS):
        if key in atoms.info:
            try:
                finite = np.isfinite(np.asarray(atoms.info[key], dtype=float)).all()
            except (TypeError, ValueError):
                finite = False
            if not finite:
                bad.append(key)
    if keys.REF_FORCES in atoms.arrays and not np.isfinite(
        np.asarray(atoms.arrays[keys.REF_FORCES], dtype=float)
    ).all():
        bad.append(keys.REF_FORCES)
    return bad


def _accumulate(frames: Iterable[Atoms]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One pass over ``frames``: the summary dict and the samples the plot needs."""
    by_formula: Counter[str] = Counter()
    by_x: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    elements: Counter[str] = Counter()
    e_per_atom: list[float] = []
    max_force: list[float] = []
    components: list[np.ndarray] = []
    n_frames = n_atoms = n_stress = n_no_energy = n_no_forces = n_outside = 0
    non_finite: list[dict[str, Any]] = []
    n_non_finite = 0
    for atoms in frames:
        symbols = atoms.get_chemical_symbols()
        n_frames += 1
        bad = non_finite_labels(atoms)
        if bad:
            # Kept out of every range and histogram: one NaN would turn them all into nan.
            n_non_finite += 1
            if len(non_finite) < MAX_LISTED:
                non_finite.append({"frame": n_frames - 1, "labels": bad,
                                   "source": str(atoms.info.get(keys.SOURCE, ""))})
        n_atoms += len(atoms)
        elements.update(symbols)
        by_formula[reduced_formula(symbols)] += 1
        by_type[str(atoms.info.get(keys.CONFIG_TYPE, "(none)"))] += 1
        x = composition_x(symbols)
        if x is None:
            n_outside += 1
        else:
            by_x[f"{x:.4f}"] += 1
        if bad:
            pass
        elif keys.REF_ENERGY in atoms.info:
            e_per_atom.append(float(atoms.info[keys.REF_ENERGY]) / len(atoms))
        else:
            n_no_energy += 1
        if bad:
            pass
        elif keys.REF_FORCES in atoms.arrays:
            f = np.asarray(atoms.arrays[keys.REF_FORCES], dtype=float)
            max_force.append(float(np.linalg.norm(f, axis=1).max()))
            components.append(f.astype(np.float32).ravel())
        else:
            n_no_forces += 1
        n_stress += keys.REF_STRESS in atoms.info
    stats = {
        "n_frames": n_frames,
        "n_atoms": n_atoms,
        "elements": dict(sorted(elements.items())),
        "by_formula": dict(by_formula.most_common()),
        "by_x": dict(sorted(by_x.items())),
        "n_outside_x_series": n_outside,
        "by_config_type": dict(by_type.most_common()),
        "energy_per_atom_eV": _range(e_per_atom),
        "max_abs_force_eV_A": _range(max_force),
        "n_with_stress": n_stress,
        "n_without_energy": n_no_energy,
        "n_without_forces": n_no_forces,
        "n_non_finite": n_non_finite,
        "non_finite_frames": non_finite,
    }
    samples = {
        "energy_per_atom_eV": np.asarray(e_per_atom),
        "force_components_eV_A": np.concatenate(components) if components else np.zeros(0),
    }
    return stats, samples


def dataset_stats(frames: Iterable[Atoms]) -> dict[str, Any]:
    """Summary of a training set, in one pass (frames may be a generator).

    Parameters
    ----------
    frames : iterable of ase.Atoms
        Frames labelled with the keys of :mod:`lizrcl_tools.keys`.

    Returns
    -------
    dict
        ``n_frames``, ``n_atoms``, ``elements`` (atom counts), ``by_formula`` (reduced formula
        → frames), ``by_x`` (x of (LiCl)1−x(ZrCl4)x to 4 decimals → frames),
        ``n_outside_x_series``, ``by_config_type``, ``energy_per_atom_eV`` and
        ``max_abs_force_eV_A`` (each ``{"min", "max", "mean"}`` or None; the force is the
        largest per-atom force norm of each frame), ``n_with_stress``, ``n_without_energy``,
        ``n_without_forces``, ``n_non_finite`` (frames with a NaN or inf label or position:
        left out of the ranges) and ``non_finite_frames`` (the first :data:`MAX_LISTED` of
        them: 0-based frame, labels, source).
    """
    return _accumulate(frames)[0]


def plot_stats(
    stats: dict[str, Any],
    samples: dict[str, np.ndarray],
    path: str | os.PathLike,
    force: bool | None = None,
) -> Path:
    """Write a four-panel PNG: energy/atom and force-component histograms, x and config_type counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lizrcl_tools.fileio import save_figure

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    ax = axes[0, 0]
    ax.hist(samples["energy_per_atom_eV"], bins=60, color="tab:blue")
    ax.set(xlabel="REF_energy per atom (eV/atom)", ylabel="frames", title="Energy per atom")
    ax = axes[0, 1]
    ax.hist(samples["force_components_eV_A"], bins=100, color="tab:orange", log=True)
    ax.set(xlabel="REF_forces component (eV/Å)", ylabel="components (log)", title="Force components")
    ax = axes[1, 0]
    if stats["by_x"]:
        xs = [float(k) for k in stats["by_x"]]
        ax.bar(xs, list(stats["by_x"].values()), width=0.01, color="tab:green")
    ax.set(xlabel="x in (LiCl)$_{1-x}$(ZrCl$_4$)$_x$", ylabel="frames",
           title=f"Composition ({stats['n_outside_x_series']} frames outside the series)")
    ax = axes[1, 1]
    types = stats["by_config_type"]
    ax.barh(list(types), list(types.values()), color="tab:purple")
    ax.set(xlabel="frames", title="config_type")
    fig.suptitle(f"{stats['n_frames']} frames, {stats['n_atoms']} atoms")
    return save_figure(fig, path, dpi=110, force=force)


def stats_of_file(
    path: str | os.PathLike, plot: str | os.PathLike | None = None, force: bool | None = None
) -> dict[str, Any]:
    """:func:`dataset_stats` of an extxyz file, optionally with the PNG of :func:`plot_stats`
    (``force``: replace an existing plot, see :mod:`lizrcl_tools.fileio`)."""
    if plot is not None and force is not None:
        from lizrcl_tools.fileio import check_output

        check_output(plot, force=force, what="plot")
    if Path(path).is_file() and not Path(path).read_bytes()[:65536].strip():
        raise ParseError(path, "the file is empty; expected an extxyz training file")
    stats, samples = _accumulate(iter_labelled_frames(path))
    if stats["n_frames"] == 0:
        raise ParseError(path, "no frames")
    if plot is not None:
        plot_stats(stats, samples, plot, force=force)
    return stats


def format_stats(stats: dict[str, Any]) -> str:
    """Plain-text report of :func:`dataset_stats` output."""
    def rng(r: dict[str, float] | None, unit: str) -> str:
        return "n/a" if r is None else f"{r['min']:.4f} .. {r['max']:.4f} {unit} (mean {r['mean']:.4f})"

    lines = []
    if stats.get("n_non_finite"):
        listed = "; ".join(
            f"frame {item['frame']} ({', '.join(item['labels'])}"
            + (f", {item['source']})" if item["source"] else ")")
            for item in stats["non_finite_frames"][:5]
        )
        more = stats["n_non_finite"] - min(5, len(stats["non_finite_frames"]))
        lines.append(
            f"NON-FINITE: {stats['n_non_finite']} frame(s) hold NaN or inf (0-based): {listed}"
            + (f" and {more} more" if more > 0 else "")
            + ". They are left out of the ranges below; remove or relabel them before training"
        )
    lines += [
        f"frames: {stats['n_frames']}   atoms: {stats['n_atoms']}   elements: {stats['elements']}",
        f"energy per atom: {rng(stats['energy_per_atom_eV'], 'eV/atom')}",
        f"max |force| per frame: {rng(stats['max_abs_force_eV_A'], 'eV/Å')}",
        f"with stress: {stats['n_with_stress']}; without energy: {stats['n_without_energy']}; "
        f"without forces: {stats['n_without_forces']}",
        "config_type: " + ", ".join(f"{k} {v}" for k, v in stats["by_config_type"].items()),
        f"x in (LiCl)1-x(ZrCl4)x ({stats['n_outside_x_series']} frames outside the series):",
    ]
    lines += [f"  x = {k}: {v}" for k, v in stats["by_x"].items()]
    lines.append("reduced formula:")
    lines += [f"  {k}: {v}" for k, v in stats["by_formula"].items()]
    return "\n".join(lines)
