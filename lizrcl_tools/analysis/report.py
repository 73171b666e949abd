"""Outputs of ``lizrcl analyze``: MSD arrays and plots, conductivity.json, a terminal table."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from lizrcl_tools.analysis.msd import MSDCurves
from lizrcl_tools.analysis.results import ConductivityResult, DiffusionResult


ANALYSIS_PATTERNS = ("conductivity.json", "arrhenius.png", "msd_*K*.npz", "msd_*K*.png")
"""Files an analysis writes into its output folder (and nothing else there is touched)."""


def retire_previous(out_dir: Path) -> Path | None:
    """Move a previous analysis in ``out_dir`` into ``out_dir/previous-N/``; return that folder.

    A rerun with fewer temperatures would otherwise leave the old per-temperature curves beside
    the new ones, and replacing conductivity.json would lose the old Ea. Nothing is deleted.
    """
    old = sorted({p for pattern in ANALYSIS_PATTERNS for p in out_dir.glob(pattern) if p.is_file()})
    if not old:
        return None
    n = 1
    while (keep := out_dir / f"previous-{n}").exists():
        n += 1
    keep.mkdir(parents=True)
    for path in old:
        path.rename(keep / path.name)
    return keep


def write_curves(
    analysed: Sequence[tuple[DiffusionResult, MSDCurves]],
    out_dir: Path,
    plots: bool = True,
) -> list[tuple[DiffusionResult, MSDCurves]]:
    """Write ``msd_<T>K.npz`` (and ``msd_<T>K.png``) per run; return results naming their npz."""
    out_dir.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    updated = []
    for result, curves in analysed:
        stem = f"msd_{result.T_K:g}K"
        k = 2
        while stem in used:  # replicas at the same temperature
            stem = f"msd_{result.T_K:g}K_{k}"
            k += 1
        used.add(stem)
        curves.save_npz(out_dir / f"{stem}.npz")
        if plots:
            from lizrcl_tools.analysis.plots import plot_msd

            plot_msd(curves, result, out_dir / f"{stem}.png")
        updated.append((dataclasses.replace(result, msd_file=f"{stem}.npz"), curves))
    return updated


def write_summary(result: ConductivityResult, out_dir: Path, plots: bool = True, overwrite: bool = False) -> Path:
    """Write ``arrhenius.png`` (with ``plots``) and then ``conductivity.json``; return the JSON path."""
    if plots:
        from lizrcl_tools.analysis.plots import plot_arrhenius

        plot_arrhenius(result, out_dir / "arrhenius.png")
    # The JSON last: its presence means the analysis finished.
    return result.save(out_dir / "conductivity.json", overwrite=overwrite)


def _pm(value: float | None, err: float | None, fmt: str = ".3e") -> str:
    if value is None:
        return "—"
    if err is None:
        return f"{value:{fmt}}"
    return f"{value:{fmt}} ± {err:.1e}"


def format_table(result: ConductivityResult) -> str:
    """One-screen summary: one row per temperature, then the Arrhenius line and any notes.

    Units: T K, D cm²/s, σ mS/cm, window ps, Ea eV. Column ``diff.``: whether the run passed
    the diffusive-regime criteria; ``hops``: estimated hops behind D.
    """
    head = (f"{'T (K)':>7}  {'D (cm²/s)':>20}  {'D_xy (cm²/s)':>12}  {'D_z (cm²/s)':>12}  "
            f"{'σ (mS/cm)':>20}  {'window (ps)':>13}  {'N':>4}  {'diff.':>5}  {'hops':>7}")
    lines = [f"{result.mobile} transport (z = Cartesian z, layer normal)", head, "-" * len(head)]
    notes = []
    for r in result.temperatures:
        window = f"{r.fit_window_ps[0]:.3g}–{r.fit_window_ps[1]:.3g}"
        flag = {True: "yes", False: "NO", None: "?"}[r.diffusive]
        hops = f"{r.n_hops:7.0f}" if r.n_hops is not None else f"{'—':>7}"
        lines.append(
            f"{r.T_K:7.1f}  {_pm(r.D_cm2_s, r.D_err_cm2_s):>20}  {r.D_xy_cm2_s:12.3e}  {r.D_z_cm2_s:12.3e}  "
            f"{f'{r.sigma_mS_cm:.3g} ± {r.sigma_err_mS_cm:.2g}':>20}  {window:>13}  {r.n_mobile:4d}  {flag:>5}  {hops}"
        )
        if r.diffusive is False:
            notes.append(f"  {r.T_K:g} K: not diffusive: {r.diffusive_reason}")
        notes.extend(f"  {r.T_K:g} K: warning: {w}" for w in r.warnings)
    fit = result.arrhenius
    if fit is None:
        # the reasons for leaving temperatures out are listed below the table
        lines.append((result.arrhenius_note or "Arrhenius: needs two or more temperatures").split("; left out")[0])
    else:
        chi = f", χ²_ν = {fit.chi2_reduced:.2f}" if fit.chi2_reduced is not None else ""
        lines.append(
            f"Ea = {fit.Ea_eV:.3f} ± {fit.Ea_err_eV:.3f} eV   "
            f"D0 = {_pm(fit.D0_cm2_s, fit.D0_err_cm2_s, '.2e')} cm²/s{chi}"
        )
        lines.append(
            f"300 K: D = {_pm(fit.D_300K_cm2_s, fit.D_300K_err_cm2_s, '.2e')} cm²/s   "
            f"σ = {fit.sigma_300K_mS_cm:.3g} ± {fit.sigma_300K_err_mS_cm:.2g} mS/cm"
        )
        hops = f"; ~{fit.n_hops:.0f} {result.mobile} hops in all" if fit.n_hops is not None else ""
        lines.append(f"Arrhenius fit over {', '.join(f'{t:g}' for t in fit.temperatures_K)} K{hops}"
                     + (f"; left out: {', '.join(f'{t:g}' for t in fit.excluded_T_K)} K" if fit.excluded_T_K else ""))
    return "\n".join(lines + notes)
