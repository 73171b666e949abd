"""``lizrcl stacking``: energies of the layered Li2ZrCl6 stacking variants and of the M-defect.

Every distinct stacking of the layered pattern up to ``max_layers`` filled layers
(:func:`lizrcl_tools.structures.layered.stacking_variants`) is relaxed (cell and positions)
with the potential; energies per formula unit (f.u. = Li2ZrCl6) with the model, and as single
points at the model's cells with the bare model and the teacher. The spread (max − min per
f.u.) is set beside the study's 0.02 eV/f.u. for its 35 variants (SI Fig. S2).

The M-defect cell (:func:`~lizrcl_tools.structures.layered.li2zrcl6_mdefect`) is relaxed the
same way; its energy is given per f.u. and per defect relative to the ideal layered cell (the
(0, 1) stacking), and whether the moved Zr is still in the gap after relaxation. Simulated
powder patterns of the relaxed ideal and M-defect cells (``lizrcl xrd``, Cu Kα) go to
``xrd/xrd.png``.

Outputs in ``outdir``: ``cells/`` (records, resumable), ``stacking.json``, ``stacking.txt``,
``xrd/``. Units: eV, Å.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lizrcl_tools.compositions.relax import Teacher, cell_record
from lizrcl_tools.compositions.workflow import KINDS, _energies

STUDY_SPREAD_EV_PER_FU = 0.02
"""The study's largest energy difference among its 35 layered stacking variants, eV/f.u. (SI Fig. S2)."""

MAX_LAYERS = 3
"""Default longest stacking period: 4 variants, cells of 9–27 atoms."""


def run_stacking(
    outdir: str | os.PathLike,
    spec: Any,
    *,
    max_layers: int = MAX_LAYERS,
    bare_spec: Any | None = None,
    teacher: str | None = None,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Relax the stacking variants and the M-defect; energies per f.u.; XRD overlay. Returns the JSON record."""
    from lizrcl_tools.analysis.xrd import run_xrd
    from lizrcl_tools.compositions.report import _NAMES
    from lizrcl_tools.fileio import jsonable, write_json_atomic, write_text_atomic
    from lizrcl_tools.structures import build
    from lizrcl_tools.structures.layered import IDEAL_SEQUENCE, MDEFECT_REPEAT, gap_zr_count, stacking_variants

    from lizrcl_tools.errors import SetupError

    if max_layers < len(IDEAL_SEQUENCE):
        raise SetupError(f"--max-layers must be at least {len(IDEAL_SEQUENCE)} (the ideal stacking's period)")
    say = log or (lambda _m: None)
    outdir = Path(outdir)
    cells_dir = outdir / "cells"
    start = time.perf_counter()
    tch = Teacher(teacher) if teacher else None
    kw = {"bare_spec": bare_spec, "teacher": tch, "force": force, "log": say}
    variants = stacking_variants(max_layers)
    say(f"{len(variants)} distinct stacking variants with up to {max_layers} layers")
    rows = []
    for cell in variants:
        label = cell.info["stacking"]
        rec, _ = cell_record(f"stack-{label}", cell, spec, cells_dir, **kw)
        n_fu = rec["counts"]["Zr"]
        rows.append({"stacking": label, "n_atoms": rec["n_atoms"], "formula_units": n_fu,
                     "energy_per_fu_eV": {k: (None if e is None else e / n_fu) for k, e in _energies(rec).items()},
                     "cellpar_relaxed": rec["cellpar_relaxed"]})
    summary = {}
    for kind in KINDS:
        vals = [r["energy_per_fu_eV"][kind] for r in rows if r["energy_per_fu_eV"][kind] is not None]
        if len(vals) != len(rows):
            continue
        low = min(vals)
        for r in rows:
            r.setdefault("relative_per_fu_meV", {})[kind] = 1000 * (r["energy_per_fu_eV"][kind] - low)
        summary[kind] = {"spread_eV_per_fu": max(vals) - low, "min_eV_per_fu": low, "max_eV_per_fu": max(vals),
                         "lowest": min(rows, key=lambda r: r["energy_per_fu_eV"][kind])["stacking"]}
    ideal_label = "".join(str(s) for s in IDEAL_SEQUENCE)
    ideal = next(r for r in rows if r["stacking"] == ideal_label)
    drec, drelaxed = cell_record("li2zrcl6-mdefect", build("li2zrcl6-mdefect"), spec, cells_dir, **kw)
    n_fu = drec["counts"]["Zr"]
    n_layers = len(IDEAL_SEQUENCE) * MDEFECT_REPEAT[2]
    mdefect = {"n_atoms": drec["n_atoms"], "formula_units": n_fu, "defects_per_cell": 1,
               "zr_in_gap_after_relaxation": gap_zr_count(drelaxed, n_layers), "relative_to_ideal": {}}
    for kind, e in _energies(drec).items():
        if e is None or ideal["energy_per_fu_eV"][kind] is None:
            continue
        per_fu = e / n_fu - ideal["energy_per_fu_eV"][kind]
        mdefect["relative_to_ideal"][kind] = {"per_fu_eV": per_fu, "per_defect_eV": per_fu * n_fu}
    xrd = run_xrd([str(cells_dir / f"stack-{ideal_label}.extxyz"), str(cells_dir / "li2zrcl6-mdefect.extxyz")],
                  outdir / "xrd", force=True)
    result = {
        "potential": drec["potential"], "bare_model": drec.get("bare_model"), "teacher": drec.get("teacher"),
        "max_layers": max_layers, "n_variants": len(rows), "variants": rows, "spread": summary,
        "study_spread_eV_per_fu": STUDY_SPREAD_EV_PER_FU, "ideal_stacking": ideal_label, "mdefect": mdefect,
        "xrd": {"png": str(outdir / "xrd" / "xrd.png"), "wavelength_A": xrd.get("wavelength_A")},
        "units": "eV per formula unit Li2ZrCl6 (relative values in meV/f.u.)",
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_json_atomic(outdir / "stacking.json", jsonable(result))
    lines = ["| stacking | atoms | " + " | ".join(f"{_NAMES[k]} ΔE meV/f.u." for k in summary) + " |",
             "|" + " --- |" * (2 + len(summary))]
    for r in sorted(rows, key=lambda r: r["energy_per_fu_eV"]["model"]):
        lines.append(f"| {r['stacking']} | {r['n_atoms']} | "
                     + " | ".join(f"{r['relative_per_fu_meV'][k]:.1f}" for k in summary) + " |")
    lines.append("\nspread (max - min, meV/f.u.): " + ", ".join(
        f"{_NAMES[k]} {1000 * v['spread_eV_per_fu']:.1f}" for k, v in summary.items())
        + f"; study: {1000 * STUDY_SPREAD_EV_PER_FU:.0f} over 35 variants")
    lines.append("M-defect (one Zr in the gap, " + f"{n_fu} f.u.) relative to ideal, eV/f.u. (eV/defect): " + ", ".join(
        f"{_NAMES[k]} {v['per_fu_eV']:+.3f} ({v['per_defect_eV']:+.2f})" for k, v in mdefect["relative_to_ideal"].items())
        + f"; Zr in the gap after relaxation: {mdefect['zr_in_gap_after_relaxation']}")
    write_text_atomic(outdir / "stacking.txt", "\n".join(lines) + "\n")
    return result
