"""Errors of a potential against reference labels, overall and per bin, with parity plots.

For frames carrying ``REF_energy`` (eV), ``REF_forces`` (eV/Å) and optionally ``REF_stress``
(eV/Å³, Voigt, ASE sign), a model's predictions are compared as root-mean-square errors:

* energy: RMSE of the per-atom energy error, ``sqrt(mean_f ((E_pred − E_ref) / N_f)²)``, meV/atom;
* forces: RMSE over every Cartesian component of every atom, eV/Å;
* stress: RMSE over the six Voigt components of every frame that has a reference stress, GPa
  (converted with :data:`ase.units.GPa`).

The same numbers are given per composition bin (x of (LiCl)1−x(ZrCl4)x, i.e.
``x = N_Zr / (N_Li + N_Zr)``) and per ``config_type``.

Example
-------
>>> report = evaluate_file("heldout.extxyz", model="lizrcl_mace.model")    # doctest: +SKIP
>>> report["energy_rmse_meV_per_atom"]                                     # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools import keys
from lizrcl_tools._deprecated import renamed
from lizrcl_tools.dataset.stats import composition_x as stats_composition_x
from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.fileio import jsonable
from lizrcl_tools.potential.model_files import check_model_file, default_model_path, load_model_checked

__all__ = ["COMPOSITION_BIN_EDGES", "Predictions", "check_model_file", "composition_bin",
           "default_model_path", "error_metrics", "error_report", "evaluate_file", "evaluate_frames",
           "format_report", "load_model_checked", "parity_plots", "predict", "rmse"]

COMPOSITION_BIN_EDGES = (0.0, 0.05, 0.25, 0.45, 0.65, 0.95, 1.0)
"""Edges of the x bins; the first and last bins catch pure LiCl and pure ZrCl4, 0.25–0.45
holds Li2ZrCl6 (x = 1/3)."""


@dataclass(frozen=True)
class Predictions:
    """Model predictions and reference labels of a list of frames.

    Attributes
    ----------
    n_atoms : ndarray, shape (F,)
    energy_ref, energy_pred : ndarray, shape (F,), eV
    forces_ref, forces_pred : list of ndarray (N_f, 3), eV/Å
    stress_ref, stress_pred : ndarray (F, 6), eV/Å³, NaN where a frame has no reference stress
    x : ndarray (F,), composition x = N_Zr / (N_Li + N_Zr); NaN without Li or Zr
    config_type : list of str
    symbols : list of ndarray (N_f,) of str, optional
        Element of every atom (for per-element force errors); None where not recorded.
    """

    n_atoms: np.ndarray
    energy_ref: np.ndarray
    energy_pred: np.ndarray
    forces_ref: list[np.ndarray]
    forces_pred: list[np.ndarray]
    stress_ref: np.ndarray
    stress_pred: np.ndarray
    x: np.ndarray
    config_type: list[str]
    symbols: list[np.ndarray] | None = None


def rmse(predicted: Any, reference: Any) -> float:
    """Root-mean-square difference of two equally shaped arrays (NaN entries are skipped).

    Returns NaN when nothing is left to compare.
    """
    diff = np.asarray(predicted, dtype=float) - np.asarray(reference, dtype=float)
    diff = diff[np.isfinite(diff)]
    if diff.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean(diff**2)))


def _composition_x_or_nan(atoms: Any) -> float:
    # What potential.evaluate.composition_x returned: NaN where x is undefined.
    x = stats_composition_x(atoms, neutral_only=False)
    return float("nan") if x is None else x


def composition_bin(x: float | None, edges: Sequence[float] = COMPOSITION_BIN_EDGES) -> str:
    """Label of the bin holding ``x`` (``"0.25≤x<0.45"``; the last bin includes x = 1).

    ``x`` None or NaN (no Li or Zr, see :func:`~lizrcl_tools.dataset.stats.composition_x`)
    gives ``"no Li/Zr"``.
    """
    if x is None or not np.isfinite(x):
        return "no Li/Zr"
    for low, high in zip(edges[:-1], edges[1:]):
        if low <= x < high or (high == edges[-1] and x == high):
            return f"{low:.2f}≤x{'≤' if high == edges[-1] else '<'}{high:.2f}"
    return "outside bins"


def predict(frames: Sequence[Any], calculator: Any, progress: bool = True) -> Predictions:
    """Run ``calculator`` on every labelled frame and collect predictions with references.

    Raises
    ------
    SetupError
        A frame has no ``REF_energy`` or ``REF_forces``.
    """
    from tqdm import tqdm

    n_atoms, e_ref, e_pred, f_ref, f_pred, s_ref, s_pred, xs, ctypes, symbols = ([] for _ in range(10))
    for index, atoms in enumerate(tqdm(frames, desc="evaluate", unit="frame", disable=not progress)):
        if keys.REF_ENERGY not in atoms.info or keys.REF_FORCES not in atoms.arrays:
            raise SetupError(f"frame {index} has no {keys.REF_ENERGY}/{keys.REF_FORCES} labels")
        work = atoms.copy()
        work.calc = calculator
        n_atoms.append(len(work))
        e_ref.append(float(atoms.info[keys.REF_ENERGY]))
        e_pred.append(float(work.get_potential_energy()))
        f_ref.append(np.asarray(atoms.arrays[keys.REF_FORCES], dtype=float))
        f_pred.append(np.array(work.get_forces(), dtype=float))
        if keys.REF_STRESS in atoms.info and all(work.pbc):
            s_ref.append(_voigt(atoms.info[keys.REF_STRESS]))
            s_pred.append(np.array(work.get_stress(voigt=True), dtype=float))
        else:
            s_ref.append(np.full(6, np.nan))
            s_pred.append(np.full(6, np.nan))
        xs.append(_composition_x_or_nan(atoms))
        ctypes.append(str(atoms.info.get(keys.CONFIG_TYPE, "default")))
        symbols.append(np.array(atoms.get_chemical_symbols()))
    return Predictions(np.array(n_atoms), np.array(e_ref), np.array(e_pred), f_ref, f_pred,
                       np.array(s_ref).reshape(-1, 6), np.array(s_pred).reshape(-1, 6),
                       np.array(xs), ctypes, symbols)


def _voigt(stress: Any) -> np.ndarray:
    """Voigt 6-vector from a 6-vector or a 3×3 tensor (xx yy zz yz xz xy)."""
    s = np.asarray(stress, dtype=float)
    if s.size == 9:
        s = s.reshape(3, 3)
        return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
    return s.reshape(6)


def error_metrics(pred: Predictions, mask: np.ndarray | None = None) -> dict[str, Any]:
    """RMSEs of the frames selected by ``mask`` (all if None).

    Returns
    -------
    dict
        ``n_frames``, ``energy_rmse_meV_per_atom``, ``energy_mean_error_meV_per_atom`` (the
        mean of model − reference per atom: an offset), ``force_rmse_eV_per_A``,
        ``stress_rmse_GPa`` (NaN when no selected frame has a reference stress), and, when the predictions record
        the elements, ``force_rmse_eV_per_A_by_element`` (RMSE over the components of the atoms
        of each element).
    """
    from ase.units import GPa

    if mask is None:
        mask = np.ones(len(pred.n_atoms), dtype=bool)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return {"n_frames": 0, "energy_rmse_meV_per_atom": float("nan"),
                "energy_mean_error_meV_per_atom": float("nan"),
                "force_rmse_eV_per_A": float("nan"), "stress_rmse_GPa": float("nan")}
    e_err = (pred.energy_pred[idx] - pred.energy_ref[idx]) / pred.n_atoms[idx]
    f_pred = np.concatenate([pred.forces_pred[i] for i in idx])
    f_ref = np.concatenate([pred.forces_ref[i] for i in idx])
    metrics: dict[str, Any] = {
        "n_frames": int(idx.size),
        "energy_rmse_meV_per_atom": 1000.0 * rmse(e_err, np.zeros_like(e_err)),
        "energy_mean_error_meV_per_atom": 1000.0 * float(np.mean(e_err)),
        "force_rmse_eV_per_A": rmse(f_pred, f_ref),
        "stress_rmse_GPa": rmse(pred.stress_pred[idx], pred.stress_ref[idx]) / GPa,
    }
    if pred.symbols is not None:
        symbols = np.concatenate([pred.symbols[i] for i in idx])
        metrics["force_rmse_eV_per_A_by_element"] = {
            el: rmse(f_pred[symbols == el], f_ref[symbols == el]) for el in sorted(set(symbols))}
    return metrics


def error_report(pred: Predictions) -> dict[str, Any]:
    """Overall metrics plus ``by_composition`` and ``by_config_type`` sub-reports."""
    report: dict[str, Any] = error_metrics(pred)
    bins = np.array([composition_bin(x) for x in pred.x])
    report["by_composition"] = {b: error_metrics(pred, bins == b) for b in sorted(set(bins))}
    ctypes = np.array(pred.config_type)
    report["by_config_type"] = {c: error_metrics(pred, ctypes == c) for c in sorted(set(ctypes))}
    return report


def format_report(report: dict[str, Any], title: str = "") -> str:
    """Plain-text table of :func:`error_report` output."""
    header = f"{'subset':<28}{'frames':>7}{'E meV/atom':>12}{'F eV/Å':>10}{'F(Li) eV/Å':>12}{'S GPa':>9}"
    lines = [title] if title else []
    lines += [header, "-" * len(header)]

    def row(name: str, m: dict[str, Any]) -> str:
        li = m.get("force_rmse_eV_per_A_by_element", {}).get("Li", float("nan"))
        return (f"{name:<28}{m['n_frames']:>7d}{m['energy_rmse_meV_per_atom']:>12.2f}"
                f"{m['force_rmse_eV_per_A']:>10.4f}{li:>12.4f}{m['stress_rmse_GPa']:>9.3f}")

    lines.append(row("all", report))
    for group in ("by_composition", "by_config_type"):
        for name, metrics in report.get(group, {}).items():
            lines.append(row(f"{group[3:7]} {name}", metrics))
    return "\n".join(lines)


def parity_plots(
    pred: Predictions, path: str | os.PathLike, title: str = "", force: bool | None = None
) -> Path:
    """Energy/atom, force and stress parity plots side by side in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ase.units import GPa

    from lizrcl_tools.fileio import save_figure

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    panels = [
        (pred.energy_ref / pred.n_atoms, pred.energy_pred / pred.n_atoms, "energy (eV/atom)"),
        (np.concatenate(pred.forces_ref).ravel(), np.concatenate(pred.forces_pred).ravel(),
         "force component (eV/Å)"),
        (pred.stress_ref.ravel() / GPa, pred.stress_pred.ravel() / GPa, "stress component (GPa)"),
    ]
    for ax, (ref, model, label) in zip(axes, panels):
        ok = np.isfinite(ref) & np.isfinite(model)
        if ok.any():
            lo, hi = float(min(ref[ok].min(), model[ok].min())), float(max(ref[ok].max(), model[ok].max()))
            ax.plot([lo, hi], [lo, hi], color="0.6", lw=1)
            ax.scatter(ref[ok], model[ok], s=4, alpha=0.6)
        ax.set_xlabel(f"reference {label}")
        ax.set_ylabel(f"model {label}")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=110, force=force)


