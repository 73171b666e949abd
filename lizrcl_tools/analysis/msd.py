r"""Mean squared displacement over all time origins, computed with FFTs.

For one particle and one Cartesian component x(t) sampled at N frames, the MSD at lag m
averaged over all N − m time origins is

.. math::

    \mathrm{MSD}(m) = \frac{1}{N-m}\sum_{k=0}^{N-m-1} [x_{k+m} - x_k]^2 = S_1(m) - 2 S_2(m),

    S_1(m) = \frac{1}{N-m}\sum_{k=0}^{N-m-1} (x_k^2 + x_{k+m}^2), \qquad
    S_2(m) = \frac{1}{N-m}\sum_{k=0}^{N-m-1} x_k x_{k+m}.

S_1 follows from cumulative sums and S_2 is an autocorrelation, computed with a zero-padded
FFT (Wiener–Khinchin), so all lags cost O(N log N) instead of O(N²) (Kneller et al.,
Comput. Phys. Commun. 91, 191 (1995); Calandrini et al., Collection SFN 12, 201 (2011)).

Components are kept separate: MSD_xy = MSD_x + MSD_y (in-plane) and MSD_z (out-of-plane) are
projections on the Cartesian axes, and z is the layer normal of the layered Li2ZrCl6 cell as
built by this toolkit (c along z in LAMMPS' convention).

Pitfalls: coordinates must be unwrapped (``xu yu zu``); wrapped coordinates give a MSD that
saturates at the box size. Units: positions Å, MSD Å², time ps.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> walk = np.cumsum(rng.normal(size=(1000, 50, 3)), axis=0)   # unit variance per step and axis
>>> msd = msd_fft(walk)                                         # (1000, 3)
>>> bool(abs(msd[10].sum() / 10 - 3.0) < 0.3)                   # slope 3 per step in 3 D
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from lizrcl_tools.fileio import atomic_path

# Particles transformed at once: bounds the transient memory (~64 MB per block at 10^4 frames).
_PARTICLE_BLOCK = 64


def msd_fft(positions: np.ndarray) -> np.ndarray:
    """Per-component MSD averaged over particles and all time origins.

    Parameters
    ----------
    positions : ndarray, shape (n_frames, n_particles, 3)
        Unwrapped Cartesian positions (Å), frames equally spaced in time.

    Returns
    -------
    ndarray, shape (n_frames, 3)
        MSD_x, MSD_y, MSD_z (Å²) at lags 0 … n_frames − 1 frames.
    """
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[2] != 3:
        raise ValueError(f"positions must have shape (n_frames, n_particles, 3), got {positions.shape}")
    n, n_particles, _ = positions.shape
    n_fft = next_fast_len(2 * n, real=True)
    origins = (n - np.arange(n)).astype(np.float64)  # N − m origins at lag m
    total = np.zeros((n, 3))
    for start in range(0, n_particles, _PARTICLE_BLOCK):
        x = positions[:, start : start + _PARTICLE_BLOCK, :]
        # Zero padding to >= 2N makes the circular correlation a linear one.
        spectrum = rfft(x, n=n_fft, axis=0)
        s2 = irfft(spectrum * spectrum.conj(), n=n_fft, axis=0)[:n].sum(axis=1)
        sq = (x * x).sum(axis=1)  # (n, 3), summed over particles of this block
        cum = np.concatenate([np.zeros((1, 3)), np.cumsum(sq, axis=0)])
        m = np.arange(n)
        # sum_{k<N-m} x_k^2 + sum_{k>=m} x_k^2
        s1 = cum[n - m] + (cum[n] - cum[m])
        total += s1 - 2.0 * s2
    return total / origins[:, None] / n_particles


@dataclass(frozen=True)
class MSDCurves:
    """MSD of the mobile ions against lag time.

    Attributes
    ----------
    time_ps : ndarray, shape (n_lags,)
        Lag times (ps), starting at 0.
    msd_A2 : ndarray, shape (n_lags, 3)
        Per-particle MSD_x, MSD_y, MSD_z (Å²) averaged over particles and time origins.
    charge_msd_A2 : ndarray or None, shape (n_lags,)
        MSD of the summed displacement of all mobile ions divided by their number (Å²);
        its slope / 6 is the collective ("charge") diffusion coefficient.
    """

    time_ps: np.ndarray
    msd_A2: np.ndarray
    charge_msd_A2: np.ndarray | None = None

    @property
    def total(self) -> np.ndarray:
        """MSD_x + MSD_y + MSD_z (Å²)."""
        return self.msd_A2.sum(axis=1)

    @property
    def xy(self) -> np.ndarray:
        """In-plane MSD_x + MSD_y (Å²)."""
        return self.msd_A2[:, 0] + self.msd_A2[:, 1]

    @property
    def z(self) -> np.ndarray:
        """Out-of-plane MSD_z along Cartesian z (Å²)."""
        return self.msd_A2[:, 2]

    def save_npz(self, path: str | os.PathLike, overwrite: bool = True) -> Path:
        """Write ``time_ps``, ``msd_x_A2``, ``msd_y_A2``, ``msd_z_A2`` (and ``charge_msd_A2``) atomically."""
        arrays = {
            "time_ps": self.time_ps,
            "msd_x_A2": self.msd_A2[:, 0],
            "msd_y_A2": self.msd_A2[:, 1],
            "msd_z_A2": self.msd_A2[:, 2],
        }
        if self.charge_msd_A2 is not None:
            arrays["charge_msd_A2"] = self.charge_msd_A2
        with atomic_path(path, overwrite=overwrite) as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)
        return Path(path)


def compute_msd(positions: np.ndarray, frame_interval_ps: float, charge: bool = True) -> MSDCurves:
    """MSD curves of a trajectory of mobile ions.

    Parameters
    ----------
    positions : ndarray, shape (n_frames, n_mobile, 3)
        Unwrapped Cartesian positions (Å), drift-corrected if wanted.
    frame_interval_ps : float
        Time between frames (ps).
    charge : bool
        Also compute the collective MSD of the summed displacement (for the Haven ratio).

    Returns
    -------
    MSDCurves
    """
    positions = np.asarray(positions, dtype=np.float64)
    n_frames, n_mobile, _ = positions.shape
    msd = msd_fft(positions)
    charge_msd = None
    if charge:
        summed = (positions - positions[:1]).sum(axis=1, keepdims=True)
        charge_msd = msd_fft(summed).sum(axis=1) / n_mobile
    return MSDCurves(np.arange(n_frames) * frame_interval_ps, msd, charge_msd)
