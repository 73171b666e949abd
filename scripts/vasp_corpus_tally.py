"""Read a corpus of real VASP outputs with ``lizrcl vasp collect`` and check it against two peers.

For every file whose name contains ``vasprun`` or ``OUTCAR`` under the corpus folder:

- ours: :func:`lizrcl_tools.vasp.collect.read_vasp_output`;
- ASE: ``ase.io.read(path, index=":")`` (free energy via ``force_consistent=True``, forces,
  stress in eV/Å³ with ASE's sign);
- pymatgen (vasprun.xml only): ``Vasprun(...).ionic_steps`` (``e_fr_energy``, forces, stress
  in raw kB converted here with −0.1 GPa from ase.units).

Each file lands in one row of the tally:

agree
    Same number of ionic steps as every peer that read the file, and every frame we kept
    matches each peer's step with the same index (energy 1e-6 eV, forces 1e-6 eV/Å, stress
    1e-7 eV/Å³ ≈ 1.6e-5 kB).
refused
    We raised a ParseError: the message (printed) says why (``unsupported: ...``, damaged,
    truncated).
disagree
    We read frames and a peer differs (the first difference is printed).
unverified
    We read frames but no peer could read the file.
crashed
    We raised anything other than a LizrclError (a bug).

Usage::

    python scripts/vasp_corpus_tally.py /tmp/vasp_corpus [--verbose]
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from ase.units import GPa

E_TOL, F_TOL, S_TOL = 1e-6, 1e-6, 1e-7


def _ase_steps(path: Path, kind: str) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
    import ase.io

    fmt = "vasp-xml" if kind == "vasprun" else "vasp-out"
    out = []
    for atoms in ase.io.read(str(path), index=":", format=fmt):
        calc = atoms.calc
        stress = calc.results.get("stress") if calc is not None else None
        out.append((atoms.get_potential_energy(force_consistent=True), atoms.get_forces(),
                    None if stress is None else np.asarray(stress)))
    return out


def _pmg_steps(path: Path) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
    from pymatgen.io.vasp import Vasprun

    run = Vasprun(str(path), parse_dos=False, parse_eigen=False, parse_potcar_file=False,
                  parse_projected_eigen=False)
    out = []
    for step in run.ionic_steps:
        s = step.get("stress")
        voigt = None
        if s is not None:
            s = -0.1 * GPa * np.asarray(s, dtype=float)
            voigt = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])
        out.append((float(step["e_fr_energy"]), np.asarray(step["forces"], dtype=float), voigt))
    return out


def _compare(frames, n_steps: int, ref, name: str) -> str | None:
    from lizrcl_tools import keys

    if len(ref) != n_steps:
        return f"{name}: {len(ref)} steps, ours {n_steps}"
    for atoms in frames:
        i = atoms.info[keys.SOURCE_STEP]
        energy, forces, stress = ref[i]
        if abs(atoms.info[keys.REF_ENERGY] - energy) > E_TOL:
            return f"{name}: step {i} energy {atoms.info[keys.REF_ENERGY]} vs {energy}"
        if forces.shape != atoms.arrays[keys.REF_FORCES].shape or np.abs(atoms.arrays[keys.REF_FORCES] - forces).max() > F_TOL:
            return f"{name}: step {i} forces differ"
        ours = atoms.info.get(keys.REF_STRESS)
        if (ours is None) != (stress is None):
            return f"{name}: step {i} stress present in one reader only"
        if ours is not None and np.abs(ours - stress).max() > S_TOL:
            return f"{name}: step {i} stress differs by {np.abs(ours - stress).max():.2e} eV/A^3"
    return None


def tally_file(path: Path) -> tuple[str, str]:
    """(category, detail) for one file."""
    from lizrcl_tools.errors import LizrclError
    from lizrcl_tools.vasp.collect import read_vasp_output

    kind = "vasprun" if "vasprun" in path.name else "outcar"
    try:
        frames, report = read_vasp_output(path, kind=kind)
    except LizrclError as exc:
        return "refused", str(exc).splitlines()[0][:220]
    except Exception as exc:  # noqa: BLE001 - the tally must survive and count our bugs
        return "crashed", f"{type(exc).__name__}: {exc}"[:220]
    peers = {"ase": lambda: _ase_steps(path, kind)}
    if kind == "vasprun":
        peers["pymatgen"] = lambda: _pmg_steps(path)
    checked, failed_peers = [], []
    for name, read in peers.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ref = read()
        except Exception as exc:  # noqa: BLE001 - a peer failing is information, not a stop
            failed_peers.append(f"{name} failed ({type(exc).__name__})")
            continue
        difference = _compare(frames, report.n_steps, ref, name)
        if difference:
            return "disagree", difference + (f"; {report.note}" if report.note else "")
        checked.append(name)
    detail = (f"{report.n_steps} steps, {report.n_frames} frames, {report.n_skipped_unconverged} "
              f"unconverged (NELM {report.nelm}); checked vs {'+'.join(checked) or 'none'}")
    if failed_peers:
        detail += "; " + ", ".join(failed_peers)
    if report.note:
        detail += f"; {report.note}"
    return ("agree" if checked else "unverified"), detail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--verbose", action="store_true", help="one line per file, not only per problem")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.corpus.rglob("*") if p.is_file()
                   and ("vasprun" in p.name or "OUTCAR" in p.name))
    counts: Counter[str] = Counter()
    for path in files:
        category, detail = tally_file(path)
        counts[category] += 1
        if category == "agree" and " 0 frames" in detail and not detail.startswith("0 steps"):
            counts["agree: every step SCF-unconverged"] += 1
            print(f"{'all-skip':10s} {path.relative_to(args.corpus)}: {detail}", flush=True)
        elif args.verbose or category != "agree":
            print(f"{category:10s} {path.relative_to(args.corpus)}: {detail}", flush=True)
    print()
    print("| result | files |")
    print("| --- | --- |")
    for category in ("agree", "agree: every step SCF-unconverged", "refused", "disagree", "unverified", "crashed"):
        print(f"| {category} | {counts[category]} |")
    print(f"| total | {len(files)} |")
    print("('agree: every step SCF-unconverged' is a subset of 'agree': files whose every ionic step "
          "reached NELM, so no frame was kept)")
    return 0 if counts["crashed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
