"""Transport across compositions: Ea and σ(300 K) of several conductivity runs against x.

Each input is the output folder of one ``lizrcl conductivity`` job (``runs/T<K>/run.json``
and ``analysis/conductivity.json``), one composition per folder. x is that of
(LiCl)1−x(ZrCl4)x, ``N_Zr / (N_Li + N_Zr)``, from the run cells' ``composition``.

A hot run can melt, and a molten cell's Li diffusion is not the solid's. So, by default, the
framework element (Cl) is analysed like the mobile ion at every temperature, with the same
estimator, and a temperature whose ``D_Cl / D_Li`` exceeds ``molten_ratio`` is flagged (the
framework of a solid only vibrates: its D is zero within errors). Flagged temperatures are
listed, and the Arrhenius fit is left as the conductivity analysis made it: refitting without
them is the user's call (``lizrcl analyze`` on the remaining run folders).

Ea is the analysis' own fit, over the diffusive temperatures only. Short runs of Li-poor cells
often leave fewer than two of those, so each row also carries a secondary fit over every
temperature with D > 0 (``Ea_all_eV``, the ``--fit-all`` fit of ``lizrcl analyze``), labelled as
such: its points include sub-diffusive D, which mix cage rattling into the slope.

Units: x dimensionless, Ea eV, D cm²/s, σ mS/cm, T K.

Examples
--------
>>> rows = composition_trend(["eax/lizrcl5", "eax/li2zrcl6-layered"])     # doctest: +SKIP
>>> write_trend(rows, "eax/trend")                                         # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lizrcl_tools.analysis.pipeline import CONDUCTIVITY_JSON, analyze_run, arrhenius_from_runs
from lizrcl_tools.analysis.results import ConductivityResult
from lizrcl_tools.analysis.runinfo import RUN_JSON, RunInfo, read_run_info
from lizrcl_tools.analysis.sources import source_from_run_dir
from lizrcl_tools.dataset.stats import composition_x, reduced_formula
from lizrcl_tools.errors import ParseError, SetupError
from lizrcl_tools.fileio import check_output, jsonable, save_figure, write_json_atomic, write_text_atomic

DEFAULT_MOLTEN_RATIO = 0.1
"""D(framework) / D(Li) above which a temperature is flagged as molten (fixed before use)."""

TREND_JSON = "trend.json"


@dataclass(frozen=True)
class TrendRow:
    """Transport of one composition (one conductivity job).

    Attributes
    ----------
    label : str
        The job folder's name.
    formula : str
        Reduced formula of the simulated cell.
    x : float or None
        x of (LiCl)1−x(ZrCl4)x; None for a cell off that series.
    n_atoms, n_mobile : int
        Atoms in the cell and mobile ions.
    temperatures_K, D_cm2_s, D_err_cm2_s : tuple of float
        Per temperature: T (K) and Li D ± its standard error (cm²/s).
    diffusive : tuple of bool or None
        The analysis' diffusive-regime verdict per temperature.
    framework : str or None
        Element checked for melting (None: not checked).
    framework_ratio : tuple of float or None
        D(framework) / D(Li) per temperature (None where not computed).
    molten_T_K : tuple of float
        Temperatures whose ratio exceeds the threshold.
    Ea_eV, Ea_err_eV : float or None
        Arrhenius activation energy ± standard error (eV); None without a fit.
    sigma_300K_mS_cm, sigma_300K_err_mS_cm : float or None
        Extrapolated Nernst–Einstein σ at 300 K (mS/cm).
    fit_T_K : tuple of float
        Temperatures in the Arrhenius fit.
    n_diffusive : int
        Temperatures whose D passed the diffusive-regime criteria.
    Ea_all_eV, Ea_all_err_eV : float or None
        Secondary Arrhenius fit over every temperature with D > 0, diffusive or not (eV).
    note : str or None
        Why there is no fit, when there is none.
    source : str
        The job folder.
    """

    label: str
    formula: str
    x: float | None
    n_atoms: int
    n_mobile: int
    temperatures_K: tuple[float, ...]
    D_cm2_s: tuple[float, ...]
    D_err_cm2_s: tuple[float, ...]
    diffusive: tuple[bool | None, ...]
    framework: str | None
    framework_ratio: tuple[float | None, ...]
    molten_T_K: tuple[float, ...]
    Ea_eV: float | None
    Ea_err_eV: float | None
    sigma_300K_mS_cm: float | None
    sigma_300K_err_mS_cm: float | None
    fit_T_K: tuple[float, ...]
    n_diffusive: int
    Ea_all_eV: float | None
    Ea_all_err_eV: float | None
    note: str | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        return jsonable(dataclasses.asdict(self))


def _conductivity_json(folder: Path) -> Path:
    for candidate in (folder / "analysis" / CONDUCTIVITY_JSON, folder / CONDUCTIVITY_JSON):
        if candidate.is_file():
            return candidate
    raise SetupError(f"{folder}: no analysis/{CONDUCTIVITY_JSON}; expected the output folder of "
                     "`lizrcl conductivity` (run it, or `lizrcl analyze runs/T* -o analysis`)")


def _run_dirs(folder: Path) -> list[Path]:
    runs = sorted(p.parent for p in folder.glob(f"runs/T*/{RUN_JSON}"))
    if not runs:
        raise SetupError(f"{folder}: no runs/T<K>/{RUN_JSON}; expected the output folder of `lizrcl conductivity`")
    return runs


def _composition(records: Sequence[RunInfo]) -> dict[str, int]:
    seen: dict[str, int] | None = None
    for rec in records:
        comp = rec.other.get("composition")
        if not isinstance(comp, dict) or not comp:
            raise ParseError(rec.path, "no 'composition' (element: count); written by `lizrcl md` "
                             "and `lizrcl conductivity` runs")
        comp = {str(k): int(v) for k, v in comp.items()}
        if seen is not None and comp != seen:
            raise SetupError(f"{rec.run_dir}: composition {comp} differs from the other runs' {seen}: one "
                             "composition per folder")
        seen = comp
    assert seen is not None
    return seen


def framework_ratio(run_dir: str | os.PathLike, element: str, D_li_cm2_s: float) -> float | None:
    """D(``element``) / D(Li) of one run folder, the framework analysed with the mobile ion's estimator.

    Returns None when the Li D is not positive (no ratio to form).
    """
    if not D_li_cm2_s > 0:
        return None
    source = dataclasses.replace(source_from_run_dir(run_dir), mobile=element, n_mobile=None)
    with warnings.catch_warnings():
        # a still framework is "not diffusive" by design: that is the answer sought, not a problem
        warnings.simplefilter("ignore")
        result, _ = analyze_run(source, progress=False)
    return result.D_cm2_s / D_li_cm2_s


def trend_row(folder: str | os.PathLike, framework: str | None = "Cl",
              molten_ratio: float = DEFAULT_MOLTEN_RATIO) -> TrendRow:
    """Read one conductivity job folder into a :class:`TrendRow` (and check its framework).

    Parameters
    ----------
    folder : str or PathLike
        Output folder of ``lizrcl conductivity``.
    framework : str or None
        Element whose D is compared with Li's at each temperature (None: skip the check).
    molten_ratio : float
        D(framework) / D(Li) above which a temperature is flagged as molten.

    Raises
    ------
    SetupError, ParseError
        A folder that is not a finished conductivity job (what is missing is named).
    """
    folder = Path(folder)
    result = ConductivityResult.load(_conductivity_json(folder))
    records = [read_run_info(r) for r in _run_dirs(folder)]
    comp = _composition(records)
    symbols = [el for el, n in comp.items() for _ in range(n)]
    by_T = {float(rec.temperature_K): rec.run_dir for rec in records}
    temps = result.temperatures
    ratios: list[float | None] = []
    for t in temps:
        run = by_T.get(float(t.T_K))
        ratios.append(None if framework is None or run is None else framework_ratio(run, framework, t.D_cm2_s))
    molten = tuple(t.T_K for t, r in zip(temps, ratios) if r is not None and r > molten_ratio)
    fit = result.arrhenius
    # ln D needs D > 0: a still run (D = 0 within noise, either sign) has no place in any fit
    fit_all, _ = arrhenius_from_runs([t for t in temps if t.D_cm2_s > 0], result.mobile, fit_all=True)
    return TrendRow(
        label=folder.name,
        formula=reduced_formula(symbols),
        x=composition_x(symbols),
        n_atoms=len(symbols),
        n_mobile=temps[0].n_mobile if temps else 0,
        temperatures_K=tuple(t.T_K for t in temps),
        D_cm2_s=tuple(t.D_cm2_s for t in temps),
        D_err_cm2_s=tuple(t.D_err_cm2_s for t in temps),
        diffusive=tuple(t.diffusive for t in temps),
        framework=framework,
        framework_ratio=tuple(ratios),
        molten_T_K=molten,
        Ea_eV=fit.Ea_eV if fit else None,
        Ea_err_eV=fit.Ea_err_eV if fit else None,
        sigma_300K_mS_cm=fit.sigma_300K_mS_cm if fit else None,
        sigma_300K_err_mS_cm=fit.sigma_300K_err_mS_cm if fit else None,
        fit_T_K=tuple(fit.temperatures_K) if fit else (),
        n_diffusive=sum(t.diffusive is not False for t in temps),
        Ea_all_eV=fit_all.Ea_eV if fit_all else None,
        Ea_all_err_eV=fit_all.Ea_err_eV if fit_all else None,
        note=result.arrhenius_note if fit is None else None,
        source=str(folder),
    )


def composition_trend(folders: Sequence[str | os.PathLike], framework: str | None = "Cl",
                      molten_ratio: float = DEFAULT_MOLTEN_RATIO) -> list[TrendRow]:
    """:func:`trend_row` of every folder, sorted by x (cells off the series last)."""
    if not folders:
        raise SetupError("no conductivity folders given")
    rows = [trend_row(f, framework, molten_ratio) for f in folders]
    return sorted(rows, key=lambda r: (r.x is None, r.x if r.x is not None else 0.0, r.label))


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None or not math.isfinite(value) else format(value, fmt)


def format_trend(rows: Sequence[TrendRow]) -> str:
    """Markdown table: x, cell, Ea ± err (diffusive T; and over all T), σ(300 K), D per T, melting."""
    head = ("| folder | formula | x | atoms (Li) | Ea (eV), diffusive T | Ea (eV), all T | σ(300 K) (mS/cm) "
            "| D (10⁻⁵ cm²/s) per T | D(Cl)/D(Li) | molten |")
    lines = [head, "|" + " --- |" * 10]
    for r in rows:
        n_t = len(r.temperatures_K)
        ea = (f"{_num(r.Ea_eV, '.3f')} ± {_num(r.Ea_err_eV, '.3f')} ({', '.join(f'{t:g}' for t in r.fit_T_K)} K)"
              if r.Ea_eV is not None else f"no fit ({r.n_diffusive}/{n_t} diffusive)")
        ea_all = f"{_num(r.Ea_all_eV, '.3f')} ± {_num(r.Ea_all_err_eV, '.3f')}" if r.Ea_all_eV is not None else "–"
        sig = (f"{_num(r.sigma_300K_mS_cm, '.3g')} ± {_num(r.sigma_300K_err_mS_cm, '.2g')}"
               if r.sigma_300K_mS_cm is not None else "–")
        ds = ", ".join(f"{t:g} K: {1e5 * d:.2f} ± {1e5 * e:.2f}{'' if ok is not False else ' (nd)'}"
                       for t, d, e, ok in zip(r.temperatures_K, r.D_cm2_s, r.D_err_cm2_s, r.diffusive))
        rat = ", ".join(_num(q, ".2f") for q in r.framework_ratio) if r.framework else "not checked"
        lines.append(f"| {r.label} | {r.formula} | {_num(r.x, '.3f')} | {r.n_atoms} ({r.n_mobile}) | {ea} | {ea_all} "
                     f"| {sig} | {ds} | {rat} | {', '.join(f'{t:g} K' for t in r.molten_T_K) or 'no'} |")
    lines.append("\n(nd): not diffusive by the analysis' criteria (reasons: each job's analysis/conductivity.json); Ea, all T: the "
                 "secondary fit over every temperature, sub-diffusive points included; molten: "
                 "D(framework)/D(Li) above the threshold.")
    return "\n".join(lines)


def plot_trend(rows: Sequence[TrendRow], path: str | os.PathLike, force: bool | None = None) -> Path:
    """Ea vs x and σ(300 K) vs x (log) with error bars; PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    placed = [r for r in rows if r.x is not None]
    fig, (ax_e, ax_s) = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, r in enumerate(placed):
        color = "C3" if r.molten_T_K else "C0"
        if r.Ea_all_eV is not None:
            ax_e.errorbar(r.x + 0.008, r.Ea_all_eV, yerr=r.Ea_all_err_eV, fmt="o", mfc="none", capsize=3, color="0.5",
                          label="all T (sub-diffusive included)" if k == 0 else None)
        if r.Ea_eV is not None:
            ax_e.errorbar(r.x, r.Ea_eV, yerr=r.Ea_err_eV, fmt="o", capsize=3, color=color,
                          label="diffusive T only" if not any(q.Ea_eV is not None for q in placed[:k]) else None)
        y = r.Ea_eV if r.Ea_eV is not None else r.Ea_all_eV
        if y is not None:
            ax_e.annotate(r.formula, (r.x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
        if r.sigma_300K_mS_cm is not None and r.sigma_300K_mS_cm > 0:
            lo = min(r.sigma_300K_err_mS_cm or 0.0, 0.99 * r.sigma_300K_mS_cm)  # keep the log axis finite
            ax_s.errorbar(r.x, r.sigma_300K_mS_cm, yerr=[[lo], [r.sigma_300K_err_mS_cm or 0.0]], fmt="s",
                          capsize=3, color=color)
    if ax_e.get_legend_handles_labels()[0]:
        ax_e.legend(fontsize=8)
    if not any(r.sigma_300K_mS_cm is not None for r in placed):
        # an empty log axis reads like a plotting failure; say why it is empty
        ax_s.text(0.5, 0.5, "no composition has a diffusive-regime\nArrhenius fit: no σ(300 K)",
                  transform=ax_s.transAxes, ha="center", va="center", color="0.4")
    ax_e.set_xlabel("x in (LiCl)$_{1-x}$(ZrCl$_4$)$_x$")
    ax_e.set_ylabel("Ea (eV)")
    ax_e.set_title("Arrhenius activation energy (red: a molten temperature)")
    ax_s.set_xlabel("x in (LiCl)$_{1-x}$(ZrCl$_4$)$_x$")
    ax_s.set_ylabel("σ(300 K) (mS/cm), extrapolated")
    ax_s.set_yscale("log")
    for ax in (ax_e, ax_s):
        ax.set_xlim(0, 1)
    return save_figure(fig, path, dpi=120, force=force)


def write_trend(rows: Sequence[TrendRow], out_dir: str | os.PathLike, force: bool = False,
                plot: bool = True) -> Path:
    """Write ``trend.json``, ``trend.txt`` and (``plot``) ``trend.png`` into ``out_dir``; returns the JSON.

    Refuses an existing ``trend.json`` unless ``force`` (then the old files are kept as backups).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / TREND_JSON
    for name in (TREND_JSON, "trend.txt", "trend.png"):  # refuse before writing any of the three
        check_output(out / name, force)
    payload = {"x_definition": "N_Zr / (N_Li + N_Zr) of (LiCl)1-x(ZrCl4)x",
               "units": {"Ea": "eV", "D": "cm2/s", "sigma": "mS/cm", "T": "K"},
               "rows": [r.to_dict() for r in rows]}
    write_json_atomic(target, payload, force=force)
    write_text_atomic(out / "trend.txt", format_trend(rows) + "\n", force=force)
    if plot:
        plot_trend(rows, out / "trend.png", force=force)
    return target
