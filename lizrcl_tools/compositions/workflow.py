"""``lizrcl compositions``: select the six compounds' orderings, formation energies, hull, plot.

For each compound of :data:`lizrcl_tools.structures.compounds.COMPOUNDS` the seeded candidate
orderings are relaxed (cell and positions) with the potential (default: shipped MACE +
D3(BJ)); the lowest energy per atom is the compound. Li2ZrCl6 is also evaluated in the ordered
P-3m1 cell and the layered cell (``li2zrcl6-p3m1``, ``li2zrcl6-layered``), which enter the
table and the hull beside the seeded hcp ordering. References: rocksalt LiCl (``licl``) and
chain ZrCl4 (``zrcl4``, Pca2_1), relaxed the same way.

Energies: the potential's at its relaxed cells; with ``bare_spec`` the same model without D3
and with ``teacher`` the reference (SevenNet-0, PBE) as single points at those cells. The
teacher has no dispersion; "teacher + D3" adds the model's D3 part, (model + D3) − bare model,
cell by cell. Formation energies and the hull: :mod:`lizrcl_tools.compositions.formation`.

Outputs in ``outdir``: ``cells/`` (one record + relaxed cell per structure, resumable),
``compositions.json``, ``compositions.txt`` (table) and ``compositions.png`` (ΔE_f per
(LiCl)1−x(ZrCl4)x unit vs x with the lower hull). The three summary files are derived from the
records and rewritten on every run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


from lizrcl_tools.compositions.formation import above_hull, formation_energy, lower_hull
from lizrcl_tools.compositions.relax import Teacher, cell_record

KINDS = ("model", "bare_model", "teacher", "teacher_d3")
"""Energy columns: model (+D3 as run), bare model, teacher, teacher + the model's D3 part."""

EXTRA_LI2ZRCL6 = ("li2zrcl6-layered", "li2zrcl6-p3m1")
"""Named Li2ZrCl6 cells evaluated beside the seeded hcp ordering."""


def _energies(record: dict[str, Any]) -> dict[str, float | None]:
    e = {"model": record["energy_eV"], "bare_model": record.get("bare_model_energy_eV"),
         "teacher": record.get("teacher_energy_eV")}
    if e["bare_model"] is not None and e["teacher"] is not None:
        e["teacher_d3"] = e["teacher"] + e["model"] - e["bare_model"]
    else:
        e["teacher_d3"] = None
    return e


