r"""Is a fitted D a diffusion coefficient? Criteria fixed from the physics of ion hopping.

An MSD slope measures long-range diffusion only once the ions have left their sites: before
that it measures rattling in the cage and back-and-forth hops. Two criteria, both with stated
defaults, are applied to every temperature (:func:`check_diffusive`):

1. **Past one hop.** MSD(t_start) at the start of the fit window must exceed ℓ², ℓ the
   shortest hop of the mobile ion. For Li in Li2ZrCl6 the Li–Li site distances are
   ~3.5–4 Å; the default ℓ = 3.5 Å (ℓ² = 12.25 Å²) takes the short end, so a run is
   rejected only when the average Li has not yet made one hop by the window start.
2. **Linear in time.** The log–log slope α = d ln MSD / d ln t over the fit window (OLS of
   ln MSD on ln t) must lie within 1 ± 0.25. A straight MSD with a cage offset a has
   α = 1 − a/MSD; thermal rattling of ≲ 1 Å per axis gives a ≲ 3 Å² ≈ ℓ²/4, so past ℓ²
   α ≥ 0.75. Below that the ions are still sub-diffusive (cage, correlated back-hops); above
   1.25 a ballistic or drift term dominates.

A run is also left out when it is not *sane*: D ≤ 0 or not finite, no finite error bar, or
problems recorded by the MD stage (e.g. a thermostat that lost control).

Number of hops behind a D (estimator stated in every result): n_hops = N × 6 D t_run / ℓ²,
i.e. the fitted MSD growth over the whole trajectory (t_run) per ion, in units of ℓ², summed
over the N mobile ions (uncorrelated hops of length ℓ give MSD = n ℓ² per ion). Its inverse
square root is a rough floor on the relative error of D.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lizrcl_tools.analysis.diffusion import CM2_S_PER_A2_PS, FitWindow
from lizrcl_tools.analysis.msd import MSDCurves

DEFAULT_HOP_LENGTH_A = 3.5
"""Shortest Li–Li hop in Li2ZrCl6 (Å): MSD(t_start) must exceed its square."""

DEFAULT_SLOPE_TOLERANCE = 0.25
"""Accepted |α − 1| of the log–log MSD slope over the fit window."""

HOPS_ESTIMATOR = "n_hops = N_mobile * 6 D t_run / hop_length^2 (fitted MSD growth over the whole run, per hop length squared)"


@dataclass(frozen=True)
class DiffusiveCheck:
    """Outcome of :func:`check_diffusive`.

    Attributes
    ----------
    diffusive : bool
        Both criteria met and the run sane.
    reason : str
        The criteria with their values; what failed first.
    msd_fit_start_A2 : float
        MSD at the start of the fit window (Å²).
    loglog_slope : float
        α over the fit window (nan if undefined).
    n_hops : float
        Estimated number of hops behind D (see module docstring).
    hop_length_A, slope_tolerance : float
        Criteria used.
    """

    diffusive: bool
    reason: str
    msd_fit_start_A2: float
    loglog_slope: float
    n_hops: float
    hop_length_A: float
    slope_tolerance: float


def loglog_slope(curves: MSDCurves, start_ps: float, end_ps: float) -> float:
    """OLS slope of ln MSD_total against ln t over lags in [start_ps, end_ps] with t, MSD > 0."""
    t, msd = curves.time_ps, curves.total
    sel = (t >= start_ps) & (t <= end_ps) & (t > 0) & (msd > 0)
    if sel.sum() < 2:
        return math.nan
    return float(np.polyfit(np.log(t[sel]), np.log(msd[sel]), 1)[0])


def check_diffusive(
    curves: MSDCurves,
    window: FitWindow,
    D_cm2_s: float,
    D_err_cm2_s: float,
    n_mobile: int,
    hop_length_A: float = DEFAULT_HOP_LENGTH_A,
    slope_tolerance: float = DEFAULT_SLOPE_TOLERANCE,
    problems: Sequence[str] = (),
) -> DiffusiveCheck:
    """Apply the criteria of the module docstring to one fitted run.

    Parameters
    ----------
    curves : MSDCurves
        MSD of the run (Å², ps).
    window : FitWindow
        The fit window used for D.
    D_cm2_s, D_err_cm2_s : float
        Fitted D and its standard error (cm²/s).
    n_mobile : int
        Mobile ions.
    hop_length_A : float
        ℓ (Å).
    slope_tolerance : float
        Accepted |α − 1|.
    problems : sequence of str
        Problems recorded upstream (e.g. run.json ``sanity``); any makes the run not sane.
    """
    msd_start = float(np.interp(window.start_ps, curves.time_ps, curves.total))
    alpha = loglog_slope(curves, window.start_ps, window.end_ps)
    duration = float(curves.time_ps[-1])
    d_a2_ps = D_cm2_s / CM2_S_PER_A2_PS
    ell2 = hop_length_A**2
    n_hops = float(n_mobile * 6.0 * max(d_a2_ps, 0.0) * duration / ell2) if math.isfinite(d_a2_ps) else math.nan
    failed = []
    if not (math.isfinite(D_cm2_s) and D_cm2_s > 0):
        failed.append(f"D = {D_cm2_s:.3g} cm²/s is not positive")
    if not (math.isfinite(D_err_cm2_s) and D_err_cm2_s > 0):
        failed.append(f"no finite error bar (D_err = {D_err_cm2_s:.3g})")
    failed.extend(f"MD stage: {p}" for p in problems)
    if window.no_diffusive_window_ps is not None:
        failed.append(f"the cage or ballistic regime lasts {window.no_diffusive_window_ps:.3g} ps, past the default "
                      f"window's end at half the run: no diffusive window in {duration:.3g} ps (run longer)")
    if not msd_start >= ell2:
        failed.append(f"MSD at the fit start {msd_start:.3g} Å² < hop length² {ell2:.3g} Å² "
                      f"(ℓ = {hop_length_A:g} Å): the ions have not yet left their sites")
    if not abs(alpha - 1.0) <= slope_tolerance:
        kind = "sub-diffusive (cage, back-hops)" if alpha < 1 else "super-diffusive (ballistic or drift)"
        failed.append(f"log-log slope {alpha:.2f} outside 1 ± {slope_tolerance:g}: {kind}")
    if failed:
        reason = "; ".join(failed)
    else:
        reason = (f"MSD at the fit start {msd_start:.3g} Å² ≥ {ell2:.3g} Å² (ℓ = {hop_length_A:g} Å), "
                  f"log-log slope {alpha:.2f} within 1 ± {slope_tolerance:g}")
    return DiffusiveCheck(
        diffusive=not failed,
        reason=reason,
        msd_fit_start_A2=msd_start,
        loglog_slope=alpha,
        n_hops=n_hops,
        hop_length_A=float(hop_length_A),
        slope_tolerance=float(slope_tolerance),
    )
