"""The per-ion estimator of D: its window, its agreement with the mean-MSD fit, and the coverage
of its error bar on synthetic walks of known D."""

from __future__ import annotations

import numpy as np
import pytest

from lizrcl_tools.analysis import diffusion as dif
from lizrcl_tools.analysis import ionfit
from lizrcl_tools.analysis.diffusive import check_diffusive
from lizrcl_tools.analysis.msd import compute_msd
from lizrcl_tools.analysis.synthetic import random_walk

DT_PS = 0.05
A2_PS = dif.CM2_S_PER_A2_PS  # 1 Å²/ps in cm²/s


def hopping_ions(n_frames: int, n_ions: int, rate_per_ps: float, hop_A: float, rattle_A: float,
                 rng: np.random.Generator) -> np.ndarray:
    """Ions that rattle (Gaussian, ``rattle_A`` per axis) around sites and hop by ±``hop_A`` along
    a random Cartesian axis as a Poisson process: D = rate × hop² / 6 exactly at long times."""
    hops = rng.random((n_frames, n_ions)) < rate_per_ps * DT_PS
    axis = rng.integers(0, 3, size=(n_frames, n_ions))
    sign = rng.choice([-1.0, 1.0], size=(n_frames, n_ions))
    steps = np.zeros((n_frames, n_ions, 3))
    rows, cols = np.nonzero(hops)
    steps[rows, cols, axis[rows, cols]] = sign[rows, cols] * hop_A
    steps[0] = 0.0
    sites = np.cumsum(steps, axis=0)
    return sites + rng.normal(scale=rattle_A, size=sites.shape)


def _fit(positions: np.ndarray, hop_length_A: float = 3.5):
    curves = compute_msd(positions, DT_PS)
    window = ionfit.choose_ion_window(curves, hop_length_A)
    return curves, window, ionfit.fit_diffusion_ions(curves, positions, window)


def test_per_ion_mean_equals_the_fit_of_the_mean_msd():
    rng = np.random.default_rng(3)
    pos = random_walk(600, 12, (2e-5, 2e-5, 0.5e-5), DT_PS, rng)
    curves, window, fit = _fit(pos)
    total = dif.fit_slope(curves.time_ps, curves.total, window.start_ps, window.end_ps) / 6 * A2_PS
    z = dif.fit_slope(curves.time_ps, curves.msd_A2[:, 2], window.start_ps, window.end_ps) / 2 * A2_PS
    assert fit.D_cm2_s == pytest.approx(total, rel=1e-10)
    assert fit.D_z_cm2_s == pytest.approx(z, rel=1e-10)
    assert np.mean(fit.D_blocks_cm2_s) == pytest.approx(fit.D_cm2_s, rel=1e-12)
    # D = (2 D_xy + D_z) / 3 for every ion, hence for the mean
    assert fit.D_cm2_s == pytest.approx((2 * fit.D_xy_cm2_s + fit.D_z_cm2_s) / 3, rel=1e-10)
    assert window.estimator == "ions" and window.n_blocks == 0


def test_window_starts_where_the_msd_passes_a_hop_and_ends_at_three_times_that():
    rng = np.random.default_rng(5)
    pos = hopping_ions(2000, 24, rate_per_ps=0.5, hop_A=3.5, rattle_A=0.3, rng=rng)
    curves = compute_msd(pos, DT_PS)
    window = ionfit.choose_ion_window(curves, 3.5)
    first = curves.time_ps[np.nonzero(curves.total >= 3.5**2)[0][0]]
    assert window.start_ps >= first - 1e-12
    total = curves.time_ps[-1]
    assert window.end_ps == pytest.approx(min(0.5 * total, max(0.1 * total, 3 * window.start_ps)))
    # a slow run: the window reaches half the run, never past it
    slow = compute_msd(hopping_ions(2000, 24, rate_per_ps=0.05, hop_A=3.5, rattle_A=0.3, rng=rng), DT_PS)
    late = ionfit.choose_ion_window(slow, 3.5)
    assert late.start_ps > total / 6 and late.end_ps == pytest.approx(0.5 * total)
    check = check_diffusive(curves, window, 1e-5, 1e-6, 24)
    assert check.msd_fit_start_A2 >= 3.5**2


def test_a_run_that_never_leaves_its_sites_falls_back_and_is_flagged():
    rng = np.random.default_rng(6)
    pos = hopping_ions(1000, 12, rate_per_ps=0.01, hop_A=3.5, rattle_A=0.3, rng=rng)
    curves, window, fit = _fit(pos)
    assert "fallback" in window.rule
    assert window.start_ps == pytest.approx(0.1 * curves.time_ps[-1], abs=DT_PS)
    check = check_diffusive(curves, window, fit.D_cm2_s, fit.D_err_cm2_s, 12)
    assert not check.diffusive and "hop length" in check.reason


@pytest.mark.parametrize("model", ["gaussian", "hopping"])
def test_error_bar_covers_the_true_D_about_68_percent_of_the_time(model):
    """Coverage over 300 independent runs of 12 ions; with p = 0.683 the binomial sd of the
    fraction is 0.027, so [0.58, 0.78] is ± ~3.7 sd. The old estimator's error (5 blocks) is
    checked on the same runs for comparison of the mean |error|."""
    rng = np.random.default_rng(2026)
    n_runs, n_ions, n_frames = 300, 12, 1200
    true = 0.5 * 3.5**2 / 6 * A2_PS if model == "hopping" else 2e-5
    z_scores, rel_errors = [], []
    for _ in range(n_runs):
        if model == "hopping":
            pos = hopping_ions(n_frames, n_ions, rate_per_ps=0.5, hop_A=3.5, rattle_A=0.3, rng=rng)
        else:
            pos = random_walk(n_frames, n_ions, true, DT_PS, rng)
        _curves, _window, fit = _fit(pos)
        z_scores.append((fit.D_cm2_s - true) / fit.D_err_cm2_s)
        rel_errors.append(fit.D_err_cm2_s / true)
    z = np.array(z_scores)
    covered = float(np.mean(np.abs(z) <= 1.0))
    assert 0.58 <= covered <= 0.78, f"{model}: 1-sigma coverage {covered:.3f}"
    # unbiased: the mean z-score is 0 within ~4 standard errors of the mean
    assert abs(z.mean()) < 4 / np.sqrt(n_runs) * max(1.0, z.std())
    assert np.all(np.isfinite(rel_errors))


def test_collective_D_of_independent_ions_matches_the_tracer_D_within_its_jackknife_error():
    rng = np.random.default_rng(11)
    pos = random_walk(2000, 40, 3e-5, DT_PS, rng)
    _curves, _window, fit = _fit(pos)
    assert fit.D_charge_err_cm2_s > 0
    # Haven ratio 1 for independent walkers: the two agree within 3 combined errors
    assert abs(fit.D_charge_cm2_s - fit.D_cm2_s) < 3 * np.hypot(fit.D_charge_err_cm2_s, fit.D_err_cm2_s)


def test_one_ion_has_no_per_ion_error():
    rng = np.random.default_rng(1)
    pos = random_walk(400, 1, 3e-5, DT_PS, rng)
    curves = compute_msd(pos, DT_PS)
    window = ionfit.choose_ion_window(curves, 1.0)
    with pytest.raises(Exception, match="two mobile ions"):
        ionfit.fit_diffusion_ions(curves, pos, window)
