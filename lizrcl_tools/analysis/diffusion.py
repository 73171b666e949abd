r"""Diffusion coefficients from the MSD: fit window, linear fit and block standard errors.

Einstein relation in d dimensions: MSD(t) → 2 d D t for long t, so

* D = slope(MSD_x + MSD_y + MSD_z) / 6,
* D_xy = slope(MSD_x + MSD_y) / 4 (in-plane),
* D_z = slope(MSD_z) / 2 (out-of-plane, Cartesian z = layer normal of the layered cell);

an isotropic walk gives D_xy = D_z = D, and D = (2 D_xy + D_z) / 3 always.

Fit window (default rule, recorded with every result)
    The trajectory is cut into ``n_blocks`` (default 5) independent time blocks of length
    T_b. The window is [max(0.1 T_b, 3 t_c, t_cage), 0.5 T_b], where t_c is the first lag at
    which the local log–log slope α = d ln MSD / d ln t falls to 1.5 (the ballistic-to-diffusive
    crossover, about 2τ for a velocity memory time τ; by 3 t_c the MSD slope is within ~0.2 %
    of its limit) and t_cage is the end of a sub-diffusive cage: in a solid electrolyte α
    drops well below 1 while ions rattle in their sites between hops (α ≈ 0.6 for Li at 600 K
    for the first ~0.6 ps), and a window inside the cage overestimates D. When α falls below
    0.8 within the first 10 % of the trajectory, t_cage is the first later lag where the local
    slope dMSD/dt is within 1.2x of the chord slope from there to half the trajectory length
    (the MSD has become a straight line; judged on the whole trajectory, since a block-sized
    window can lie entirely inside the cage); otherwise 0 (liquids, random walks). The end
    keeps lags that have at least half of each block's time origins, dropping the noisy tail.
    ``fit_start_ps``/``fit_end_ps`` override either end.

Fit and uncertainty
    The slope is an ordinary least-squares fit of MSD = a + s t over every lag in the window
    (the intercept absorbs the ballistic offset and vibrations), using the MSD of the whole
    trajectory over all time origins. Its standard error is the spread of the same fit done
    separately on each independent block: err = std(D_blocks, ddof=1) / √n_blocks. When the
    window end is longer than a block, fewer (≥ 2) longer blocks are used.

Units: MSD Å², t ps, D cm²/s (1 Å²/ps = 10⁻⁴ cm²/s, from scipy.constants).

References: Allen & Tildesley, Computer Simulation of Liquids, 2nd ed., §8.4 (Einstein relation,
block averaging); Flyvbjerg & Petersen, J. Chem. Phys. 91, 461 (1989) (blocking).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import constants

from lizrcl_tools.analysis.msd import MSDCurves, msd_fft
from lizrcl_tools.errors import SetupError

CM2_S_PER_A2_PS = (constants.angstrom**2 / constants.pico) / constants.centi**2
"""1 Å²/ps expressed in cm²/s (= 10⁻⁴)."""

DEFAULT_N_BLOCKS = 5
START_FRACTION = 0.1
END_FRACTION = 0.5
CROSSOVER_SLOPE = 1.5
CROSSOVER_FACTOR = 3.0
CAGE_ENTER_SLOPE = 0.8
CAGE_SLOPE_EXCESS = 1.2
CAGE_SEARCH_FRACTION = 0.1
CAGE_SMOOTH_LAGS = 5
MIN_LAGS_IN_WINDOW = 5

WINDOW_RULE = (
    f"window = [max({START_FRACTION} T_b, {CROSSOVER_FACTOR:g} t_c, t_cage), {END_FRACTION} T_b]; "
    "T_b = trajectory length / n_blocks, t_c = first lag where d ln MSD / d ln t <= "
    f"{CROSSOVER_SLOPE}, t_cage = 0 unless that slope dips below {CAGE_ENTER_SLOPE} in the first "
    f"{CAGE_SEARCH_FRACTION:g} of the trajectory (ions caged), then the first later lag where "
    f"dMSD/dt is within {CAGE_SLOPE_EXCESS:g}x of the chord slope from there to half the "
    "trajectory length"
)
UNCERTAINTY_METHOD = (
    "OLS slope of the all-origin MSD over the window; standard error = std of the same fit on "
    "n_blocks independent time blocks (ddof=1) / sqrt(n_blocks)"
)


@dataclass(frozen=True)
class FitWindow:
    """Lag-time window of the MSD fit.

    Attributes
    ----------
    start_ps, end_ps : float
        Window (ps).
    rule : str
        The rule that chose it, or which end the user overrode.
    n_blocks : int
        Independent time blocks used for the standard error (0 for the per-ion estimator).
    estimator : str
        ``blocks`` (this module) or ``ions`` (:mod:`~lizrcl_tools.analysis.ionfit`).
    no_diffusive_window_ps : float or None
        Set when the cage or ballistic regime (this many ps) outlasts the default window, so
        the window was placed without it and the D cannot be diffusive; None otherwise.
    """

    start_ps: float
    end_ps: float
    rule: str
    n_blocks: int
    estimator: str = "blocks"
    no_diffusive_window_ps: float | None = None


@dataclass(frozen=True)
class DiffusionFit:
    """Diffusion coefficients of one trajectory (cm²/s), each with its standard error.

    ``D_blocks_cm2_s`` holds the D of each time block (block estimator) or of each ion
    (per-ion estimator).
    """

    D_cm2_s: float
    D_err_cm2_s: float
    D_xy_cm2_s: float
    D_xy_err_cm2_s: float
    D_z_cm2_s: float
    D_z_err_cm2_s: float
    window: FitWindow
    D_blocks_cm2_s: tuple[float, ...]
    D_charge_cm2_s: float | None = None
    D_charge_err_cm2_s: float | None = None


def _log_slope(curves: MSDCurves) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Lags t (ps) and total MSD (Å²) where MSD > 0 (t = 0 dropped), and α = d ln MSD / d ln t.

    α is None when fewer than 3 such lags exist (no derivative to take).
    """
    t, msd = curves.time_ps[1:], curves.total[1:]
    ok = msd > 0
    t, msd = t[ok], msd[ok]
    if len(t) < 3:
        return t, msd, None
    return t, msd, np.gradient(np.log(msd), np.log(t))


