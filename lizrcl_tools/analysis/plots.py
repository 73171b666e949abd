"""PNG plots of the transport analysis (matplotlib, Agg backend).

* :func:`plot_msd`: MSD total, in-plane (xy) and out-of-plane (z) against lag time, with the
  fitted lines and the fit window shaded;
* :func:`plot_arrhenius`: D(T) and σ(T) against 1000/T on log axes with error bars, the
  weighted Arrhenius line and the 300 K extrapolation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lizrcl_tools.analysis.msd import MSDCurves
from lizrcl_tools.fileio import save_figure
from lizrcl_tools.analysis.results import REFERENCE_T_K, ConductivityResult, DiffusionResult

# Plotting every lag of a 10^4-frame run only slows the PNG down.
_MAX_POINTS = 2000


def _figure(ncols: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4.2), squeeze=False)
    return fig, axes[0]


def plot_msd(curves: MSDCurves, result: DiffusionResult, path: str | os.PathLike) -> Path:
    """MSD (Å²) vs t (ps): total, xy, z, fitted lines over the shaded fit window; PNG at ``path``."""
    fig, (ax,) = _figure()
    t = curves.time_ps
    stride = max(1, len(t) // _MAX_POINTS)
    start, end = result.fit_window_ps
    sel = (t >= start) & (t <= end)
    series = (
        ("total", curves.total, result.D_cm2_s, "C0"),
        ("xy (in-plane)", curves.xy, result.D_xy_cm2_s, "C1"),
        ("z (out-of-plane)", curves.z, result.D_z_cm2_s, "C2"),
    )
    for label, msd, d, color in series:
        ax.plot(t[::stride], msd[::stride], color=color, lw=1.2, label=f"{label}: D = {d:.3g} cm²/s")
        slope, intercept = np.polyfit(t[sel], msd[sel], 1)
        ax.plot(t[sel], slope * t[sel] + intercept, color=color, ls="--", lw=1.0)
    ax.axvspan(start, end, color="0.85", zorder=0, label=f"fit window {start:.3g}–{end:.3g} ps")
    ax.set_xlabel("lag time t (ps)")
    ax.set_ylabel("MSD (Å²)")
    ax.set_title(f"{Path(result.source).name}: T = {result.T_K:g} K, {result.n_mobile} mobile ions")
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=120)


def plot_arrhenius(result: ConductivityResult, path: str | os.PathLike) -> Path:
    """D and σ against 1000/T (log scale) with error bars, Arrhenius line and 300 K point; PNG."""
    fig, (ax_d, ax_s) = _figure(2)
    temps = np.array([r.T_K for r in result.temperatures])
    x = 1000.0 / temps
    ax_d.errorbar(x, [r.D_cm2_s for r in result.temperatures], yerr=[r.D_err_cm2_s for r in result.temperatures],
                  fmt="o", capsize=3, label="MD")
    ax_s.errorbar(x, [r.sigma_mS_cm for r in result.temperatures],
                  yerr=[r.sigma_err_mS_cm for r in result.temperatures], fmt="o", capsize=3, label="MD")
    fit = result.arrhenius
    if fit is not None:
        from lizrcl_tools.analysis.arrhenius import K_B_EV_K

        t_line = np.linspace(min(temps.min(), REFERENCE_T_K), temps.max(), 100)
        d_line = fit.D0_cm2_s * np.exp(-fit.Ea_eV / (K_B_EV_K * t_line))
        ax_d.plot(1000.0 / t_line, d_line, "--", color="C3",
                  label=f"Ea = {fit.Ea_eV:.3f} ± {fit.Ea_err_eV:.3f} eV")
        ax_d.errorbar([1000.0 / REFERENCE_T_K], [fit.D_300K_cm2_s], yerr=[fit.D_300K_err_cm2_s], fmt="s",
                      color="C3", capsize=3, label="300 K extrapolation")
        # σ ∝ D / T at fixed N/V, so the σ line is the D line times the 300 K conversion ratio.
        ratio = fit.sigma_300K_mS_cm / fit.D_300K_cm2_s * REFERENCE_T_K
        ax_s.plot(1000.0 / t_line, d_line * ratio / t_line, "--", color="C3", label="Arrhenius fit")
        ax_s.errorbar([1000.0 / REFERENCE_T_K], [fit.sigma_300K_mS_cm], yerr=[fit.sigma_300K_err_mS_cm], fmt="s",
                      color="C3", capsize=3,
                      label=f"σ(300 K) = {fit.sigma_300K_mS_cm:.3g} ± {fit.sigma_300K_err_mS_cm:.2g} mS/cm")
    for ax, label in ((ax_d, f"D ({result.mobile}) (cm²/s)"), (ax_s, "σ (mS/cm)")):
        ax.set_yscale("log")
        ax.set_xlabel("1000 / T (1/K)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=120)
