r"""D from a fit window that reaches half the run, with the error from the spread over ions.

The block estimator (:mod:`~lizrcl_tools.analysis.diffusion`) needs several independent time
blocks, so its window ends at half a block (a tenth of the run with 5 blocks). In a solid
electrolyte near room temperature that is too short: the Li must have left its site by the
window start, which needs 6 D t ≳ ℓ² (ℓ ≈ 3.5 Å) well before a tenth of the run. This
estimator uses the whole run for one window and takes the error from the ions instead of
from time blocks.

Fit window (``ION_WINDOW_RULE``)
    [max(t_hop, 3 t_c, t_cage), 0.5 T], T the trajectory length, t_hop the first lag at which
    the all-origin MSD reaches ℓ² (the ions have left their sites: the diffusive-regime
    criterion of :mod:`~lizrcl_tools.analysis.diffusive` holds at the start by construction),
    t_c and t_cage the ballistic crossover and cage exit of the block rule. Lags past T/2 have
    fewer than half the time origins and are dropped, as in the block rule. When the MSD does
    not reach ℓ² early enough to leave :data:`~lizrcl_tools.analysis.diffusion.MIN_LAGS_IN_WINDOW`
    lags, the start falls back to max(0.1 T, 3 t_c, t_cage): a D is still reported, and the
    diffusive check flags it.

Uncertainty (``ION_UNCERTAINTY``)
    Each ion's own all-origin MSD is fitted over the same window; D is the mean of the
    per-ion slopes / 6 (equal to the fit of the mean MSD, the fit being linear) and its
    standard error is std(per-ion D, ddof=1) / √N. For a linear estimator this is exactly the
    leave-one-ion-out jackknife. It treats the ions as independent samples of the same
    process: correct for independent walkers (``tests/test_ionfit.py`` checks its coverage on
    synthetic walks of known D), and too small when the ions move in correlated groups (the
    effective number of samples is then smaller than N; a Haven ratio far from 1 is the sign).
    The collective ("charge") D gets the leave-one-ion-out jackknife of its own fit.

Units: positions Å, MSD Å², t ps, D cm²/s.

References: Efron & Stein, Ann. Stat. 9, 586 (1981) (jackknife); He et al., npj Comput. Mater.
4, 18 (2018) (statistical variances of diffusional properties from MD).
"""

from __future__ import annotations

import numpy as np

from lizrcl_tools.analysis import diffusion as dif
from lizrcl_tools.analysis.msd import MSDCurves, msd_fft
from lizrcl_tools.errors import SetupError

END_FRACTION = 0.5
MIN_END_FRACTION = 0.1
END_OVER_START = 3.0
FALLBACK_START_FRACTION = 0.1

ION_WINDOW_RULE = (
    f"window = [t_s, min({END_FRACTION} T, max({MIN_END_FRACTION} T, {END_OVER_START:g} t_s))], "
    f"t_s = max(t_hop, {dif.CROSSOVER_FACTOR:g} t_c, t_cage); T = trajectory length, "
    "t_hop = first lag where the MSD reaches hop_length^2, t_c and t_cage as in the block rule; when the MSD "
    f"reaches hop_length^2 too late for {dif.MIN_LAGS_IN_WINDOW} lags, the start is "
    f"max({FALLBACK_START_FRACTION} T, {dif.CROSSOVER_FACTOR:g} t_c, t_cage) (and the run is not diffusive)"
)
ION_UNCERTAINTY = (
    "OLS slope of the all-origin MSD over the window; standard error = std of the per-ion slopes "
    "(ddof=1) / sqrt(N_ions), the leave-one-ion-out jackknife (ions taken as independent); collective D: "
    "jackknife over ions"
)


def choose_ion_window(
    curves: MSDCurves,
    hop_length_A: float,
    fit_start_ps: float | None = None,
    fit_end_ps: float | None = None,
) -> dif.FitWindow:
    """The window of the module docstring, with optional overrides (ps).

    Raises
    ------
    SetupError
        A user-set window that is empty, beyond the trajectory or holds fewer than 5 lags, or a
        trajectory too short for any window. A default window that the cage would empty is
        not an error: see ``FitWindow.no_diffusive_window_ps``.
    """
    t = curves.time_ps
    if len(t) < min_frames_needed():
        raise SetupError(
            f"the trajectory has {len(t)} frames; a D with an error bar needs at least {min_frames_needed()} "
            f"({dif.MIN_LAGS_IN_WINDOW} lags in the fallback window), and a useful one thousands"
        )
    total_ps = float(t[-1])
    longest = END_FRACTION * total_ps
    t_c = dif.crossover_time(curves)
    t_cage = dif.cage_exit_time(curves, before_ps=longest)
    floor = max(dif.CROSSOVER_FACTOR * t_c, t_cage)
    reached = np.nonzero(curves.total >= hop_length_A**2)[0]
    start = None
    if len(reached):
        start = max(float(t[reached[0]]), floor)
        end = _end_for(start, total_ps)
        if np.sum(dif._in_window(t, start, end)) < dif.MIN_LAGS_IN_WINDOW:
            start = None
    rule = ION_WINDOW_RULE
    if start is None:
        start = max(FALLBACK_START_FRACTION * total_ps, floor)
        end = _end_for(start, total_ps)
        rule = f"{ION_WINDOW_RULE}; fallback start used (MSD below hop_length^2 before the window end)"
    outlasting = None
    if fit_start_ps is None and fit_end_ps is None and start >= end:
        # The cage (or ballistic regime) lasts past the window's end, so this run holds no
        # diffusive window. Fit from the fallback start all the same and say why: the diffusive
        # check then flags the run, and a multi-temperature job reports this temperature and
        # leaves it out of its Arrhenius fit instead of stopping.
        outlasting = floor
        start = FALLBACK_START_FRACTION * total_ps
        end = _end_for(start, total_ps)
        rule = (f"{ION_WINDOW_RULE}; the cage or ballistic regime ({floor:.4g} ps) outlasts the window end: "
                f"fallback start {FALLBACK_START_FRACTION} T without it (not a diffusive D)")
    start, end, overridden = dif.checked_window(t, start, end, fit_start_ps, fit_end_ps)
    if overridden:
        rule = f"user override of the {' and '.join(overridden)}; otherwise {ION_WINDOW_RULE}"
    return dif.FitWindow(start, end, rule, n_blocks=0, estimator="ions", no_diffusive_window_ps=outlasting)


