"""FFT MSD, fit window and block errors on in-memory trajectories (no files)."""

from __future__ import annotations

import numpy as np
import pytest

from lizrcl_tools.analysis import diffusion as dif
from lizrcl_tools.analysis.msd import compute_msd, msd_fft
from lizrcl_tools.analysis.synthetic import random_walk
from lizrcl_tools.errors import SetupError


def _msd_direct(pos: np.ndarray) -> np.ndarray:
    """O(N²) reference: explicit average over every time origin."""
    n = len(pos)
    return np.array([((pos[m:] - pos[: n - m]) ** 2).mean(axis=(0, 1)) for m in range(n)])


def test_fft_msd_equals_direct_average_over_origins():
    rng = np.random.default_rng(7)
    pos = rng.normal(size=(257, 70, 3)).cumsum(axis=0) + 50.0  # odd length, offset, >1 particle block
    np.testing.assert_allclose(msd_fft(pos), _msd_direct(pos), rtol=1e-9, atol=1e-9)


def test_constant_velocity_gives_ballistic_msd():
    # MSD = |v|² t² exactly, per component v_α² t².
    v = np.array([0.3, -0.2, 0.5])
    t = np.arange(100) * 0.01
    pos = t[:, None, None] * v + np.zeros((1, 4, 3))
    msd = msd_fft(pos)
    np.testing.assert_allclose(msd, (t[:, None] * v) ** 2, atol=1e-10)


def test_projected_coefficients_of_anisotropic_walk_and_calibrated_error():
    d_axes = (2e-5, 2e-5, 2e-6)  # fast in-plane, slow along z
    rng = np.random.default_rng(11)
    # 1500 walkers: ~1 % (1σ) on D_z, the noisiest projection, so 5 % is a safe bound.
    pos = random_walk(2000, 1500, d_axes, 0.01, rng)
    curves = compute_msd(pos, 0.01)
    window = dif.choose_fit_window(curves)
    fit = dif.fit_diffusion(curves, pos, window)
    assert fit.D_xy_cm2_s == pytest.approx(2e-5, rel=0.05)
    assert fit.D_z_cm2_s == pytest.approx(2e-6, rel=0.05)
    assert fit.D_cm2_s == pytest.approx(np.mean(d_axes), rel=0.05)
    # The block error must be the right size: neither absurdly small nor large.
    assert 0.001 < fit.D_err_cm2_s / fit.D_cm2_s < 0.03
    assert abs(fit.D_cm2_s - np.mean(d_axes)) < 4 * fit.D_err_cm2_s


