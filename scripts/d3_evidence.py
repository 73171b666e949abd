"""Evidence for the default dispersion: Li2ZrCl6 lattice with and without D3(BJ, PBE).

With the shipped MACE model (float32, the MD default) on the ideal 54-atom P-3m1 cell
(``build("li2zrcl6-p3m1", n_atoms=54)``, a 1×1×2 stack of the 27-atom cell):

1. 0 K: positions and cell relaxed at 0 bar (``fix box/relax tri``), a, c (per 27-atom cell)
   and the cation-layer spacing c/2;
2. NPT (Nose-Hoover, barostat couple-xy: a = b and the 120° angle kept, c free) at 300, 450,
   600, 750 K through lizrcl's own ``run_md``: mean V, a, c over the second half of the NPT
   phase, and at the top temperature whether c drifts (first vs second half) — layers that
   come unbound show a runaway c.

Compared with the experimental structure given by ``--exp-a/--exp-c`` (Å; defaults are the
ideal cell of the builder when none is given, labelled as such). Runs are resumable (each
temperature is a lizrcl run folder); ``--only none|d3bj`` runs one series so the two can go on
two cores.

Usage::

    PYTHONPATH=$PWD nice -n 5 python scripts/d3_evidence.py -o d3-evidence [--only d3bj] [--npt-ps 4]
    PYTHONPATH=$PWD python scripts/d3_evidence.py -o d3-evidence --table-only
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

TEMPERATURES_K = (300.0, 450.0, 600.0, 750.0)
SERIES = ("none", "d3bj")


def spec_for(dispersion: str):
    from lizrcl_tools.md.setup import resolve_potential

    return resolve_potential("mace", None, dispersion=dispersion)


def cell():
    from lizrcl_tools.structures import build

    return build("li2zrcl6-p3m1", n_atoms=54)


def relaxed(dispersion: str, out: Path) -> dict:
    """0 K lattice (cached in out/relax-<dispersion>.json)."""
    from lizrcl_tools.md.static import relax

    path = out / f"relax-{dispersion}.json"
    if path.is_file():
        return json.loads(path.read_text())
    atoms = relax(cell(), spec_for(dispersion), relax_cell="tri", ftol_eV_A=1e-3)
    lengths, angles = atoms.cell.lengths(), atoms.cell.angles()
    rec = {"a_A": float(lengths[:2].mean()), "c_A": float(lengths[2] / 2), "gamma_deg": float(angles[2]),
           "volume_A3": float(atoms.get_volume()), "energy_eV": atoms.info["energy_eV"]}
    rec["layer_A"] = rec["c_A"] / 2
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, indent=1))
    tmp.replace(path)
    return rec


def run_series(dispersion: str, out: Path, npt_ps: float, temperatures=TEMPERATURES_K) -> None:
    from lizrcl_tools.md import get_protocol, run_md
    from lizrcl_tools.md.setup import tune_process_for

    spec = spec_for(dispersion)
    tune_process_for(spec)
    relaxed(dispersion, out)
    protocol = get_protocol("quick").with_overrides(
        npt_ps=npt_ps, nvt_ps=0.02, dump_every=10, thermo_every=20, chunk_steps=500,
        barostat="couple-xy", seed=2026,
    )
    for t in temperatures:
        run_md(cell(), spec, t, out / dispersion / f"T{t:g}", protocol, progress=False)
        print(f"{dispersion} {t:g} K done", flush=True)


def npt_summary(run_dir: Path) -> dict | None:
    from lizrcl_tools.md.thermo import read_thermo

    th = read_thermo(run_dir / "log.npt.lammps")
    if not th or not (run_dir / "run.json").is_file():
        return None
    n = len(th["Step"])
    half = slice(n // 2, n)
    first = slice(0, n // 2)
    a = th["Lx"]  # a along x; b = a under couple xy
    c = th["Lz"] / 2  # per 27-atom cell
    return {
        "V_A3": float(th["Volume"][half].mean()), "V_std_A3": float(th["Volume"][half].std()),
        "a_A": float(a[half].mean()), "c_A": float(c[half].mean()), "c_std_A": float(c[half].std()),
        "c_first_half_A": float(c[first].mean()), "c_max_A": float(c.max()),
        "npt_ps": float(th["Step"][-1]) / 1000.0, "n_rows": n,
    }


def table(out: Path, exp_a: float | None, exp_c: float | None, exp_source: str) -> None:
    ideal = cell()
    ia, ic = float(ideal.cell.lengths()[0]), float(ideal.cell.lengths()[2] / 2)
    ref_a, ref_c = (exp_a, exp_c) if exp_a and exp_c else (ia, ic)
    label = exp_source if exp_a and exp_c else "builder's ideal cell (no verified experimental value given)"
    v_ref = ref_a ** 2 * np.sqrt(3) / 2 * ref_c * 2  # 54-atom cell = 2 × 27-atom cells
    print(f"Reference: a = {ref_a:.3f} Å, c = {ref_c:.3f} Å ({label}); 54-atom cell V = {v_ref:.1f} Å³\n")
    print("| dispersion | state | a (Å) | Δa | c (Å, 27-atom cell) | Δc | layer spacing c/2 (Å) | V (Å³, 54 atoms) | ΔV |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for disp in SERIES:
        rows = []
        path = out / f"relax-{disp}.json"
        if path.is_file():
            r = json.loads(path.read_text())
            rows.append(("0 K relaxed", r["a_A"], r["c_A"], r["volume_A3"], 0.0))
        for t in TEMPERATURES_K:
            s = npt_summary(out / disp / f"T{t:g}")
            if s:
                rows.append((f"{t:g} K NPT ({s['npt_ps']:g} ps)", s["a_A"], s["c_A"], s["V_A3"], s["V_std_A3"]))
        for state, a, c, v, vstd in rows:
            vtxt = f"{v:.0f}" + (f" ± {vstd:.0f}" if vstd else "")
            print(f"| {disp} | {state} | {a:.3f} | {100 * (a / ref_a - 1):+.1f} % | {c:.3f} | "
                  f"{100 * (c / ref_c - 1):+.1f} % | {c / 2:.3f} | {vtxt} | {100 * (v / v_ref - 1):+.1f} % |")
    print("\nLayers at the top temperature (c per 27-atom cell, Å: first-half mean → second-half mean, max):")
    for disp in SERIES:
        s = npt_summary(out / disp / f"T{TEMPERATURES_K[-1]:g}")
        if s:
            print(f"  {disp}: {s['c_first_half_A']:.3f} → {s['c_A']:.3f} ± {s['c_std_A']:.3f}, max {s['c_max_A']:.3f} "
                  f"({100 * (s['c_max_A'] / ref_c - 1):+.1f} % over the reference)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="d3-evidence")
    parser.add_argument("--only", choices=SERIES)
    parser.add_argument("--npt-ps", type=float, default=3.0)
    parser.add_argument("--temperatures", type=float, nargs="+", default=list(TEMPERATURES_K),
                        help="subset to run (K), e.g. to spread one series over two processes")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--exp-a", type=float, help="experimental a, Å (27-atom P-3m1 cell)")
    parser.add_argument("--exp-c", type=float, help="experimental c, Å")
    parser.add_argument("--exp-source", default="experiment")
    args = parser.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        for disp in [args.only] if args.only else SERIES:
            run_series(disp, out, args.npt_ps, args.temperatures)
    table(out, args.exp_a, args.exp_c, args.exp_source)


if __name__ == "__main__":
    main()