def crossover_time(curves: MSDCurves) -> float:
    """First lag (ps) at which d ln MSD / d ln t of the total MSD falls to 1.5 (0 if never above)."""
    t, _msd, alpha = _log_slope(curves)
    if alpha is None:
        return 0.0
    below = np.nonzero(alpha <= CROSSOVER_SLOPE)[0]
    if len(below) == 0:
        return float(t[-1])
    return 0.0 if below[0] == 0 else float(t[below[0]])


def cage_exit_time(curves: MSDCurves, before_ps: float) -> float:
    """End of the sub-diffusive cage (ps), 0 when the MSD has none before ``before_ps``.

    A cage shows as a dip of the log–log slope α = d ln MSD / d ln t below
    ``CAGE_ENTER_SLOPE`` within the first ``CAGE_SEARCH_FRACTION`` of the trajectory. After
    the dip the cage (rattling, correlated back-hops) has ended at the first lag t where the
    local slope dMSD/dt (smoothed over
    ``CAGE_SMOOTH_LAGS`` lags) is no more than ``CAGE_SLOPE_EXCESS`` times the chord slope
    from t to ``before_ps``: from there on the MSD is a straight line, whatever its intercept
    (α itself approaches 1 only slowly when the cage leaves a large intercept). If that never
    happens, ``before_ps`` is returned, which empties the default window so the caller uses
    fewer, longer blocks or asks for a longer run.
    """
    t, msd, alpha = _log_slope(curves)
    inside = t <= before_ps
    if alpha is None or inside.sum() < 2 * CAGE_SMOOTH_LAGS:
        return 0.0
    # a cage is a short-lag feature; at long lags α wanders with the noise of few origins
    early = t <= CAGE_SEARCH_FRACTION * float(curves.time_ps[-1])
    dips = np.nonzero((alpha < CAGE_ENTER_SLOPE) & inside & early)[0]
    if len(dips) == 0:
        return 0.0
    kernel = np.ones(CAGE_SMOOTH_LAGS) / CAGE_SMOOTH_LAGS
    local = np.convolve(np.gradient(msd, t), kernel, mode="same")
    last = int(np.nonzero(inside)[0][-1])
    for i in range(int(dips[0]), last - CAGE_SMOOTH_LAGS):
        chord = (msd[last] - msd[i]) / (t[last] - t[i])
        if chord > 0 and local[i] <= CAGE_SLOPE_EXCESS * chord:
            return float(t[i])
    return float(before_ps)


