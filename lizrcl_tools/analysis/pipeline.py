"""Run folders → MSD → D ± err → σ(T) → Arrhenius Ea, D0, σ(300 K): the ``lizrcl analyze`` stage.

Steps per run folder (see the modules for the physics):

1. :func:`~lizrcl_tools.analysis.runinfo.read_run_info` validates run.json;
2. :func:`~lizrcl_tools.analysis.trajectory.read_mobile_trajectory` reads the unwrapped mobile
   ions with MDAnalysis and removes framework drift;
3. :func:`~lizrcl_tools.analysis.msd.compute_msd` gives the all-origin FFT MSD (x, y, z);
4. :func:`~lizrcl_tools.analysis.diffusion.choose_fit_window` and
   :func:`~lizrcl_tools.analysis.diffusion.fit_diffusion` give D, D_xy, D_z with block errors;
5. :func:`~lizrcl_tools.analysis.conductivity.nernst_einstein_mS_cm` gives σ, with V from
   run.json ``volume_A3`` when present, else the dump's box.

Across runs, :func:`~lizrcl_tools.analysis.arrhenius.fit_arrhenius` gives Ea and the 300 K
extrapolation; σ(300 K) uses N/V of the run closest to 300 K.

Examples
--------
>>> from lizrcl_tools.analysis import analyze_runs, format_table          # doctest: +SKIP
>>> result = analyze_runs(["md_500K", "md_600K", "md_700K"], out_dir="conductivity")
>>> print(format_table(result))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lizrcl_tools.analysis import arrhenius as arr
from lizrcl_tools.analysis import diffusion as dif
from lizrcl_tools.analysis.conductivity import nernst_einstein_mS_cm
from lizrcl_tools.analysis.msd import MSDCurves, compute_msd
from lizrcl_tools.analysis.runinfo import read_run_info
from lizrcl_tools.analysis.trajectory import read_mobile_trajectory
from lizrcl_tools.errors import SetupError
from lizrcl_tools.keys import OXIDATION_STATES
from lizrcl_tools.analysis.results import REFERENCE_T_K, ArrheniusResult, ConductivityResult, DiffusionResult

CONDUCTIVITY_JSON = "conductivity.json"

METHODS = {
    "msd": "all-origin MSD by FFT (numpy), per Cartesian component; framework centre-of-mass drift removed",
    "axes": "D_xy = slope(MSD_x+MSD_y)/4, D_z = slope(MSD_z)/2, z = Cartesian z (layer normal of the layered cell)",
    "fit_window": dif.WINDOW_RULE,
    "uncertainty": dif.UNCERTAINTY_METHOD,
    "conductivity": "Nernst-Einstein sigma = N q^2 D / (V k_B T) with the tracer D (Haven ratio 1); "
    "V from run.json volume_A3 when present, else the mean dump box",
    "arrhenius": arr.ARRHENIUS_METHOD,
    "sigma_300K": "Nernst-Einstein with the extrapolated D(300 K) and N/V of the run closest to 300 K",
}


def analyze_run(
    run_dir: str | os.PathLike,
    fit_start_ps: float | None = None,
    fit_end_ps: float | None = None,
    n_blocks: int = dif.DEFAULT_N_BLOCKS,
    drift_correct: bool = True,
    progress: bool = True,
) -> tuple[DiffusionResult, MSDCurves]:
    """Diffusion coefficients and Nernst–Einstein σ of one run folder.

    Parameters
    ----------
    run_dir : str or PathLike
        Folder with ``nvt.lammpstrj`` and ``run.json``.
    fit_start_ps, fit_end_ps : float, optional
        Override the default fit window (ps).
    n_blocks : int
        Independent time blocks for the standard errors.
    drift_correct : bool
        Remove the framework centre-of-mass drift.
    progress : bool
        Show a progress bar while reading.

    Returns
    -------
    DiffusionResult
        With ``msd_file`` None (set by :func:`analyze_runs` when it writes the curves).
    MSDCurves
        The MSD curves behind the fit.
    """
    info = read_run_info(run_dir)
    traj = read_mobile_trajectory(info, drift_correct=drift_correct, progress=progress)
    curves = compute_msd(traj.positions_A, traj.frame_interval_ps)
    window = dif.choose_fit_window(curves, n_blocks, fit_start_ps, fit_end_ps)
    fit = dif.fit_diffusion(curves, traj.positions_A, window)

    if info.volume_A3 is not None:
        volume, volume_source = info.volume_A3, "run.json volume_A3"
    else:
        volume, volume_source = traj.box_volume_A3, "dump box"
    z = OXIDATION_STATES.get(info.mobile, 1)

    def sigma(d: float) -> float:
        return nernst_einstein_mS_cm(d, traj.n_mobile, volume, info.temperature_K, z)

    haven = None
    if fit.D_charge_cm2_s is not None and fit.D_charge_cm2_s > 0:
        haven = fit.D_cm2_s / fit.D_charge_cm2_s
    result = DiffusionResult(
        T_K=info.temperature_K,
        D_cm2_s=fit.D_cm2_s,
        D_err_cm2_s=fit.D_err_cm2_s,
        D_xy_cm2_s=fit.D_xy_cm2_s,
        D_xy_err_cm2_s=fit.D_xy_err_cm2_s,
        D_z_cm2_s=fit.D_z_cm2_s,
        D_z_err_cm2_s=fit.D_z_err_cm2_s,
        sigma_mS_cm=sigma(fit.D_cm2_s),
        sigma_err_mS_cm=sigma(fit.D_err_cm2_s),
        fit_window_ps=(window.start_ps, window.end_ps),
        fit_rule=window.rule,
        n_blocks=window.n_blocks,
        n_mobile=traj.n_mobile,
        volume_A3=float(volume),
        volume_source=volume_source,
        duration_ps=float(curves.time_ps[-1]),
        frame_interval_ps=traj.frame_interval_ps,
        n_frames=traj.n_frames,
        drift_corrected=traj.drift_corrected,
        source=str(Path(run_dir)),
        D_charge_cm2_s=fit.D_charge_cm2_s,
        D_charge_err_cm2_s=fit.D_charge_err_cm2_s,
        haven_ratio=haven,
    )
    return result, curves


def arrhenius_from_runs(results: Sequence[DiffusionResult], mobile: str = "Li") -> ArrheniusResult | None:
    """Arrhenius fit across per-temperature results; None with fewer than two distinct temperatures."""
    temps = [r.T_K for r in results]
    if len(set(temps)) < 2:
        return None
    fit = arr.fit_arrhenius(temps, [r.D_cm2_s for r in results], [r.D_err_cm2_s for r in results])
    d_ref, d_ref_err = fit.extrapolate(REFERENCE_T_K)
    closest = min(results, key=lambda r: abs(r.T_K - REFERENCE_T_K))
    z = OXIDATION_STATES.get(mobile, 1)

    def sigma(d: float) -> float:
        return nernst_einstein_mS_cm(d, closest.n_mobile, closest.volume_A3, REFERENCE_T_K, z)

    return ArrheniusResult(
        Ea_eV=fit.Ea_eV,
        Ea_err_eV=fit.Ea_err_eV,
        D0_cm2_s=fit.D0_cm2_s,
        D0_err_cm2_s=fit.D0_err_cm2_s,
        D_300K_cm2_s=d_ref,
        D_300K_err_cm2_s=d_ref_err,
        sigma_300K_mS_cm=sigma(d_ref),
        sigma_300K_err_mS_cm=sigma(d_ref_err),
        sigma_300K_density_from_T_K=closest.T_K,
        chi2_reduced=fit.chi2_reduced,
        covariance_scale=fit.covariance_scale,
        temperatures_K=tuple(temps),
        method=arr.ARRHENIUS_METHOD,
    )


def analyze_runs(
    run_dirs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike | None = None,
    fit_start_ps: float | None = None,
    fit_end_ps: float | None = None,
    n_blocks: int = dif.DEFAULT_N_BLOCKS,
    drift_correct: bool = True,
    overwrite: bool = False,
    plots: bool = True,
    progress: bool = True,
) -> ConductivityResult:
    """Analyse run folders at one or more temperatures; optionally write the outputs.

    Parameters
    ----------
    run_dirs : sequence of str or PathLike
        Run folders (any order; results are sorted by temperature).
    out_dir : str or PathLike, optional
        When given: ``conductivity.json``, ``msd_<T>K.npz`` and, with ``plots``,
        ``msd_<T>K.png`` and ``arrhenius.png`` are written there.
    fit_start_ps, fit_end_ps : float, optional
        Override the fit window for every run (ps).
    n_blocks : int
        Independent time blocks for the standard errors.
    drift_correct : bool
        Remove framework centre-of-mass drift.
    overwrite : bool
        Replace an existing ``conductivity.json`` (checked before any work).
    plots : bool
        Write PNG plots.
    progress : bool
        Show progress bars.

    Returns
    -------
    ConductivityResult

    Raises
    ------
    SetupError
        No run folders, mixed mobile elements, or an existing result without ``overwrite``.
    ParseError
        A bad run.json or dump (file and key named).
    """
    if not run_dirs:
        raise SetupError("no run folders given")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and (out / CONDUCTIVITY_JSON).exists() and not overwrite:
        raise SetupError(f"{out / CONDUCTIVITY_JSON} exists; refusing to overwrite a finished result (pass overwrite=True, or --overwrite)")
    mobiles = {read_run_info(d).mobile for d in run_dirs}
    if len(mobiles) != 1:
        raise SetupError(f"run folders disagree on the mobile element: {sorted(mobiles)}")
    mobile = mobiles.pop()

    analysed = [
        analyze_run(d, fit_start_ps, fit_end_ps, n_blocks, drift_correct, progress) for d in run_dirs
    ]
    analysed.sort(key=lambda pair: pair[0].T_K)
    if out is not None:
        from lizrcl_tools.analysis.report import write_curves

        analysed = write_curves(analysed, out, plots=plots)
    results = tuple(r for r, _ in analysed)
    result = ConductivityResult(
        temperatures=results,
        arrhenius=arrhenius_from_runs(results, mobile),
        mobile=mobile,
        methods=dict(METHODS),
    )
    if out is not None:
        from lizrcl_tools.analysis.report import write_summary

        write_summary(result, out, plots=plots, overwrite=overwrite)
    return result