def select_orderings(
    outdir: str | os.PathLike, spec: Any, names: Sequence[str] | None = None, *,
    n_candidates: int | None = None, bare_spec: Any | None = None, teacher: Teacher | None = None,
    force: bool = False, log: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Relax every candidate ordering of each compound; the lowest energy per atom wins.

    Returns ``{name: {"selected_seed", "stored_seed", "candidates": [records], "selected": record}}``.
    """
    from lizrcl_tools.structures.compounds import COMPOUNDS, N_CANDIDATES, _get, candidates

    say = log or (lambda _m: None)
    workdir = Path(outdir) / "cells"
    out = {}
    for name in names or list(COMPOUNDS):
        compound = _get(name)
        cells = candidates(name, n_candidates or N_CANDIDATES)
        say(f"{name}: {len(cells)} distinct candidates of {n_candidates or N_CANDIDATES} seeds, {compound.n_atoms} atoms")
        recs = []
        for cell in cells:
            rec, _ = cell_record(f"{name}-s{cell.info['seed']}", cell, spec, workdir, bare_spec=bare_spec,
                                 teacher=teacher, force=force, log=say)
            rec = dict(rec, seed=int(cell.info["seed"]), duplicate_seeds=cell.info.get("duplicate_seeds", []))
            recs.append(rec)
        best = min(recs, key=lambda r: r["energy_eV"] / r["n_atoms"])
        if compound.selected_seed is not None and compound.selected_seed != best["seed"]:
            say(f"{name}: selected seed {best['seed']} differs from the stored {compound.selected_seed}")
        out[name] = {"selected_seed": best["seed"], "stored_seed": compound.selected_seed,
                     "candidates": recs, "selected": best}
    return out


def run_compositions(
    outdir: str | os.PathLike,
    spec: Any,
    *,
    names: Sequence[str] | None = None,
    n_candidates: int | None = None,
    bare_spec: Any | None = None,
    teacher: str | None = None,
    force: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Formation energies of the six compounds (and Li2ZrCl6 cells) against LiCl and ZrCl4.

    Parameters
    ----------
    outdir : path
        Output folder (see the module docstring).
    spec : PotentialSpec
        Relaxing potential (:func:`lizrcl_tools.md.setup.resolve_potential`).
    names : sequence of str, optional
        Subset of the compounds (default all six).
    n_candidates : int, optional
        Seeds per compound (default :data:`~lizrcl_tools.structures.compounds.N_CANDIDATES`).
    bare_spec : PotentialSpec, optional
        The model without dispersion, for single points.
    teacher : str, optional
        Reference name for single points (``sevennet``).
    force : bool
        Recompute cells whose records were made with other settings.

    Returns
    -------
    dict
        What ``compositions.json`` holds: ``references``, ``compounds`` (per compound: x,
        selected seed, formation energies per kind in eV per f.u., per atom and per cation,
        energy above the hull per cation), ``hull`` (per kind, the labels on it), settings.
    """
    from lizrcl_tools.compositions.report import format_table, plot_formation
    from lizrcl_tools.fileio import jsonable, write_json_atomic, write_text_atomic
    from lizrcl_tools.structures import build
    from lizrcl_tools.structures.compounds import COMPOUNDS, N_CANDIDATES

    say = log or (lambda _m: None)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    tch = Teacher(teacher) if teacher else None
    kw = {"bare_spec": bare_spec, "teacher": tch, "force": force, "log": say}
    refs = {}
    for name in ("licl", "zrcl4"):
        refs[name], _ = cell_record(f"ref-{name}", build(name), spec, outdir / "cells", **kw)
    per = {"licl": refs["licl"]["counts"]["Li"], "zrcl4": refs["zrcl4"]["counts"]["Zr"]}  # formula units
    e_ref = {name: {k: (None if v is None else v / per[name]) for k, v in _energies(r).items()}
             for name, r in refs.items()}
    selection = select_orderings(outdir, spec, names, n_candidates=n_candidates, **kw)
    entries = []
    for name, sel in selection.items():
        c = COMPOUNDS[name]
        entries.append((name, c.formula, c.n_li, c.n_zr, sel["selected"]))
    if names is None or "li2zrcl6-hcp" in names:
        for name in EXTRA_LI2ZRCL6:
            rec, _ = cell_record(name, build(name), spec, outdir / "cells", **kw)
            entries.append((name, "Li2ZrCl6", 2, 1, rec))
    compounds = []
    for name, formula, n_li, n_zr, rec in entries:
        k = rec["counts"]["Zr"] // n_zr
        row = {"name": name, "formula": formula, "x": n_zr / (n_li + n_zr), "formula_units": k,
               "n_atoms": rec["n_atoms"], "label": rec["label"], "seed": rec.get("seed"),
               "volume_A3_per_fu": rec["volume_A3"] / k, "formation": {}}
        for kind, e in _energies(rec).items():
            if e is None or e_ref["licl"][kind] is None:
                continue
            f = formation_energy(rec["counts"]["Li"], rec["counts"]["Zr"], e, e_ref["licl"][kind], e_ref["zrcl4"][kind])
            row["formation"][kind] = {"per_fu_eV": f["total_eV"] / k, "per_atom_eV": f["per_atom_eV"],
                                      "per_cation_eV": f["per_cation_eV"]}
        compounds.append(row)
    hull = {}
    for kind in KINDS:
        rows = [r for r in compounds if kind in r["formation"]]
        if not rows:
            continue
        xs = [0.0, 1.0] + [r["x"] for r in rows]
        es = [0.0, 0.0] + [r["formation"][kind]["per_cation_eV"] for r in rows]
        labels = ["LiCl", "ZrCl4"] + [r["name"] for r in rows]
        above = above_hull(xs, es)
        for r, a in zip(rows, above[2:]):
            r["formation"][kind]["above_hull_per_cation_eV"] = float(a)
        hull[kind] = [labels[i] for i in lower_hull(xs, es)]
    result = {
        "potential": refs["licl"]["potential"],
        "bare_model": refs["licl"].get("bare_model"),
        "teacher": refs["licl"].get("teacher"),
        "references": {n: {"label": r["label"], "energy_per_fu_eV": _energies(r), "volume_A3": r["volume_A3"],
                           "cellpar_relaxed": r["cellpar_relaxed"]} for n, r in refs.items()},
        "selection_rule": (f"per compound: mix(x, n_atoms, seed) on hcp Cl for seeds 0..{(n_candidates or N_CANDIDATES) - 1}, "
                           "duplicates removed (StructureMatcher), each relaxed (cell + positions); lowest model energy per atom"),
        "selection": {n: {"selected_seed": s["selected_seed"], "stored_seed": s["stored_seed"],
                          "candidates": [{"seed": r["seed"], "duplicate_seeds": r["duplicate_seeds"],
                                          "energy_eV_per_atom": r["energy_eV"] / r["n_atoms"]} for r in s["candidates"]]}
                      for n, s in selection.items()},
        "compounds": compounds,
        "hull": hull,
        "units": "eV; formation per formula unit, per atom and per (LiCl)1-x(ZrCl4)x unit (per cation)",
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_json_atomic(outdir / "compositions.json", jsonable(result))
    write_text_atomic(outdir / "compositions.txt", format_table(result) + "\n")
    plot_formation(result, outdir / "compositions.png")
    return result