def min_frames_needed() -> int:
    """Fewest frames for which the default window can exist: two blocks, each with
    ``MIN_LAGS_IN_WINDOW`` lags between ``START_FRACTION`` and ``END_FRACTION`` of its length."""
    n = 4
    while True:
        lags = np.arange(n // 2)  # lags of one block, in frames
        span = n // 2 - 1
        if np.sum((lags >= START_FRACTION * span) & (lags <= END_FRACTION * span)) >= MIN_LAGS_IN_WINDOW:
            return n
        n += 1


def choose_fit_window(
    curves: MSDCurves,
    n_blocks: int = DEFAULT_N_BLOCKS,
    fit_start_ps: float | None = None,
    fit_end_ps: float | None = None,
) -> FitWindow:
    """Apply the default window rule (module docstring), with optional overrides.

    Parameters
    ----------
    curves : MSDCurves
        MSD of the whole trajectory.
    n_blocks : int
        Requested number of independent blocks (≥ 2).
    fit_start_ps, fit_end_ps : float, optional
        Override the start or the end of the window (ps).

    Returns
    -------
    FitWindow

    Raises
    ------
    SetupError
        A user-set window that is empty, beyond the trajectory, holds fewer than 5 lags, or is
        too long to fit into two blocks. A default window that the cage would empty is not an
        error: it is fitted without the cage floor and flagged (``FitWindow.no_diffusive_window_ps``).
    """
    if n_blocks < 2:
        raise SetupError(f"n_blocks must be at least 2 for a standard error, got {n_blocks}")
    n_frames = len(curves.time_ps)
    if n_frames < min_frames_needed():
        raise SetupError(
            f"the trajectory has {n_frames} frames; a D with an error bar needs at least "
            f"{min_frames_needed()} (two independent blocks, each with {MIN_LAGS_IN_WINDOW} lags between "
            f"{START_FRACTION:g} and {END_FRACTION:g} of its length), and a useful one thousands"
        )
    dt = float(curves.time_ps[1] - curves.time_ps[0])
    t_c = crossover_time(curves)
    # judged on the whole trajectory's MSD (lags up to half its length), not one block: a
    # block-sized window can sit entirely inside the cage
    t_cage = cage_exit_time(curves, before_ps=END_FRACTION * float(curves.time_ps[-1]))
    requested_blocks = n_blocks
    # Short runs: fewer, longer blocks before giving up, so the window can clear the ballistic
    # start; the reduction is written into the rule (and the error bar gets wider honestly).
    for n_blocks in range(requested_blocks, 1, -1):
        block_ps = (n_frames // n_blocks - 1) * dt
        end = END_FRACTION * block_ps
        start = max(START_FRACTION * block_ps, CROSSOVER_FACTOR * t_c, t_cage)
        if np.sum(_in_window(curves.time_ps, start, end)) >= MIN_LAGS_IN_WINDOW:
            break
    outlasting = None
    if fit_start_ps is None and fit_end_ps is None and start >= end:
        # The cage (or ballistic regime) outlasts even two blocks' window: no diffusive window in
        # this run. Fit the rule's window without that floor and say why, as the per-ion
        # estimator does, so the diffusive check flags the run and a multi-temperature job
        # leaves it out of the Arrhenius fit instead of stopping.
        outlasting = max(CROSSOVER_FACTOR * t_c, t_cage)
        start = START_FRACTION * block_ps
    start, end, overridden = checked_window(curves.time_ps, start, end, fit_start_ps, fit_end_ps)
    total_ps = float(curves.time_ps[-1])
    # Each block must reach the window end; shrink the count of blocks if needed.
    blocks = requested_blocks if overridden else n_blocks
    while blocks >= 2 and (n_frames // blocks - 1) * dt < end * (1 - 1e-9):
        blocks -= 1
    if blocks < 2:
        raise SetupError(
            f"fit window end {end:.4g} ps is longer than half the trajectory ({total_ps:.4g} ps); "
            "no two independent blocks reach it, so D would have no error bar"
        )
    rule = WINDOW_RULE
    if blocks < requested_blocks and not overridden:
        rule = f"{WINDOW_RULE}; n_blocks reduced from {requested_blocks} to {blocks} for a non-empty window"
    if outlasting is not None:
        rule = (f"{WINDOW_RULE}; the cage or ballistic regime ({outlasting:.4g} ps) outlasts the window end "
                f"even with {blocks} blocks: window without it (not a diffusive D)")
    if overridden:
        rule = f"user override of the {' and '.join(overridden)}; otherwise {WINDOW_RULE}"
    return FitWindow(start, end, rule, blocks, no_diffusive_window_ps=outlasting)


def checked_window(
    time_ps: np.ndarray,
    start_ps: float,
    end_ps: float,
    fit_start_ps: float | None = None,
    fit_end_ps: float | None = None,
) -> tuple[float, float, list[str]]:
    """A rule's window with the user's overrides applied, refused when empty, beyond the
    trajectory or holding fewer than ``MIN_LAGS_IN_WINDOW`` lags.

    Returns
    -------
    start_ps, end_ps : float
        The window (ps).
    overridden : list of str
        Which ends the user set (``start``, ``end``).
    """
    overridden = []
    if fit_start_ps is not None:
        start_ps = float(fit_start_ps)
        overridden.append("start")
    if fit_end_ps is not None:
        end_ps = float(fit_end_ps)
        overridden.append("end")
    total_ps = float(time_ps[-1])
    if not 0 <= start_ps < end_ps:
        raise SetupError(f"fit window [{start_ps:.4g}, {end_ps:.4g}] ps is empty; the start must be below the end")
    if end_ps > total_ps:
        raise SetupError(f"fit window end {end_ps:.4g} ps is beyond the trajectory length {total_ps:.4g} ps")
    n_lags = int(np.sum(_in_window(time_ps, start_ps, end_ps)))
    if n_lags < MIN_LAGS_IN_WINDOW:
        dt = float(time_ps[1] - time_ps[0])
        raise SetupError(
            f"fit window [{start_ps:.4g}, {end_ps:.4g}] ps holds only {n_lags} lags (frames every {dt:.4g} ps); "
            f"widen it or use a longer trajectory (at least {MIN_LAGS_IN_WINDOW} lags)"
        )
    return start_ps, end_ps, overridden


def _in_window(time_ps: np.ndarray, start_ps: float, end_ps: float) -> np.ndarray:
    """Lags inside [start, end], with a tolerance of 1e-9 × end so 0.1 × 10 × 0.01 ps includes lag 0.01 ps."""
    eps = 1e-9 * abs(end_ps)
    return (time_ps >= start_ps - eps) & (time_ps <= end_ps + eps)


def fit_slope(time_ps: np.ndarray, msd_A2: np.ndarray, start_ps: float, end_ps: float) -> float:
    """OLS slope (Å²/ps) of ``msd_A2`` (one series, or stacked rows) against ``time_ps`` over [start_ps, end_ps]."""
    sel = _in_window(time_ps, start_ps, end_ps)
    # polyfit fits every column at once; stacked series arrive as rows.
    slope, _intercept = np.polyfit(time_ps[sel], np.asarray(msd_A2)[..., sel].T, 1)
    return slope


def _coefficients(time_ps: np.ndarray, msd_xyz: np.ndarray, window: FitWindow) -> np.ndarray:
    """(D, D_xy, D_z) in cm²/s from per-component MSD (n_lags, 3)."""
    series = np.stack([msd_xyz.sum(axis=1), msd_xyz[:, 0] + msd_xyz[:, 1], msd_xyz[:, 2]])
    slopes = fit_slope(time_ps, series, window.start_ps, window.end_ps)
    return slopes / np.array([6.0, 4.0, 2.0]) * CM2_S_PER_A2_PS


def fit_diffusion(
    curves: MSDCurves,
    positions_A: np.ndarray,
    window: FitWindow,
) -> DiffusionFit:
    """D, D_xy, D_z with block standard errors over a fixed window.

    Parameters
    ----------
    curves : MSDCurves
        All-origin MSD of the whole trajectory (gives the values).
    positions_A : ndarray, shape (n_frames, n_mobile, 3)
        The same trajectory, cut into ``window.n_blocks`` blocks for the errors (Å).
    window : FitWindow
        From :func:`choose_fit_window`.

    Returns
    -------
    DiffusionFit
    """
    t = curves.time_ps
    values = _coefficients(t, curves.msd_A2, window)
    n_frames = positions_A.shape[0]
    per_block = n_frames // window.n_blocks
    block_values = []
    block_charge = []
    n_mobile = positions_A.shape[1]
    for b in range(window.n_blocks):
        block = positions_A[b * per_block : (b + 1) * per_block]
        block_values.append(_coefficients(t[:per_block], msd_fft(block), window))
        if curves.charge_msd_A2 is not None:
            summed = (block - block[:1]).sum(axis=1, keepdims=True)
            charge = msd_fft(summed).sum(axis=1) / n_mobile
            block_charge.append(fit_slope(t[:per_block], charge, window.start_ps, window.end_ps) / 6 * CM2_S_PER_A2_PS)
    block_values = np.array(block_values)
    errors = block_values.std(axis=0, ddof=1) / np.sqrt(window.n_blocks)

    d_charge = d_charge_err = None
    if curves.charge_msd_A2 is not None:
        d_charge = float(fit_slope(t, curves.charge_msd_A2, window.start_ps, window.end_ps) / 6 * CM2_S_PER_A2_PS)
        d_charge_err = float(np.std(block_charge, ddof=1) / np.sqrt(window.n_blocks))
    return DiffusionFit(
        D_cm2_s=float(values[0]),
        D_err_cm2_s=float(errors[0]),
        D_xy_cm2_s=float(values[1]),
        D_xy_err_cm2_s=float(errors[1]),
        D_z_cm2_s=float(values[2]),
        D_z_err_cm2_s=float(errors[2]),
        window=window,
        D_blocks_cm2_s=tuple(float(v) for v in block_values[:, 0]),
        D_charge_cm2_s=d_charge,
        D_charge_err_cm2_s=d_charge_err,
    )
