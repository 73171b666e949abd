"""Simulated powder X-ray patterns of structures, and their agreement with a measured pattern.

Peaks come from pymatgen's :class:`~pymatgen.analysis.diffraction.xrd.XRDCalculator`
(kinematic intensities with atomic scattering factors, Lorentz-polarisation factor and
multiplicities; no preferred orientation, no absorption). A profile is the sum of Gaussian
peaks of one full width at half maximum (° 2θ) on a 2θ grid. The agreement figure is the
weighted-profile R factor after the best scale factor,

    s = Σ w y_obs y_calc / Σ w y_calc²,   Rwp = sqrt(Σ w (y_obs − s y_calc)² / Σ w y_obs²),

with Poisson weights w = 1 / y_obs (y_obs floored at 1 % of its maximum, so empty background
points do not dominate). 0 is perfect; no background is fitted, so subtract it from a
measured pattern first. Units: 2θ in degrees, wavelength and d in Å.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools.errors import ParseError, SetupError

CU_KALPHA_A = 1.54184
"""Cu Kα wavelength, Å (Kα1/Kα2 weighted mean, as pymatgen's ``CuKa``)."""


@dataclass
class Peaks:
    """Reflections of one structure: 2θ (°), relative intensity (max 100), d (Å), (hkl) labels."""

    two_theta: np.ndarray
    intensity: np.ndarray
    d_A: np.ndarray
    hkl: list[str]
    wavelength_A: float


def simulate_peaks(atoms: Any, wavelength_A: float = CU_KALPHA_A,
                   two_theta_range: tuple[float, float] = (10.0, 80.0)) -> Peaks:
    """Powder reflections of ``atoms`` (ASE Atoms or pymatgen Structure).

    Parameters
    ----------
    atoms : ase.Atoms or pymatgen Structure
    wavelength_A : float
        X-ray wavelength, Å (default Cu Kα; e.g. 0.6884 for the study's synchrotron data).
    two_theta_range : (float, float)
        2θ window, degrees.
    """
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    if not wavelength_A > 0:
        raise SetupError(f"the wavelength must be positive (Å), got {wavelength_A}")
    structure = atoms
    if not hasattr(atoms, "lattice"):
        from pymatgen.io.ase import AseAtomsAdaptor

        structure = AseAtomsAdaptor.get_structure(atoms)
    pattern = XRDCalculator(wavelength=float(wavelength_A)).get_pattern(
        structure, scaled=True, two_theta_range=tuple(two_theta_range))
    hkl = [" ".join("(" + "".join(str(i) for i in h["hkl"]) + ")" for h in fam) for fam in pattern.hkls]
    return Peaks(np.asarray(pattern.x, float), np.asarray(pattern.y, float), np.asarray(pattern.d_hkls, float),
                 hkl, float(wavelength_A))


def profile(peaks: Peaks, two_theta: np.ndarray, fwhm_deg: float = 0.1) -> np.ndarray:
    """Sum of Gaussian peaks (FWHM in ° 2θ) on the grid ``two_theta``; peak heights = intensities."""
    if not fwhm_deg > 0:
        raise SetupError(f"the peak width must be positive (° 2θ), got {fwhm_deg}")
    sigma = fwhm_deg / (2 * np.sqrt(2 * np.log(2)))
    x = np.asarray(two_theta, float)[:, None]
    return (peaks.intensity[None, :] * np.exp(-0.5 * ((x - peaks.two_theta[None, :]) / sigma) ** 2)).sum(axis=1)


def rwp(observed: np.ndarray, calculated: np.ndarray) -> tuple[float, float]:
    """Weighted-profile R factor after the best scale (see the module docstring).

    Returns
    -------
    (rwp, scale)
        Rwp (0 = perfect) and the factor that multiplies ``calculated``.
    """
    y_o, y_c = np.asarray(observed, float), np.asarray(calculated, float)
    if y_o.shape != y_c.shape or y_o.size == 0:
        raise SetupError("observed and calculated profiles need the same, non-empty grid")
    if not np.any(y_o > 0):
        raise SetupError("the observed pattern has no positive intensity")
    w = 1.0 / np.maximum(y_o, 0.01 * y_o.max())
    denom = float((w * y_c * y_c).sum())
    scale = float((w * y_o * y_c).sum()) / denom if denom > 0 else 0.0
    r = float(np.sqrt((w * (y_o - scale * y_c) ** 2).sum() / (w * y_o * y_o).sum()))
    return r, scale


def read_xy(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """A measured pattern: two columns 2θ (°) and intensity; ``#``/``!`` comments, blank lines skipped."""
    path = Path(path)
    x, y = [], []
    try:
        text = path.read_text()
    except OSError as exc:
        raise SetupError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#")[0].split("!")[0].strip()
        if not stripped:
            continue
        parts = stripped.replace(",", " ").split()
        try:
            tt, inten = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            raise ParseError(path, f"expected two numbers (2θ in degrees, intensity), got {line.strip()!r}",
                             number) from None
        if not (np.isfinite(tt) and np.isfinite(inten)):
            raise ParseError(path, "2θ and intensity must be finite", number)
        x.append(tt)
        y.append(inten)
    if len(x) < 2:
        raise ParseError(path, "fewer than two data points")
    order = np.argsort(x)
    return np.asarray(x)[order], np.asarray(y)[order]


def compare_patterns(
    structures: Sequence[tuple[str, Any]],
    measured: tuple[np.ndarray, np.ndarray] | None = None,
    wavelength_A: float = CU_KALPHA_A,
    two_theta_range: tuple[float, float] = (10.0, 80.0),
    fwhm_deg: float = 0.1,
    step_deg: float = 0.02,
) -> dict[str, Any]:
    """Simulated patterns of named structures, ranked by Rwp against ``measured`` if given.

    Returns
    -------
    dict
        ``grid`` (2θ, °), and per structure ``peaks`` (2θ, intensity, d, hkl), ``profile`` and,
        with a measured pattern, ``rwp`` and ``scale``; ``ranking`` by Rwp.
    """
    if measured is not None:
        grid = np.asarray(measured[0], float)
        keep = (grid >= two_theta_range[0]) & (grid <= two_theta_range[1])
        grid, observed = grid[keep], np.asarray(measured[1], float)[keep]
        if grid.size < 2:
            raise SetupError(f"the measured pattern has no points in 2θ {two_theta_range}")
    else:
        grid = np.arange(two_theta_range[0], two_theta_range[1] + step_deg / 2, step_deg)
    out: dict[str, Any] = {"wavelength_A": wavelength_A, "fwhm_deg": fwhm_deg, "grid": grid, "patterns": {}}
    for name, atoms in structures:
        peaks = simulate_peaks(atoms, wavelength_A, two_theta_range)
        entry = {"two_theta": peaks.two_theta, "intensity": peaks.intensity, "d_A": peaks.d_A, "hkl": peaks.hkl,
                 "profile": profile(peaks, grid, fwhm_deg)}
        if measured is not None:
            entry["rwp"], entry["scale"] = rwp(observed, entry["profile"])
        out["patterns"][name] = entry
    if measured is not None:
        out["measured"] = observed
        out["ranking"] = sorted(out["patterns"], key=lambda n: out["patterns"][n]["rwp"])
    return out


def plot_overlay(result: dict[str, Any], path: str | os.PathLike, force: bool | None = None) -> Path:
    """Simulated profiles (scaled to the measured pattern where there is one) and the measured pattern."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lizrcl_tools.fileio import save_figure

    fig, ax = plt.subplots(figsize=(7, 3.5))
    grid = result["grid"]
    if "measured" in result:
        ax.plot(grid, result["measured"], color="0.4", lw=1.0, label="measured")
    for name, entry in result["patterns"].items():
        label = name + (f" (Rwp {entry['rwp']:.3f})" if "rwp" in entry else "")
        ax.plot(grid, entry.get("scale", 1.0) * entry["profile"], lw=0.9, label=label)
    ax.set_xlabel(f"2θ (°), λ = {result['wavelength_A']:.4f} Å")
    ax.set_ylabel("intensity (arb. units)")
    ax.legend(fontsize=7)
    return save_figure(fig, path, dpi=130, force=force)


def run_xrd(
    structures: Sequence[str],
    outdir: str | os.PathLike,
    measured: str | os.PathLike | None = None,
    wavelength_A: float = CU_KALPHA_A,
    two_theta_range: tuple[float, float] = (10.0, 80.0),
    fwhm_deg: float = 0.1,
    force: bool = False,
) -> dict[str, Any]:
    """Patterns of structure files (or builder names), overlay plot and JSON; Rwp if ``measured``.

    Writes ``xrd.json`` (peaks per structure; Rwp, scale and ranking with a measured pattern)
    and ``xrd.png`` into ``outdir``; refuses existing ones unless ``force``.
    """
    from lizrcl_tools.fileio import check_output, jsonable, read_structure, write_json_atomic
    from lizrcl_tools.structures import BUILDERS, build

    outdir = Path(outdir)
    json_path, png_path = outdir / "xrd.json", outdir / "xrd.png"
    for target in (json_path, png_path):
        check_output(target, force)
    named = []
    for item in structures:
        if not Path(item).exists() and item in BUILDERS:
            named.append((item, build(item)))
        else:
            named.append((Path(item).name, read_structure(item)))
    data = read_xy(measured) if measured is not None else None
    result = compare_patterns(named, data, wavelength_A, tuple(two_theta_range), fwhm_deg)
    plot_overlay(result, png_path, force=force)
    summary = {k: v for k, v in result.items() if k not in ("grid", "measured")}
    summary["patterns"] = {n: {k: v for k, v in e.items() if k != "profile"} for n, e in result["patterns"].items()}
    summary["measured_file"] = None if measured is None else str(measured)
    summary["two_theta_range_deg"] = list(two_theta_range)
    write_json_atomic(json_path, jsonable(summary), force=force)
    return summary
