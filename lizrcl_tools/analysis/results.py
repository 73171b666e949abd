"""Small, frozen result records of the transport analysis, serialisable to JSON.

Every value carries its unit in the field name and an uncertainty (one standard error) beside
it. The JSON layout of :class:`ConductivityResult` is the ``conductivity.json`` contract of
``lizrcl analyze``::

    {"temperatures": [{"T_K", "D_cm2_s", "D_err_cm2_s", "D_xy_cm2_s", "D_z_cm2_s",
                       "sigma_mS_cm", "fit_window_ps", ...extra keys}, ...],
     "Ea_eV", "Ea_err_eV", "D0_cm2_s", "sigma_300K_mS_cm", "sigma_300K_err_mS_cm",
     ...extra keys}

With a single temperature the Arrhenius keys are ``null``. Arrays (MSD curves) are not stored
here; they go to ``.npz`` files named in :attr:`DiffusionResult.msd_file`.

Examples
--------
>>> result = ConductivityResult.load("out/conductivity.json")        # doctest: +SKIP
>>> result.temperatures[0].D_cm2_s, result.arrhenius.Ea_eV            # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lizrcl_tools.errors import ParseError
from lizrcl_tools.fileio import jsonable, read_json, write_json_atomic

REFERENCE_T_K = 300.0
"""Temperature (K) at which D and σ are extrapolated; fixed because the JSON keys name it."""


@dataclass(frozen=True)
class DiffusionResult:
    """Li diffusion and Nernst–Einstein conductivity of one run (one temperature).

    Attributes
    ----------
    T_K : float
        Run temperature (K), from run.json.
    D_cm2_s, D_err_cm2_s : float
        Tracer diffusion coefficient, MSD_total / 6t, and its standard error (cm²/s).
    D_xy_cm2_s, D_xy_err_cm2_s : float
        In-plane coefficient from the x+y MSD, MSD_xy / 4t (cm²/s).
    D_z_cm2_s, D_z_err_cm2_s : float
        Out-of-plane coefficient along Cartesian z (the layer normal of the layered cell),
        MSD_z / 2t (cm²/s).
    sigma_mS_cm, sigma_err_mS_cm : float
        Nernst–Einstein conductivity N q² D / (V k_B T) and its error (mS/cm).
    fit_window_ps : tuple of float
        (start, end) lag times of the linear MSD fit (ps).
    fit_rule : str
        How the window was chosen (the default rule, or "user override").
    n_blocks : int
        Number of independent time blocks behind the standard errors (0: per-ion errors).
    n_mobile : int
        Number of mobile ions N.
    volume_A3 : float
        Cell volume V used in Nernst–Einstein (Å³).
    volume_source : str
        ``"run.json volume_A3"`` or ``"dump box"``.
    duration_ps, frame_interval_ps : float
        Trajectory length and time between frames (ps).
    n_frames : int
        Frames read.
    drift_corrected : bool
        Whether the framework centre-of-mass drift was removed from the mobile ions.
    source : str
        Run folder.
    msd_file : str or None
        ``.npz`` with the MSD curves (name relative to the output folder), if written.
    D_charge_cm2_s, D_charge_err_cm2_s : float or None
        Collective ("charge") diffusion coefficient of the mobile ions, MSD of their summed
        displacement / (6 N t) (cm²/s); very noisy for short runs.
    haven_ratio : float or None
        D / D_charge.
    coordinates : str
        How continuous paths were obtained: ``unwrapped`` (columns used as they are, after the
        half-box jump check), ``image flags`` or ``minimum image`` (wrapped coordinates).
    trajectory_format : str
        Reader format key (``lammpsdump``, ``vasprun``, ``xdatcar``, ``extxyz``, ``dcd``...).
    metadata : dict or None
        Where T, the time step and the frame stride came from (run.json, the file, a flag).
    warnings : tuple of str
        Problems that did not stop the analysis (unfinished run, cut last frame).
    n_frames_expected : int or None
        Frames the run announced (run.json, vasprun.xml NSW).
    diffusive : bool or None
        Whether the run passes the diffusive-regime criteria (:mod:`~.diffusive`); only
        diffusive runs enter the Arrhenius fit.
    diffusive_reason : str or None
        The criteria with their values, or what failed.
    msd_fit_start_A2 : float or None
        MSD at the start of the fit window (Å²).
    loglog_slope : float or None
        d ln MSD / d ln t over the fit window.
    n_hops : float or None
        Estimated hops behind D: N × 6 D t_run / ℓ².
    estimator : str
        Error estimator: ``ions`` (window to half the run, per-ion errors,
        :mod:`~.ionfit`) or ``blocks`` (window inside one time block, block errors,
        :mod:`~.diffusion`).
    """

    T_K: float
    D_cm2_s: float
    D_err_cm2_s: float
    D_xy_cm2_s: float
    D_xy_err_cm2_s: float
    D_z_cm2_s: float
    D_z_err_cm2_s: float
    sigma_mS_cm: float
    sigma_err_mS_cm: float
    fit_window_ps: tuple[float, float]
    fit_rule: str
    n_blocks: int
    n_mobile: int
    volume_A3: float
    volume_source: str
    duration_ps: float
    frame_interval_ps: float
    n_frames: int
    drift_corrected: bool
    source: str
    msd_file: str | None = None
    D_charge_cm2_s: float | None = None
    D_charge_err_cm2_s: float | None = None
    haven_ratio: float | None = None
    coordinates: str = "unwrapped"
    trajectory_format: str = "lammpsdump"
    metadata: dict[str, str] | None = None
    warnings: tuple[str, ...] = ()
    n_frames_expected: int | None = None
    diffusive: bool | None = None
    diffusive_reason: str | None = None
    msd_fit_start_A2: float | None = None
    loglog_slope: float | None = None
    n_hops: float | None = None
    estimator: str = "blocks"

    # The contract's keys come first in the JSON so a person reading the file sees them first.
    _REQUIRED = ("T_K", "D_cm2_s", "D_err_cm2_s", "D_xy_cm2_s", "D_z_cm2_s", "sigma_mS_cm", "fit_window_ps")

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: the contract keys first, then the extra keys."""
        values = {f.name: jsonable(getattr(self, f.name), nan_to_null=False) for f in dataclasses.fields(self)}
        ordered = {key: values.pop(key) for key in self._REQUIRED}
        ordered.update(values)
        return ordered

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiffusionResult:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, missing required keys raise KeyError."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["fit_window_ps"] = tuple(float(x) for x in kwargs["fit_window_ps"])
        kwargs["warnings"] = tuple(kwargs.get("warnings") or ())
        return cls(**kwargs)


