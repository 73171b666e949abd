"""Thermodynamic output of a run folder: parse the LAMMPS logs, summarise, plot.

The runner writes one log per phase (``log.npt.lammps``, ``log.nvt.lammps``) with the
``thermo_style custom`` columns of :data:`lizrcl_tools.md.inputs.THERMO_KEYWORDS`. A resumed
run repeats the rows from its restart step on; the last row per step wins.

Units: LAMMPS metal (K, eV, bar, Å³); time in ps from step × timestep.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lizrcl_tools.fileio import atomic_path, save_figure


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
    return save_figure(fig, path, dpi=110)


def read_cell_trace(path: str | Path) -> dict[str, np.ndarray]:
    """NPT cell trace written by ``fix ave/time`` (:data:`lizrcl_tools.md.inputs.NPT_CELL_FILE`).

    Returns columns ``step`` and ``lx ly lz xy xz yz`` (Å), ``vol`` (Å³); rows repeated by a
    resume keep the last one per step; empty dict when the file is missing or empty.
    """
    from lizrcl_tools.md.inputs import CELL_VARIABLES

    path = Path(path)
    if not path.is_file():
        return {}
    rows: dict[int, list[float]] = {}
    for line in path.read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith("#") or len(words) != 1 + len(CELL_VARIABLES):
            continue
        values = [float(w) for w in words]
        rows[int(values[0])] = values
    if not rows:
        return {}
    table = np.array([rows[s] for s in sorted(rows)])
    out = {"step": table[:, 0].astype(int)}
    out.update({name: table[:, i + 1] for i, name in enumerate(CELL_VARIABLES)})
    return out


def truncate_cell_trace(path: str | Path, step: int) -> None:
    """Drop rows at and after ``step`` (LAMMPS writes the restart step again on resume)."""
    path = Path(path)
    if not path.is_file():
        return
    kept = []
    for line in path.read_text().splitlines(keepends=True):
        words = line.split()
        if words and not words[0].startswith("#"):
            try:
                if int(float(words[0])) >= step:
                    continue
            except ValueError:
                continue  # a row cut short by a kill
        kept.append(line)
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join(kept))


def mean_cell(trace: dict[str, np.ndarray], window: tuple[int, int]) -> dict[str, object]:
    """Mean cell over the samples with ``window[0] <= step <= window[1]``.

    Returns ``mean_cell_A`` (3×3 rows a, b, c, LAMMPS frame: means of lx, ly, lz, xy, xz,
    yz, which keep a coupled xy tilt exact), ``mean_volume_A3`` and ``volume_std_A3`` (mean
    and standard deviation of the sampled volumes), ``n_samples`` and ``window_steps``.
    """
    sel = (trace["step"] >= window[0]) & (trace["step"] <= window[1])
    if not sel.any():
        raise ValueError(f"no NPT cell samples between steps {window[0]} and {window[1]}")
    m = {k: float(np.mean(trace[k][sel])) for k in ("lx", "ly", "lz", "xy", "xz", "yz")}
    cell = [[m["lx"], 0.0, 0.0], [m["xy"], m["ly"], 0.0], [m["xz"], m["yz"], m["lz"]]]
    return {
        "mean_cell_A": cell,
        "mean_volume_A3": float(np.mean(trace["vol"][sel])),
        "volume_std_A3": float(np.std(trace["vol"][sel])),
        "n_samples": int(sel.sum()),
        "window_steps": [int(window[0]), int(window[1])],
    }
