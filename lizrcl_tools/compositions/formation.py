"""Formation energies of (LiCl)1−x(ZrCl4)x compounds and their lower convex hull (pure numpy).

For Li_a Zr_b Cl_(a+4b) with total energy E (eV, per formula unit):

    ΔE_f = E − a·E(LiCl) − b·E(ZrCl4)            (eV per formula unit)

with E(LiCl), E(ZrCl4) per formula unit of the relaxed references. Per atom divides by
2a + 5b; per cation (i.e. per mole of (LiCl)1−x(ZrCl4)x, x = b/(a + b)) by a + b. The
hull is taken in the per-cation form, where mixing the end members is linear in x, so a
compound is stable against the neighbouring phases exactly when it lies on the lower hull.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def formation_energy(n_li: int, n_zr: int, energy_eV: float, e_licl_fu: float, e_zrcl4_fu: float) -> dict[str, float]:
    """ΔE_f of a cell holding ``n_li`` Li and ``n_zr`` Zr (Cl = n_li + 4 n_zr), total energy eV.

    Returns ``x``, ``per_cation_eV`` (per (LiCl)1−x(ZrCl4)x unit), ``per_atom_eV`` and
    ``total_eV`` (for the whole cell; divide by the formula units for per-f.u.).
    """
    n_li, n_zr = int(n_li), int(n_zr)
    if n_li < 0 or n_zr < 0 or n_li + n_zr == 0:
        raise ValueError(f"need n_li, n_zr >= 0 and not both 0, got {n_li}, {n_zr}")
    total = float(energy_eV) - n_li * float(e_licl_fu) - n_zr * float(e_zrcl4_fu)
    return {"x": n_zr / (n_li + n_zr), "total_eV": total, "per_cation_eV": total / (n_li + n_zr),
            "per_atom_eV": total / (2 * n_li + 5 * n_zr)}


def lower_hull(x: Sequence[float], e: Sequence[float]) -> list[int]:
    """Indices of the points on the lower convex hull of (x, e), sorted by x (Andrew's monotone chain).

    Points on a hull edge (collinear) are kept off the hull; the end points (smallest and
    largest x, lowest e at each) are always on it.
    """
    x, e = np.asarray(x, float), np.asarray(e, float)
    order = sorted(range(len(x)), key=lambda i: (x[i], e[i]))
    hull: list[int] = []
    for i in order:
        if hull and x[hull[-1]] == x[i]:
            continue  # same x: the lower one came first
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (x[a] - x[o]) * (e[i] - e[o]) - (e[a] - e[o]) * (x[i] - x[o])
            if cross <= 0:  # a is not below the chord o-i
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def hull_energy(x_hull: Sequence[float], e_hull: Sequence[float], x: float) -> float:
    """Energy of the lower hull (given by its vertices, sorted by x) at composition ``x``."""
    return float(np.interp(x, np.asarray(x_hull, float), np.asarray(e_hull, float)))


def above_hull(x: Sequence[float], e: Sequence[float]) -> np.ndarray:
    """Energy of each point above the lower hull of all points (≥ 0; 0 on the hull), same units as e."""
    x, e = np.asarray(x, float), np.asarray(e, float)
    idx = lower_hull(x, e)
    return np.array([e[k] - hull_energy(x[idx], e[idx], x[k]) for k in range(len(x))])