@dataclass(frozen=True)
class ArrheniusResult:
    """Weighted Arrhenius fit ln D = ln D0 − Ea / (k_B T) across temperatures.

    Attributes
    ----------
    Ea_eV, Ea_err_eV : float
        Activation energy and its standard error (eV).
    D0_cm2_s, D0_err_cm2_s : float
        Pre-exponential factor and its (linearised) standard error (cm²/s).
    D_300K_cm2_s, D_300K_err_cm2_s : float
        Extrapolated D at 300 K with the error propagated through the fit covariance (cm²/s).
    sigma_300K_mS_cm, sigma_300K_err_mS_cm : float
        Nernst–Einstein σ at 300 K from the extrapolated D (mS/cm).
    sigma_300K_density_from_T_K : float
        Temperature of the run whose N/V was used for the 300 K σ (the run closest to 300 K).
    chi2_reduced : float or None
        χ² per degree of freedom of the weighted fit (None with two temperatures).
    covariance_scale : float
        Factor applied to the covariance: max(1, χ²_ν) with more than two temperatures.
    temperatures_K : tuple of float
        Temperatures that entered the fit.
    method : str
        One-line statement of the fit.
    excluded_T_K : tuple of float
        Temperatures left out of the fit (not diffusive or not sane).
    excluded_reasons : tuple of str
        Why, one per excluded temperature.
    n_hops : float or None
        Estimated mobile-ion hops behind the fitted temperatures, summed.
    criteria : str or None
        The diffusive-regime criteria applied.
    """

    Ea_eV: float
    Ea_err_eV: float
    D0_cm2_s: float
    D0_err_cm2_s: float
    D_300K_cm2_s: float
    D_300K_err_cm2_s: float
    sigma_300K_mS_cm: float
    sigma_300K_err_mS_cm: float
    sigma_300K_density_from_T_K: float
    chi2_reduced: float | None
    covariance_scale: float
    temperatures_K: tuple[float, ...]
    method: str
    excluded_T_K: tuple[float, ...] = ()
    excluded_reasons: tuple[str, ...] = ()
    n_hops: float | None = None
    criteria: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of every field."""
        return {f.name: jsonable(getattr(self, f.name), nan_to_null=False) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArrheniusResult:
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["temperatures_K"] = tuple(float(t) for t in kwargs["temperatures_K"])
        kwargs["excluded_T_K"] = tuple(float(t) for t in kwargs.get("excluded_T_K") or ())
        kwargs["excluded_reasons"] = tuple(kwargs.get("excluded_reasons") or ())
        return cls(**kwargs)


# Top-level keys of conductivity.json that the contract fixes (null with one temperature).
_ARRHENIUS_TOP = ("Ea_eV", "Ea_err_eV", "D0_cm2_s", "sigma_300K_mS_cm", "sigma_300K_err_mS_cm")


@dataclass(frozen=True)
class ConductivityResult:
    """Everything ``lizrcl analyze`` measured: one :class:`DiffusionResult` per temperature
    (sorted by temperature) and, with two or more temperatures, the :class:`ArrheniusResult`.

    Attributes
    ----------
    temperatures : tuple of DiffusionResult
        Per-run results, ascending temperature.
    arrhenius : ArrheniusResult or None
        None with a single temperature.
    mobile : str
        The diffusing element.
    methods : dict
        Plain-text statements of the MSD, window, uncertainty and σ methods (stored in the JSON).
    arrhenius_note : str or None
        Why there is no Arrhenius fit, or which temperatures it left out.
    """

    temperatures: tuple[DiffusionResult, ...]
    arrhenius: ArrheniusResult | None
    mobile: str = "Li"
    methods: dict[str, str] = dataclasses.field(default_factory=dict)
    arrhenius_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the ``conductivity.json`` layout (contract keys plus extra keys)."""
        out: dict[str, Any] = {"temperatures": [t.to_dict() for t in self.temperatures]}
        arr = self.arrhenius.to_dict() if self.arrhenius is not None else {}
        for key in _ARRHENIUS_TOP:
            out[key] = arr.get(key)
        out["arrhenius"] = arr or None
        out["mobile"] = self.mobile
        out["methods"] = dict(self.methods)
        out["arrhenius_note"] = self.arrhenius_note
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConductivityResult:
        """Inverse of :meth:`to_dict`."""
        temps = tuple(DiffusionResult.from_dict(t) for t in data["temperatures"])
        arr = data.get("arrhenius")
        return cls(
            temperatures=temps,
            arrhenius=ArrheniusResult.from_dict(arr) if arr else None,
            mobile=data.get("mobile", "Li"),
            methods=dict(data.get("methods") or {}),
            arrhenius_note=data.get("arrhenius_note"),
        )

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the JSON atomically; refuse to replace an existing file unless ``overwrite``.

        Raises
        ------
        SetupError
            If ``path`` exists and ``overwrite`` is False.
        """
        return write_json_atomic(path, self.to_dict(), overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ConductivityResult:
        """Read a ``conductivity.json`` written by :meth:`save`.

        Raises
        ------
        ParseError
            If the file is not valid JSON or lacks a required key (the key is named).
        """
        path = Path(path)
        data = read_json(path)
        try:
            return cls.from_dict(data)
        except KeyError as exc:
            raise ParseError(path, f"missing key {exc.args[0]!r}") from exc