def min_frames_needed() -> int:
    """Fewest frames for which the fallback window holds ``MIN_LAGS_IN_WINDOW`` lags."""
    n = 3
    while True:
        t = np.arange(n, dtype=float)
        start = FALLBACK_START_FRACTION * t[-1]
        if np.sum(dif._in_window(t, start, _end_for(start, t[-1]))) >= dif.MIN_LAGS_IN_WINDOW:
            return n
        n += 1


def _end_for(start_ps: float, total_ps: float) -> float:
    """Window end for a start: END_OVER_START × start, at least MIN_END_FRACTION and at most
    END_FRACTION of the run."""
    return min(END_FRACTION * total_ps, max(MIN_END_FRACTION * total_ps, END_OVER_START * start_ps))


def per_ion_msd(positions_A: np.ndarray) -> np.ndarray:
    """All-origin MSD of each ion, shape (n_frames, n_ions, 3), Å²."""
    positions_A = np.asarray(positions_A, dtype=np.float64)
    return np.stack([msd_fft(positions_A[:, i : i + 1]) for i in range(positions_A.shape[1])], axis=1)


def fit_diffusion_ions(curves: MSDCurves, positions_A: np.ndarray, window: dif.FitWindow) -> dif.DiffusionFit:
    """D, D_xy, D_z with per-ion standard errors over a fixed window.

    Parameters
    ----------
    curves : MSDCurves
        All-origin MSD of the whole trajectory.
    positions_A : ndarray, shape (n_frames, n_ions, 3)
        The same trajectory (Å), at least two ions.
    window : FitWindow
        From :func:`choose_ion_window`.

    Returns
    -------
    DiffusionFit
        ``D_blocks_cm2_s`` holds the per-ion D values.
    """
    n_ions = positions_A.shape[1]
    if n_ions < 2:
        raise SetupError("the per-ion error needs at least two mobile ions; use the block estimator")
    t = curves.time_ps
    per_ion = per_ion_msd(positions_A)  # (n_frames, n_ions, 3)
    series = np.stack([per_ion.sum(axis=2), per_ion[..., 0] + per_ion[..., 1], per_ion[..., 2]])  # (3, frames, ions)
    rows = np.moveaxis(series, 1, 2).reshape(3 * n_ions, len(t))
    slopes = np.asarray(dif.fit_slope(t, rows, window.start_ps, window.end_ps)).reshape(3, n_ions)
    values = slopes / np.array([6.0, 4.0, 2.0])[:, None] * dif.CM2_S_PER_A2_PS  # (3, n_ions)
    means = values.mean(axis=1)
    errors = values.std(axis=1, ddof=1) / np.sqrt(n_ions)

    d_charge = d_charge_err = None
    if curves.charge_msd_A2 is not None:
        d_charge, d_charge_err = _charge_jackknife(t, positions_A, window)
    return dif.DiffusionFit(
        D_cm2_s=float(means[0]),
        D_err_cm2_s=float(errors[0]),
        D_xy_cm2_s=float(means[1]),
        D_xy_err_cm2_s=float(errors[1]),
        D_z_cm2_s=float(means[2]),
        D_z_err_cm2_s=float(errors[2]),
        window=window,
        D_blocks_cm2_s=tuple(float(v) for v in values[0]),
        D_charge_cm2_s=d_charge,
        D_charge_err_cm2_s=d_charge_err,
    )


def _charge_jackknife(time_ps: np.ndarray, positions_A: np.ndarray, window: dif.FitWindow) -> tuple[float, float]:
    """Collective D (cm²/s) and its leave-one-ion-out jackknife error."""
    n_ions = positions_A.shape[1]
    disp = positions_A - positions_A[:1]

    def collective(d: np.ndarray, n: int) -> float:
        msd = msd_fft(d.sum(axis=1, keepdims=True)).sum(axis=1) / n
        return float(dif.fit_slope(time_ps, msd, window.start_ps, window.end_ps)) / 6.0 * dif.CM2_S_PER_A2_PS

    full = collective(disp, n_ions)
    leave_out = np.array([collective(np.delete(disp, i, axis=1), n_ions - 1) for i in range(n_ions)])
    err = float(np.sqrt((n_ions - 1) / n_ions * np.sum((leave_out - leave_out.mean()) ** 2)))
    return full, err