def evaluate_frames(
    frames: Sequence[Any],
    calculator: Any,
    json_path: str | os.PathLike | None = None,
    plot_path: str | os.PathLike | None = None,
    title: str = "",
    progress: bool = True,
    force: bool | None = None,
) -> dict[str, Any]:
    """Predict, build the error report, and optionally save it as JSON and a parity PNG
    (``force``: see :func:`evaluate_file`)."""
    from lizrcl_tools.fileio import write_json_atomic

    pred = predict(frames, calculator, progress=progress)
    report = error_report(pred)
    if json_path is not None:
        write_json_atomic(json_path, jsonable(report), force=force)
    if plot_path is not None:
        parity_plots(pred, plot_path, title=title, force=force)
    return report


def evaluate_file(
    data: str | os.PathLike,
    model: str | os.PathLike | None = None,
    device: str = "cpu",
    dtype: str = "float64",
    json_path: str | os.PathLike | None = None,
    plot_path: str | os.PathLike | None = None,
    progress: bool = True,
    force: bool | None = None,
    potential: str = "mace",
) -> dict[str, Any]:
    """Evaluate a MACE model or the fast tier (default: the shipped ones) on a labelled extxyz file.

    No dispersion is added: the labels are meant to be the bare (PBE-like) teacher's, and the
    run-time D3 term is the same for every potential.

    Parameters
    ----------
    data : str or PathLike
        extxyz with ``REF_energy``/``REF_forces`` (and optionally ``REF_stress``).
    model : str or PathLike, optional
        ``potential="mace"``: MACE ``.model`` file; ``"fast"``: a model folder of
        ``lizrcl distill``. The shipped model of that kind when omitted.
    device, dtype : str
        Torch device and float type of a MACE model (unused for the fast tier).
    json_path, plot_path : str or PathLike, optional
        Where to write the report (JSON) and the parity plots (PNG).
    force : bool, optional
        Replace an existing ``json_path``/``plot_path`` (kept as numbered backups); False
        refuses them before any work. None: plain overwrite (the API's old behaviour).

    Returns
    -------
    dict
        See :func:`error_report`; also ``data`` and ``model`` paths.

    Raises
    ------
    ParseError
        ``model`` is not a MACE model file, or ``data`` holds unlabelled or non-finite frames.
    SetupError
        Unknown ``potential``, or ``model`` is not a fast-tier model folder.
    """
    from lizrcl_tools.dataset.labelling import read_labelled_frames
    from lizrcl_tools.fileio import check_output

    if potential == "fast":
        from lizrcl_tools.potential.pod import SHIPPED_DIR, fast_potential

        model = SHIPPED_DIR if model is None else model
        fast_potential(model)  # refuses a path that is not a model folder, before any work
    elif potential == "mace":
        if model is None:
            model = default_model_path()
            if model is None:
                raise SetupError("no default model is shipped in lizrcl_tools/data/; pass --model")
        check_model_file(model)
    else:
        raise SetupError(f"potential must be 'mace' or 'fast', got {potential!r}")
    if force is not None:
        for out in (json_path, plot_path):
            if out is not None:
                check_output(out, force=force, what="evaluation report")
    frames = read_labelled_frames(data)
    missing = [i for i, a in enumerate(frames) if keys.REF_ENERGY not in a.info]
    if missing:
        raise ParseError(data, f"{len(missing)} frames lack {keys.REF_ENERGY} (first: frame "
                               f"{missing[0]}); label them with `lizrcl label` first")
    if potential == "fast":
        from lizrcl_tools.potential.lammps_calculator import LammpsCalculator

        calc = LammpsCalculator(fast_potential(model))
    else:
        calc = load_model_checked(model, device=device, dtype=dtype)
    report = {"data": str(data), "model": str(model), "potential": potential}
    report.update(evaluate_frames(frames, calc, None, plot_path, title=Path(data).name,
                                  progress=progress, force=force))
    if json_path is not None:
        from lizrcl_tools.fileio import write_json_atomic

        write_json_atomic(json_path, jsonable(report), force=force)
    return report


# Old names, one release: composition_x moved to dataset.stats (one definition), json_safe is
# fileio.jsonable.
composition_x = renamed(
    _composition_x_or_nan,
    "lizrcl_tools.potential.evaluate.composition_x",
    use="lizrcl_tools.dataset.stats.composition_x(atoms, neutral_only=False) (None, not NaN, "
        "where x is undefined)",
)
json_safe = renamed(jsonable, "lizrcl_tools.potential.evaluate.json_safe")
