"""Thermodynamic output of a run folder: parse the LAMMPS logs, summarise, plot.

The runner writes one log per phase (``log.npt.lammps``, ``log.nvt.lammps``) with the
``thermo_style custom`` columns of :data:`lizrcl_tools.md.inputs.THERMO_KEYWORDS`. A resumed
run repeats the rows from its restart step on; the last row per step wins.

Units: LAMMPS metal (K, eV, bar, Å³); time in ps from step × timestep.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lizrcl_tools.fileio import atomic_path


def read_thermo(log: str | Path) -> dict[str, np.ndarray]:
    """Thermo table of a LAMMPS log as columns keyed by their header names (``Step``, ``Temp``...).

    Rows repeated by a resume are de-duplicated (the last one per step is kept); returns an
    empty dict when the log is missing or has no thermo rows.
    """
    log = Path(log)
    if not log.is_file():
        return {}
    names: list[str] | None = None
    rows: dict[int, list[float]] = {}
    for line in log.read_text(errors="replace").splitlines():
        words = line.split()
        if words[:1] == ["Step"]:
            names = words
            continue
        # Anything that is not a full numeric row (warnings, "Loop time", timings) is skipped.
        if names is None or len(words) != len(names):
            continue
        try:
            values = [float(w) for w in words]
        except ValueError:
            continue
        rows[int(values[0])] = values
    if not rows or names is None:
        return {}
    table = np.array([rows[s] for s in sorted(rows)])
    return {name: table[:, i] for i, name in enumerate(names)}


def summarize(thermo: dict[str, np.ndarray], skip_fraction: float = 0.5) -> dict[str, float]:
    """Means and standard deviations over the last ``1 - skip_fraction`` of the rows.

    Returns ``T_mean_K``, ``T_std_K``, ``press_mean_bar``, ``press_std_bar``,
    ``volume_mean_A3``, ``volume_std_A3`` (those whose columns exist).
    """
    if not thermo:
        return {}
    n = len(thermo["Step"])
    sel = slice(int(n * skip_fraction), n)
    out = {}
    for col, key in (("Temp", "T"), ("Press", "press"), ("Volume", "volume")):
        if col in thermo:
            unit = {"T": "K", "press": "bar", "volume": "A3"}[key]
            out[f"{key}_mean_{unit}"] = round(float(np.mean(thermo[col][sel])), 4)
            out[f"{key}_std_{unit}"] = round(float(np.std(thermo[col][sel])), 4)
    return out


def plot_thermo(
    npt: dict[str, np.ndarray], nvt: dict[str, np.ndarray], timestep_fs: float, path: str | Path, title: str = ""
) -> Path:
    """Temperature, potential energy, pressure and volume against time, NPT then NVT (PNG).

    NPT time runs up to 0 and NVT from 0, so the production start is at t = 0.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True)
    panels = (("Temp", "T (K)"), ("PotEng", "E_pot (eV)"), ("Press", "P (bar)"), ("Volume", "V (Å³)"))
    for ax, (col, label) in zip(axes.flat, panels):
        for data, name, color, shift in ((npt, "NPT", "tab:orange", True), (nvt, "NVT", "tab:blue", False)):
            if data and col in data:
                t_ps = data["Step"] * timestep_fs / 1000.0
                if shift:
                    t_ps = t_ps - t_ps[-1]
                ax.plot(t_ps, data[col], color=color, lw=0.8, label=name)
        ax.set_ylabel(label)
    for ax in axes[1]:
        ax.set_xlabel("time (ps), production starts at 0")
    axes[0, 0].legend(loc="best", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return Path(path)
