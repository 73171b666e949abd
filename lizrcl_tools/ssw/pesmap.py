"""Map of SSW minima (the paper's Fig. S2): order parameter vs energy, coloured by density.

x: distance-weighted Steinhardt order parameter Q_l of each minimum
(:func:`lizrcl_tools.ssw.fingerprint.weighted_steinhardt`); y: energy above the global minimum,
eV/atom; colour: density of minima in that plane from a Gaussian kernel density estimate
(:class:`scipy.stats.gaussian_kde`, Scott's bandwidth). With fewer than 3 distinct points (or
a degenerate cloud) the points are drawn in one colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lizrcl_tools.fileio import save_figure
from lizrcl_tools.ssw.database import MinimaDB
from lizrcl_tools.ssw.fingerprint import weighted_steinhardt


@dataclass(frozen=True)
class PESMap:
    """Points of the map.

    Attributes
    ----------
    q : ndarray
        Order parameter of each minimum.
    e_above_min : ndarray
        Energy above the global minimum, eV/atom.
    density : ndarray
        KDE density at each point (ones when it cannot be estimated).
    l : int
        Angular order of Q_l.
    """

    q: np.ndarray
    e_above_min: np.ndarray
    density: np.ndarray
    l: int  # noqa: E741 - Steinhardt's l


def pes_map(db: MinimaDB, l: int = 4, formula: str | None = None) -> PESMap:  # noqa: E741
    """Compute the map's points from a minima database (one formula, default: the first found)."""
    from scipy.stats import gaussian_kde

    rows = db.minima(formula)
    if formula is None and rows:
        formula = rows[0].formula_e
        rows = [r for r in rows if r.formula_e == formula]
    q = np.array([r.q4 if l == 4 else weighted_steinhardt(r.toatoms(), l) for r in rows])
    e = np.array([r.e_per_atom for r in rows])
    e = e - e.min() if len(e) else e
    density = np.ones(len(q))
    if len(q) >= 3:
        try:
            density = gaussian_kde(np.vstack([q, e]))(np.vstack([q, e]))
        except (np.linalg.LinAlgError, ValueError):  # all points on a line: no 2-D density
            pass
    return PESMap(q, e, density, l)


def plot_pes_map(pmap: PESMap, output, title: str = "") -> None:
    """Scatter of the map (PNG, matplotlib Agg), written atomically to ``output``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=150)
    order = np.argsort(pmap.density)
    sc = ax.scatter(pmap.q[order], pmap.e_above_min[order], c=pmap.density[order], cmap="viridis", s=18,
                    edgecolors="none")
    fig.colorbar(sc, ax=ax, label="density of minima (KDE)")
    ax.set_xlabel(f"distance-weighted Steinhardt $Q_{pmap.l}$")
    ax.set_ylabel("E − E$_\\mathrm{min}$ (eV/atom)")
    ax.set_title(title or f"{len(pmap.q)} distinct minima")
    save_figure(fig, output)
