r"""Weighted Arrhenius fit of diffusion coefficients across temperatures.

.. math::

    \ln D = \ln D_0 - \frac{E_a}{k_B}\,\frac{1}{T}

is fitted by weighted linear least squares in (1/T, ln D) with weights 1/σ²_lnD,
σ_lnD = D_err / D (first-order error propagation). The parameter covariance is
(AᵀWA)⁻¹ from the given standard errors; with more than two temperatures it is multiplied by
max(1, χ²_ν) (Birge ratio), so scatter beyond the error bars widens the errors rather than
being ignored. The extrapolated ln D(T_ref) has variance J C Jᵀ with J = (1, 1/T_ref), which
keeps the strong anticorrelation of ln D0 and Ea.

Units: T K, D cm²/s, Ea eV (k_B in eV/K from :mod:`scipy.constants`).

Examples
--------
>>> fit = fit_arrhenius([400, 500, 600], [1e-7, 6e-7, 2e-6], [1e-8, 6e-8, 2e-7])
>>> round(fit.Ea_eV, 2)
0.31
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import constants

from lizrcl_tools.errors import SetupError

K_B_EV_K = constants.k / constants.e
"""Boltzmann constant (eV/K)."""

ARRHENIUS_METHOD = (
    "weighted least squares of ln D vs 1/T, weights (D/D_err)^2; covariance scaled by "
    "max(1, chi2_reduced) with more than two temperatures; extrapolation error from the covariance"
)


@dataclass(frozen=True)
class ArrheniusFit:
    """Result of :func:`fit_arrhenius` (see module docstring)."""

    Ea_eV: float
    Ea_err_eV: float
    D0_cm2_s: float
    D0_err_cm2_s: float
    ln_D0: float
    slope_K: float
    covariance: np.ndarray
    chi2_reduced: float | None
    covariance_scale: float

    def extrapolate(self, T_K: float) -> tuple[float, float]:
        """D (cm²/s) at ``T_K`` and its standard error, propagated through the covariance."""
        jac = np.array([1.0, 1.0 / T_K])
        ln_d = self.ln_D0 + self.slope_K / T_K
        ln_err = float(np.sqrt(jac @ self.covariance @ jac))
        d = float(np.exp(ln_d))
        return d, d * ln_err


def fit_arrhenius(
    T_K: Sequence[float],
    D_cm2_s: Sequence[float],
    D_err_cm2_s: Sequence[float],
) -> ArrheniusFit:
    """Weighted fit of ln D = ln D0 − Ea/(k_B T).

    Parameters
    ----------
    T_K : sequence of float
        Temperatures (K), at least two distinct.
    D_cm2_s, D_err_cm2_s : sequence of float
        Diffusion coefficients and their standard errors (cm²/s), all positive.

    Returns
    -------
    ArrheniusFit

    Raises
    ------
    SetupError
        Fewer than two distinct temperatures, or a non-positive D or D_err (ln D undefined or
        infinite weight); the message names the temperature.
    """
    t = np.asarray(T_K, dtype=float)
    d = np.asarray(D_cm2_s, dtype=float)
    err = np.asarray(D_err_cm2_s, dtype=float)
    if len(np.unique(t)) < 2:
        raise SetupError(f"an Arrhenius fit needs at least two distinct temperatures, got {t.tolist()} K")
    for temp, value, e in zip(t, d, err, strict=True):
        if not value > 0:
            raise SetupError(f"D = {value:.3g} cm²/s at {temp:g} K is not positive: no Arrhenius fit "
                             "(the ions did not diffuse in the fit window; run longer or hotter)")
        if not (np.isfinite(e) and e > 0):
            raise SetupError(
                f"D_err = {e!r} cm²/s at {temp:g} K: a positive standard error is needed to weight the fit"
            )
    y = np.log(d)
    sigma = err / d
    design = np.column_stack([np.ones_like(t), 1.0 / t])
    weights = 1.0 / sigma**2
    normal = design.T @ (design * weights[:, None])
    cov = np.linalg.inv(normal)
    params = cov @ (design.T @ (weights * y))
    resid = (y - design @ params) / sigma
    dof = len(t) - 2
    chi2_red = float(resid @ resid / dof) if dof > 0 else None
    scale = max(1.0, chi2_red) if chi2_red is not None else 1.0
    cov = cov * scale
    ln_d0, slope = params
    d0 = float(np.exp(ln_d0))
    return ArrheniusFit(
        Ea_eV=float(-slope * K_B_EV_K),
        Ea_err_eV=float(np.sqrt(cov[1, 1]) * K_B_EV_K),
        D0_cm2_s=d0,
        D0_err_cm2_s=float(d0 * np.sqrt(cov[0, 0])),
        ln_D0=float(ln_d0),
        slope_K=float(slope),
        covariance=cov,
        chi2_reduced=chi2_red,
        covariance_scale=scale,
    )