def test_default_window_rule_and_overrides():
    rng = np.random.default_rng(0)
    pos = random_walk(1000, 20, 1e-5, 0.01, rng)
    curves = compute_msd(pos, 0.01, charge=False)
    window = dif.choose_fit_window(curves, n_blocks=5)
    block = (1000 // 5 - 1) * 0.01
    assert window.start_ps == pytest.approx(0.1 * block)
    assert window.end_ps == pytest.approx(0.5 * block)
    assert window.n_blocks == 5 and "0.1 T_b" in window.rule

    # A long override window needs longer blocks: fewer of them.
    wide = dif.choose_fit_window(curves, n_blocks=5, fit_start_ps=0.5, fit_end_ps=3.0)
    assert (wide.start_ps, wide.end_ps) == (0.5, 3.0)
    assert wide.n_blocks == 3 and "user override of the start and end" in wide.rule
    with pytest.raises(SetupError, match="is empty"):
        dif.choose_fit_window(curves, fit_start_ps=2.0, fit_end_ps=1.0)
    with pytest.raises(SetupError, match="longer than half the trajectory"):
        dif.choose_fit_window(curves, fit_end_ps=8.0)
    with pytest.raises(SetupError, match="holds only"):
        dif.choose_fit_window(curves, fit_start_ps=0.1, fit_end_ps=0.12)


def _ou_walk(n_frames: int, n_particles: int, dt: float, tau: float, seed: int) -> np.ndarray:
    """Positions (Å) of particles whose velocity is Ornstein–Uhlenbeck with memory tau (ps)."""
    rng = np.random.default_rng(seed)
    vel = np.zeros((n_frames, n_particles, 3))
    decay = np.exp(-dt / tau)
    for i in range(1, n_frames):
        vel[i] = vel[i - 1] * decay + rng.normal(size=(n_particles, 3)) * np.sqrt(1 - decay**2)
    return np.cumsum(vel, axis=0) * dt


def test_ballistic_start_is_skipped():
    # Velocity relaxes over tau (Ornstein–Uhlenbeck, unit variance per axis in Å/ps):
    # ballistic for t << tau, then D = <v_x²> tau per axis.
    dt, tau = 0.01, 0.2
    curves = compute_msd(_ou_walk(4000, 50, dt, tau, seed=3), dt, charge=False)
    assert dif.crossover_time(curves) > 0.2  # the walk starts ballistic
    window = dif.choose_fit_window(curves)
    assert window.start_ps == pytest.approx(dif.CROSSOVER_FACTOR * dif.crossover_time(curves))
    fit = dif.fit_slope(curves.time_ps, curves.total, window.start_ps, window.end_ps)
    assert fit / 6 == pytest.approx(tau, rel=0.1)
    # Fitting from t = 0 instead would bias the slope low by the ballistic curvature.
    assert dif.fit_slope(curves.time_ps, curves.total, 0.0, 0.4) / 6 < 0.8 * tau


def test_short_run_uses_fewer_blocks_and_says_so():
    # Same Ornstein–Uhlenbeck walk, but only 1000 frames (10 ps with tau = 0.2 ps): five blocks
    # of 2 ps cannot clear 3 t_c, two blocks of 5 ps can.
    dt, tau, n = 0.01, 0.2, 1000
    curves = compute_msd(_ou_walk(n, 200, dt, tau, seed=4), dt, charge=False)
    t_c = dif.crossover_time(curves)
    assert dif.CROSSOVER_FACTOR * t_c > 0.5 * (n // 5 - 1) * dt  # 5 blocks would be empty
    window = dif.choose_fit_window(curves, n_blocks=5)
    assert window.n_blocks < 5 and "n_blocks reduced from 5" in window.rule
    assert window.start_ps == pytest.approx(dif.CROSSOVER_FACTOR * t_c)
    fit = dif.fit_slope(curves.time_ps, curves.total, window.start_ps, window.end_ps)
    assert fit / 6 == pytest.approx(tau, rel=0.15)


def _caged_hopper(n_frames: int, n_particles: int, dt: float, rate_per_ps: float, hop_A: float,
                  rattle_A: float, seed: int) -> np.ndarray:
    """Ions rattling in their sites (OU, relaxation 0.05 ps) that hop ``hop_A`` at random times.

    Half of the hops are undone 0.05–0.3 ps later (a correlated back-hop), the way Li rattles
    between neighbouring sites before it escapes: over short lags the MSD grows faster than
    its long-time slope. The test takes the long-time D from the long-lag MSD itself.
    """
    rng = np.random.default_rng(seed)
    tau = 0.05
    decay = np.exp(-dt / tau)
    u = rng.normal(scale=rattle_A, size=(n_particles, 3))
    site = np.zeros((n_particles, 3))
    pending = np.full(n_particles, -1)  # frame at which a back-hop happens
    last = np.zeros((n_particles, 3))
    pos = np.empty((n_frames, n_particles, 3))
    for k in range(n_frames):
        back = pending == k
        site[back] -= last[back]
        pending[back] = -1
        hop = (rng.random(n_particles) < rate_per_ps * dt) & (pending < 0)
        d = rng.normal(size=(n_particles, 3))
        d *= hop_A / np.linalg.norm(d, axis=1, keepdims=True)
        site[hop] += d[hop]
        last[hop] = d[hop]
        undo = hop & (rng.random(n_particles) < 0.5)
        pending[undo] = k + rng.integers(5, 30, size=undo.sum())  # back within 0.05-0.3 ps
        u = u * decay + rng.normal(scale=rattle_A * np.sqrt(1 - decay**2), size=u.shape)
        pos[k] = site + u
    return pos


def test_window_starts_after_the_ion_cage():
    """A solid-electrolyte-like MSD: cage plateau, correlated back-hops, then diffusion."""
    dt = 0.01
    pos = _caged_hopper(3000, 300, dt, rate_per_ps=1.0, hop_A=3.0, rattle_A=0.3, seed=5)
    curves = compute_msd(pos, dt)
    assert dif.crossover_time(curves) < 0.1  # the ballistic start alone would allow an early window
    t_cage = dif.cage_exit_time(curves, before_ps=10.0)
    assert 0.15 < t_cage < 1.0  # the back-hops are over by 0.3 ps
    window = dif.choose_fit_window(curves)
    assert window.start_ps >= t_cage
    # reference: slope at long lags, from the same MSD
    d_long = dif.fit_slope(curves.time_ps, curves.total, 5.0, 10.0) / 6 * dif.CM2_S_PER_A2_PS
    fit = dif.fit_diffusion(curves, pos, window)
    assert fit.D_cm2_s == pytest.approx(d_long, rel=0.10)
    # the window the old rule (crossover only) would have used sits inside the back-hop regime
    early = dif.fit_slope(curves.time_ps, curves.total, 0.15, 0.3) / 6 * dif.CM2_S_PER_A2_PS
    assert early > 1.2 * d_long


def test_random_walk_has_no_cage():
    rng = np.random.default_rng(3)
    curves = compute_msd(random_walk(1000, 200, (1e-5, 1e-5, 1e-5), 0.01, rng), 0.01)
    assert dif.cage_exit_time(curves, before_ps=5.0) == 0.0
