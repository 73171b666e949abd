"""Trajectories → MSD → D ± err → σ(T) → Arrhenius Ea, D0, σ(300 K): the ``lizrcl analyze`` stage.

Steps per trajectory (see the modules for the physics):

1. :mod:`~lizrcl_tools.analysis.sources` gives the file and its metadata: a run folder's
   run.json, a vasprun.xml's INCAR block, or flags (:func:`~.sources.resolve_sources`);
2. :func:`~lizrcl_tools.analysis.trajectory.read_mobile_trajectory` streams the mobile ions as
   continuous paths (unwrapped columns checked, image flags applied, or minimum-image
   unwrapping) and removes framework drift;
3. :func:`~lizrcl_tools.analysis.msd.compute_msd` gives the all-origin FFT MSD (x, y, z);
4. :mod:`~lizrcl_tools.analysis.ionfit` (default: one window to half the run, errors from the
   spread over ions) or :mod:`~lizrcl_tools.analysis.diffusion` (``estimator="blocks"``: a
   window inside one of 5 time blocks, errors from the blocks) give D, D_xy, D_z ± err;
5. :func:`~lizrcl_tools.analysis.conductivity.nernst_einstein_mS_cm` gives σ, with V from
   run.json ``volume_A3`` when present, else the mean box of the frames;
6. :func:`~lizrcl_tools.analysis.diffusive.check_diffusive` decides whether the run is in the
   diffusive regime (MSD past a hop length squared, log–log slope near 1) and counts hops.

Across runs, :func:`~lizrcl_tools.analysis.arrhenius.fit_arrhenius` gives Ea and the 300 K
extrapolation from the diffusive, sane runs only (the others are listed with the reason);
σ(300 K) uses N/V of the fitted run closest to 300 K.

Examples
--------
>>> from lizrcl_tools.analysis import analyze_runs, format_table          # doctest: +SKIP
>>> result = analyze_runs(["md_500K", "md_600K", "md_700K"], out_dir="conductivity")
>>> print(format_table(result))
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from lizrcl_tools.analysis import arrhenius as arr
from lizrcl_tools.analysis import diffusion as dif
from lizrcl_tools.analysis import diffusive as dfv
from lizrcl_tools.analysis import ionfit
from lizrcl_tools.analysis.conductivity import nernst_einstein_mS_cm
from lizrcl_tools.analysis.msd import MSDCurves, compute_msd
from lizrcl_tools.analysis.sources import TrajectorySource, source_from_run_dir
from lizrcl_tools.analysis.trajectory import read_mobile_trajectory
from lizrcl_tools.errors import LizrclWarning, SetupError
from lizrcl_tools.keys import OXIDATION_STATES
from lizrcl_tools.analysis.results import REFERENCE_T_K, ArrheniusResult, ConductivityResult, DiffusionResult

CONDUCTIVITY_JSON = "conductivity.json"

ESTIMATORS = ("ions", "blocks")
"""Error estimators of D: ``ions`` (default) and ``blocks``."""
DEFAULT_ESTIMATOR = "ions"


class NotDiffusiveWarning(LizrclWarning):
    """A D fitted outside the diffusive regime (see :mod:`~lizrcl_tools.analysis.diffusive`)."""


METHODS = {
    "msd": "all-origin MSD by FFT (numpy), per Cartesian component; framework centre-of-mass drift removed",
    "unwrapping": "unwrapped columns used as they are after a half-box jump check; image flags applied; "
    "wrapped-only coordinates unwrapped frame to frame by the minimum image in fractional coordinates "
    "(refused when a step exceeds 0.35 of a box)",
    "axes": "D_xy = slope(MSD_x+MSD_y)/4, D_z = slope(MSD_z)/2, z = Cartesian z (layer normal of the layered cell)",
    "fit_window": ionfit.ION_WINDOW_RULE,
    "uncertainty": ionfit.ION_UNCERTAINTY,
    "conductivity": "Nernst-Einstein sigma = N q^2 D / (V k_B T) with the tracer D (Haven ratio 1); "
    "V from run.json volume_A3 when present, else the mean dump box",
    "arrhenius": arr.ARRHENIUS_METHOD + "; only temperatures whose runs are diffusive and sane",
    "diffusive": "MSD at the fit start >= hop_length^2 and |d ln MSD/d ln t - 1| <= slope_tolerance over "
    "the fit window; D > 0 with a finite error; no MD-stage sanity problem",
    "n_hops": dfv.HOPS_ESTIMATOR,
    "sigma_300K": "Nernst-Einstein with the extrapolated D(300 K) and N/V of the fitted run closest to 300 K",
}


def methods_for(estimator: str) -> dict[str, str]:
    """The methods record of a result, with the window and error rules of ``estimator``."""
    methods = dict(METHODS)
    if estimator == "blocks":
        methods["fit_window"], methods["uncertainty"] = dif.WINDOW_RULE, dif.UNCERTAINTY_METHOD
    return methods


def as_source(run: str | os.PathLike | TrajectorySource) -> TrajectorySource:
    """A source as it is, or the source of a run folder (its run.json)."""
    if isinstance(run, TrajectorySource):
        return run
    path = Path(run)
    if path.is_dir() or path.name == "run.json":
        return source_from_run_dir(path)
    raise SetupError(f"{path}: not a run folder; analyse a trajectory file with its metadata "
                     "(lizrcl_tools.analysis.sources.resolve_sources, or lizrcl analyze FILE --temperature "
                     "K --timestep-fs DT --every N)")


def analyze_run(
    run: str | os.PathLike | TrajectorySource,
    fit_start_ps: float | None = None,
    fit_end_ps: float | None = None,
    n_blocks: int = dif.DEFAULT_N_BLOCKS,
    drift_correct: bool = True,
    progress: bool = True,
    hop_length_A: float = dfv.DEFAULT_HOP_LENGTH_A,
    slope_tolerance: float = dfv.DEFAULT_SLOPE_TOLERANCE,
    estimator: str = DEFAULT_ESTIMATOR,
) -> tuple[DiffusionResult, MSDCurves]:
    """Diffusion coefficients, Nernst–Einstein σ and the diffusive-regime check of one trajectory.

    Parameters
    ----------
    run : str, PathLike or TrajectorySource
        A run folder (``nvt.lammpstrj`` + ``run.json``) or a resolved trajectory source.
    fit_start_ps, fit_end_ps : float, optional
        Override the default fit window (ps).
    n_blocks : int
        Independent time blocks for the standard errors.
    drift_correct : bool
        Remove the framework centre-of-mass drift.
    progress : bool
        Show a progress bar while reading.
    hop_length_A, slope_tolerance : float
        Diffusive-regime criteria (:mod:`~lizrcl_tools.analysis.diffusive`).
    estimator : str
        ``ions`` (window to half the run, per-ion errors) or ``blocks`` (``n_blocks`` time blocks).

    Returns
    -------
    DiffusionResult
        With ``msd_file`` None (set by :func:`analyze_runs` when it writes the curves).
    MSDCurves
        The MSD curves behind the fit.
    """
    if estimator not in ESTIMATORS:
        raise SetupError(f"unknown estimator {estimator!r}; choose one of {', '.join(ESTIMATORS)}")
    source = as_source(run)
    traj = read_mobile_trajectory(source, drift_correct=drift_correct, progress=progress)
    curves = compute_msd(traj.positions_A, traj.frame_interval_ps)
    # one ion has no spread to take an error from
    if estimator == "ions" and traj.n_mobile < 2:
        estimator = "blocks"
    try:
        if estimator == "ions":
            window = ionfit.choose_ion_window(curves, hop_length_A, fit_start_ps, fit_end_ps)
        else:
            window = dif.choose_fit_window(curves, n_blocks, fit_start_ps, fit_end_ps)
    except SetupError as exc:
        raise SetupError(f"{source.label}: {exc}") from exc
    if estimator == "ions":
        fit = ionfit.fit_diffusion_ions(curves, traj.positions_A, window)
    else:
        fit = dif.fit_diffusion(curves, traj.positions_A, window)

    if source.volume_A3 is not None:
        volume = source.volume_A3
        volume_source = "run.json volume_A3" if source.run_json is not None else "given volume"
    else:
        volume, volume_source = traj.box_volume_A3, "dump box" if source.family == "lammps" else "trajectory box"
    z = OXIDATION_STATES.get(source.mobile, 1)

    def sigma(d: float) -> float:
        return nernst_einstein_mS_cm(d, traj.n_mobile, volume, source.temperature_K, z)

    haven = None
    if fit.D_charge_cm2_s is not None and fit.D_charge_cm2_s > 0:
        haven = fit.D_cm2_s / fit.D_charge_cm2_s
    check = dfv.check_diffusive(curves, window, fit.D_cm2_s, fit.D_err_cm2_s, traj.n_mobile,
                                hop_length_A, slope_tolerance, problems=source.sanity)
    if not check.diffusive:
        warnings.warn(f"{source.label} ({source.temperature_K:g} K): D is not from the diffusive regime: "
                      f"{check.reason}", NotDiffusiveWarning, stacklevel=2)
    result = DiffusionResult(
        T_K=source.temperature_K,
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
        source=source.label,
        D_charge_cm2_s=fit.D_charge_cm2_s,
        D_charge_err_cm2_s=fit.D_charge_err_cm2_s,
        haven_ratio=haven,
        coordinates=traj.coordinates,
        trajectory_format=source.format,
        metadata=dict(source.origin) or None,
        warnings=traj.warnings,
        n_frames_expected=traj.n_frames_expected,
        diffusive=check.diffusive,
        diffusive_reason=check.reason,
        msd_fit_start_A2=check.msd_fit_start_A2,
        loglog_slope=check.loglog_slope if math.isfinite(check.loglog_slope) else None,
        n_hops=check.n_hops if math.isfinite(check.n_hops) else None,
        estimator=estimator,
    )
    return result, curves


def arrhenius_from_runs(
    results: Sequence[DiffusionResult], mobile: str = "Li", fit_all: bool = False
) -> tuple[ArrheniusResult | None, str | None]:
    """Arrhenius fit across the diffusive, sane results (all with ``fit_all``), and a note.

    Returns (None, why) with fewer than two distinct fitted temperatures.
    """
    used = [r for r in results if fit_all or r.diffusive is not False]
    left = [r for r in results if r not in used]
    excluded = tuple(r.T_K for r in left)
    reasons = tuple(f"{r.T_K:g} K: {r.diffusive_reason}" for r in left)
    note = ("left out of the Arrhenius fit: " + " | ".join(reasons)) if left else None
    temps = [r.T_K for r in used]
    if len(set(temps)) < 2:
        why = (f"no Arrhenius fit: {len(set(temps))} diffusive temperature(s), two or more needed"
               + (f"; {note}" if note else ""))
        return None, why
    fit = arr.fit_arrhenius(temps, [r.D_cm2_s for r in used], [r.D_err_cm2_s for r in used])
    d_ref, d_ref_err = fit.extrapolate(REFERENCE_T_K)
    closest = min(used, key=lambda r: abs(r.T_K - REFERENCE_T_K))
    z = OXIDATION_STATES.get(mobile, 1)

    def sigma(d: float) -> float:
        return nernst_einstein_mS_cm(d, closest.n_mobile, closest.volume_A3, REFERENCE_T_K, z)

    hops = [r.n_hops for r in used if r.n_hops is not None]
    result = ArrheniusResult(
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
        excluded_T_K=excluded,
        excluded_reasons=reasons,
        n_hops=float(sum(hops)) if hops else None,
        criteria="all temperatures (fit_all)" if fit_all else METHODS["diffusive"],
    )
    return result, note


def analyze_runs(
    run_dirs: Sequence[str | os.PathLike | TrajectorySource],
    out_dir: str | os.PathLike | None = None,
    fit_start_ps: float | None = None,
    fit_end_ps: float | None = None,
    n_blocks: int = dif.DEFAULT_N_BLOCKS,
    drift_correct: bool = True,
    overwrite: bool = False,
    plots: bool = True,
    progress: bool = True,
    hop_length_A: float = dfv.DEFAULT_HOP_LENGTH_A,
    slope_tolerance: float = dfv.DEFAULT_SLOPE_TOLERANCE,
    fit_all: bool = False,
    estimator: str = DEFAULT_ESTIMATOR,
) -> ConductivityResult:
    """Analyse trajectories at one or more temperatures; optionally write the outputs.

    Parameters
    ----------
    run_dirs : sequence of str, PathLike or TrajectorySource
        Run folders and/or resolved sources (any order; results are sorted by temperature).
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
    hop_length_A, slope_tolerance : float
        Diffusive-regime criteria (:mod:`~lizrcl_tools.analysis.diffusive`).
    fit_all : bool
        Put every temperature into the Arrhenius fit, diffusive or not (still flagged).
    estimator : str
        Error estimator of D: ``ions`` or ``blocks`` (:func:`analyze_run`).

    Returns
    -------
    ConductivityResult

    Raises
    ------
    SetupError
        No trajectories, mixed mobile elements, or an existing result without ``overwrite``.
    ParseError
        A bad run.json or trajectory (file, key or frame named).
    """
    if not run_dirs:
        raise SetupError("no run folders or trajectories given")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None and (out / CONDUCTIVITY_JSON).exists() and not overwrite:
        raise SetupError(f"{out / CONDUCTIVITY_JSON} exists; refusing to overwrite a finished result (pass overwrite=True, or --force)")
    sources = [as_source(d) for d in run_dirs]
    mobiles = {s.mobile for s in sources}
    if len(mobiles) != 1:
        raise SetupError(f"trajectories disagree on the mobile element: {sorted(mobiles)}")
    mobile = mobiles.pop()

    analysed = [
        analyze_run(s, fit_start_ps, fit_end_ps, n_blocks, drift_correct, progress, hop_length_A, slope_tolerance,
                    estimator)
        for s in sources
    ]
    analysed.sort(key=lambda pair: pair[0].T_K)
    if out is not None:
        from lizrcl_tools.analysis.report import retire_previous, write_curves

        retire_previous(out)
        analysed = write_curves(analysed, out, plots=plots)
    results = tuple(r for r, _ in analysed)
    arrhenius, note = arrhenius_from_runs(results, mobile, fit_all)
    result = ConductivityResult(
        temperatures=results,
        arrhenius=arrhenius,
        mobile=mobile,
        methods=methods_for(estimator),
        arrhenius_note=note,
    )
    if out is not None:
        from lizrcl_tools.analysis.report import write_summary

        write_summary(result, out, plots=plots, overwrite=overwrite)
    return result
