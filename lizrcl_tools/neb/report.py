"""What a band leaves behind: JSON record, energy-profile plot, band extxyz, VASP NEB inputs.

Files for a path named ``NAME`` in the output folder:

``NAME.json``
    barrier, reaction energy, per-image energies and path length, force tolerance, converged,
    potential, settings, and the study's numbers where the path is one of the study's;
``NAME.png``
    energy (relative to the initial state, eV) against path length (Å), climbing image marked;
``NAME.extxyz``
    the band (energy per image in ``info``), e.g. for labelling with the teacher;
``NAME_vasp/``
    the same band as VASP NEB inputs (:func:`lizrcl_tools.vasp.neb_folders.write_vasp_neb`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lizrcl_tools.fileio import jsonable, save_figure, write_atoms_atomic, write_json_atomic
from lizrcl_tools.neb.band import NebResult


def potential_summary(spec: Any) -> dict[str, Any]:
    """Name, model file and dispersion of a :class:`~lizrcl_tools.potential.PotentialSpec`."""
    meta = getattr(spec, "metadata", {}) or {}
    disp = meta.get("dispersion") or {}
    return {
        "name": getattr(spec, "name", str(spec)),
        "model": meta.get("model"),
        "sha256": meta.get("sha256"),
        "dtype": meta.get("dtype"),
        "dispersion": disp.get("method", "none"),
        "d3_cutoff_A": disp.get("cutoff_A"),
        "d3_cn_cutoff_A": disp.get("cn_cutoff_A"),
    }


def neb_record(result: NebResult, name: str, potential: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The JSON record of one band (energies eV, lengths Å, forces eV/Å)."""
    e0 = float(result.energies_eV[0])
    return jsonable({
        "path": name,
        "barrier_eV": result.barrier_eV,
        "reverse_barrier_eV": result.reverse_barrier_eV,
        "reaction_energy_eV": result.reaction_energy_eV,
        "converged": result.converged,
        "force_tolerance_eV_A": result.fmax_eV_A,
        "max_force_eV_A": result.max_force_eV_A,
        "climbing_image": result.climbing_image,
        "potential": potential,
        "images": [
            {"index": k, "energy_eV": float(e), "relative_energy_eV": float(e) - e0, "path_A": float(s)}
            for k, (e, s) in enumerate(zip(result.energies_eV, result.path_A))
        ],
        "n_images": len(result.images),
        "steps": result.steps,
        "endpoint_steps": list(result.endpoint_steps),
        "force_calls": result.force_calls,
        "seconds": result.seconds,
        "settings": result.settings,
        "units": {"energy": "eV", "length": "Å", "force": "eV/Å"},
        **extra,
    })


def plot_profile(result: NebResult, path: str | Path, title: str = "") -> Path:
    """Energy relative to the initial state (eV) against path length (Å), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    e = result.energies_eV - result.energies_eV[0]
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot(result.path_A, e, "o-", color="tab:blue")
    ci = result.climbing_image
    ax.plot([result.path_A[ci]], [e[ci]], "*", ms=14, color="tab:red", label="climbing image")
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set_xlabel("path length (Å)")
    ax.set_ylabel("E − E(initial) (eV)")
    note = "" if result.converged else " (not converged)"
    ax.set_title(f"{title} barrier {result.barrier_eV:.3f} eV, ΔE {result.reaction_energy_eV:+.3f} eV{note}",
                 fontsize=8)
    ax.legend(fontsize=7, loc="best")
    return save_figure(fig, path, dpi=130)


def write_neb_outputs(
    result: NebResult, outdir: str | Path, name: str, record: dict[str, Any], *, vasp: bool = True
) -> dict[str, Path]:
    """Write ``NAME.json``, ``NAME.png``, ``NAME.extxyz`` and (``vasp``) ``NAME_vasp/``."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = {"json": outdir / f"{name}.json", "plot": outdir / f"{name}.png", "band": outdir / f"{name}.extxyz"}
    frames = []
    for k, image in enumerate(result.images):
        frame = image.copy()
        frame.calc = None
        frame.info.update({"neb_image": k, "energy_eV": float(result.energies_eV[k]), "path": name})
        frames.append(frame)
    write_atoms_atomic(files["band"], frames, format="extxyz")
    plot_profile(result, files["plot"], title=name)
    if vasp:
        from lizrcl_tools.vasp.neb_folders import write_vasp_neb

        files["vasp"] = write_vasp_neb(result.images, outdir / f"{name}_vasp", potcar="auto")
    record = dict(record, files={k: str(v) for k, v in files.items()})
    write_json_atomic(files["json"], record)
    return files


def format_table(records: Sequence[dict[str, Any]]) -> str:
    """Model barriers (Ea) and reaction energies (ΔE) beside the study's, eV.

    With teacher results (``record["teacher"]``, see :mod:`lizrcl_tools.neb.teacher`), adds
    the bare model (no D3), the teacher (PBE, no D3) and the teacher plus the model's D3
    part, all at the model's images.
    """
    teacher = any("teacher" in r for r in records)
    cols = ["study Ea", "model Ea", "study ΔE", "model ΔE"]
    if teacher:
        cols += ["bare Ea", "teach Ea", "teach+D3 Ea", "bare ΔE", "teach ΔE", "teach+D3 ΔE"]
    head = f"{'path':<6}" + "".join(f" {c:>{max(9, len(c))}}" for c in cols)
    lines = [head + "  conv  note", "-" * (len(head) + 12)]

    def f(x: Any, width: int) -> str:
        ok = isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
        return f" {x:>{width}.2f}" if ok else f" {'—':>{width}}"

    for r in records:
        values = [r.get("study_barrier_eV"), r["barrier_eV"], r.get("study_reaction_energy_eV"),
                  r["reaction_energy_eV"]]
        if teacher:
            t = r.get("teacher") or {}
            bare, d3 = t.get("bare_model") or {}, t.get("with_model_d3") or {}
            values += [bare.get("barrier_eV"), t.get("barrier_eV"), d3.get("barrier_eV"),
                       bare.get("reaction_energy_eV"), t.get("reaction_energy_eV"), d3.get("reaction_energy_eV")]
        line = f"{r['path']:<6}" + "".join(f(v, max(9, len(c))) for v, c in zip(values, cols))
        lines.append(line + f"  {'yes ' if r['converged'] else 'NO  '}  {r.get('note', '')}")
    return "\n".join(lines)


def energies_relative(record: dict[str, Any]) -> np.ndarray:
    """Image energies of a record relative to its initial state, eV."""
    return np.array([im["relative_energy_eV"] for im in record["images"]])
