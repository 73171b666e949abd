"""Tables and plots of :mod:`lizrcl_tools.compositions` results (text and matplotlib only)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_NAMES = {"model": "model+D3", "bare_model": "bare model", "teacher": "teacher", "teacher_d3": "teacher+D3"}


def format_table(result: dict[str, Any]) -> str:
    """Formation energies per f.u. and per atom (meV), and above hull, one row per compound."""
    kinds = [k for k in _NAMES if any(k in r["formation"] for r in result["compounds"])]
    head = ["compound", "x", "N", "seed"] + [f"{_NAMES[k]} eV/f.u." for k in kinds] \
        + [f"{_NAMES[k]} meV/atom" for k in kinds] + [f"{_NAMES[k]} above hull meV/cation" for k in kinds]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in result["compounds"]:
        f = r["formation"]
        named = r["name"] in ("li2zrcl6-layered", "li2zrcl6-p3m1")
        cells = [f"{r['formula']} ({r['name']})" if named else r["formula"],
                 f"{r['x']:.3f}", str(r["n_atoms"]), "" if r["seed"] is None else str(r["seed"])]
        cells += [f"{f[k]['per_fu_eV']:+.3f}" if k in f else "" for k in kinds]
        cells += [f"{1000 * f[k]['per_atom_eV']:+.1f}" if k in f else "" for k in kinds]
        cells += [f"{1000 * f[k].get('above_hull_per_cation_eV', float('nan')):.1f}" if k in f else "" for k in kinds]
        lines.append("| " + " | ".join(cells) + " |")
    hull = "; ".join(f"{_NAMES[k]}: {', '.join(v)}" for k, v in result["hull"].items())
    lines.append(f"\nOn the lower hull: {hull}")
    return "\n".join(lines)


def plot_formation(result: dict[str, Any], path: str | os.PathLike) -> Path:
    """ΔE_f per (LiCl)1−x(ZrCl4)x unit vs x, one marker set per energy kind, lower hull as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lizrcl_tools.compositions.formation import lower_hull
    from lizrcl_tools.fileio import save_figure

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    styles = {"model": ("o", "C0"), "bare_model": ("s", "C1"), "teacher": ("^", "C2"), "teacher_d3": ("v", "C3")}
    for kind, (marker, color) in styles.items():
        rows = [r for r in result["compounds"] if kind in r["formation"]]
        if not rows:
            continue
        xs = [0.0, 1.0] + [r["x"] for r in rows]
        es = [0.0, 0.0] + [1000 * r["formation"][kind]["per_cation_eV"] for r in rows]
        ax.scatter(xs[2:], es[2:], marker=marker, color=color, label=_NAMES[kind], zorder=3)
        idx = lower_hull(xs, es)
        ax.plot([xs[i] for i in idx], [es[i] for i in idx], color=color, lw=1)
    for r in result["compounds"]:
        if "model" in r["formation"] and not r["name"].startswith("li2zrcl6-"):
            ax.annotate(r["formula"].split(" ")[0], (r["x"], 1000 * r["formation"]["model"]["per_cation_eV"]),
                        textcoords="offset points", xytext=(3, 5), fontsize=7)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_xlabel("x in (LiCl)$_{1-x}$(ZrCl$_4$)$_x$")
    ax.set_ylabel("formation energy (meV per LiCl/ZrCl$_4$ unit)")
    ax.set_title("Formation energy vs LiCl + ZrCl$_4$; lines: lower hulls", fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=130)
