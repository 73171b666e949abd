r"""Ionic conductivity from a tracer diffusion coefficient (Nernst–Einstein).

.. math::

    \sigma = \frac{N (z e)^2 D}{V k_B T}

with N mobile ions of charge number z (Li: +1, from :data:`lizrcl_tools.keys.OXIDATION_STATES`)
in the cell volume V. Using the tracer D assumes uncorrelated hops (Haven ratio 1); the
collective ("charge") D gives σ including ion–ion correlations but is much noisier.

Units: D cm²/s, V Å³, T K, σ mS/cm (1 mS/cm = 0.1 S/m). Constants from :mod:`scipy.constants`.

Examples
--------
>>> round(nernst_einstein_mS_cm(1e-6, n_mobile=96, volume_A3=5000.0, T_K=300.0), 3)
118.992
"""

from __future__ import annotations

from scipy import constants

from lizrcl_tools.errors import SetupError

S_M_PER_MS_CM = constants.milli / constants.centi
"""1 mS/cm expressed in S/m (= 0.1)."""


def nernst_einstein_mS_cm(
    D_cm2_s: float,
    n_mobile: int,
    volume_A3: float,
    T_K: float,
    charge_number: int = 1,
) -> float:
    """Nernst–Einstein conductivity σ = N (z e)² D / (V k_B T) in mS/cm.

    Parameters
    ----------
    D_cm2_s : float
        Diffusion coefficient (cm²/s); also valid for its standard error, σ being linear in D.
    n_mobile : int
        Number N of mobile ions in the volume.
    volume_A3 : float
        Volume V (Å³).
    T_K : float
        Temperature (K).
    charge_number : int
        Charge z of the mobile ion in units of e.

    Returns
    -------
    float
        σ (mS/cm).
    """
    if volume_A3 <= 0 or T_K <= 0 or n_mobile <= 0:
        raise SetupError(f"Nernst–Einstein needs positive N, V, T; got N={n_mobile}, V={volume_A3} Å³, T={T_K} K")
    d_m2_s = D_cm2_s * constants.centi**2
    volume_m3 = volume_A3 * constants.angstrom**3
    q = charge_number * constants.e
    sigma_s_m = n_mobile * q**2 * d_m2_s / (volume_m3 * constants.k * T_K)
    return sigma_s_m / S_M_PER_MS_CM
