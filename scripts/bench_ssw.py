#!/usr/bin/env python
"""Benchmark: SSW vs ASE basin hopping at equal force-call budget, finding rocksalt LiCl.

From random LiCl cells (8, 16, 24 and 48 atoms, several seeds) both methods search with the
toy rocksalt-favouring LiCl potential (:mod:`lizrcl_tools.ssw.toy`) in LAMMPS:

* SSW: :class:`lizrcl_tools.ssw.SSWWalker`, variable cell, default parameters (or ``--ssw
  KEY=VALUE`` overrides, printed).
* Basin hopping: :class:`ase.optimize.basin.BasinHopping` (random atomic moves of ``--bh-dr`` Å,
  Metropolis at the same temperature), each local relaxation FIRE on a ``UnitCellFilter``
  (atoms + cell) to fmax 0.05 eV/Å, through an ASE calculator over the same LAMMPS engine.

Force calls are counted identically and the budget is enforced in the same place for both:
every evaluation is one :meth:`LammpsEngine.evaluate` (dimer images, trial points, FIRE
iterations of SSW; every calculator call of basin hopping), which refuses the call that would
pass ``engine.max_force_calls`` — neither method can overshoot. A run "reaches rocksalt" when
some minimum it found lies within ``--tol`` eV/atom of relaxed rocksalt and the lowest minimum
it stored has rocksalt's fingerprint (cosine distance < 0.02; checks that a low energy is not
another structure). Also printed: the median force calls to reach rocksalt (over the runs
that did), and distinct minima (merged by energy + fingerprint as in the SSW database) per
1000 force calls spent.

With ``--start wurtzite|zincblende|cesiumchloride`` every run starts instead from that relaxed
metastable polymorph (26, 30 and 169 meV/atom above rocksalt with the toy), the seeds varying
only the walks: the escape from a deep minimum that SSW's collective cell moves are for.
Printed per size: Wilson 95 % intervals on the success rates and, pairing the two methods' runs
from the same start, the exact sign test on the seeds where only one of them succeeded.

Usage: ``python scripts/bench_ssw.py --budget 3000 --seeds 24 --sizes 8 16 24 48 --jobs 2``
ASE's basin hopping draws from NumPy's global RNG; it is seeded per run (``np.random.seed``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.filters import UnitCellFilter
from ase.optimize import FIRE
from ase.optimize.basin import BasinHopping
from ase.units import kB
from scipy.stats import binomtest

from lizrcl_tools.ssw import MinimaDB, SSWParameters, SSWWalker
from lizrcl_tools.potential.lammps_engine import BudgetExhausted, EngineCalculator, LammpsEngine, to_lammps_frame
from lizrcl_tools.ssw.fingerprint import fingerprint, fingerprint_distance
from lizrcl_tools.ssw.merge import merge_minima
from lizrcl_tools.ssw.parameters import parse_overrides
from lizrcl_tools.ssw.parallel import walker_seeds
from lizrcl_tools.ssw.randomcell import random_cell
from lizrcl_tools.ssw.toy import ROCKSALT_A, toy_licl_potential


METASTABLE = {"wurtzite": dict(a=4.2, c=6.8), "zincblende": dict(a=6.0), "cesiumchloride": dict(a=3.4)}
"""Deep metastable LiCl polymorphs of the toy potential (relaxed: wurtzite 26, zincblende 30, CsCl
169 meV/atom above rocksalt) and starting lattice parameters, Å (both methods relax the start)."""


def metastable_cell(structure: str, n_atoms: int) -> Atoms:
    """``structure`` LiCl repeated to ``n_atoms`` in the most nearly cubic supercell (rows of the
    primitive or conventional cell repeated a × b × c times)."""
    unit = bulk("LiCl", structure, cubic=structure == "zincblende", **METASTABLE[structure])
    if n_atoms % len(unit):
        raise SystemExit(f"{structure}: {n_atoms} atoms is not a multiple of its {len(unit)}-atom cell")
    k = n_atoms // len(unit)
    lengths = unit.cell.lengths()
    reps = min(((a, b, k // (a * b)) for a in range(1, k + 1) for b in range(1, k + 1) if k % (a * b) == 0),
               key=lambda r: max(np.array(r) * lengths) / min(np.array(r) * lengths))
    return unit.repeat(reps)


def rocksalt_energy_per_atom(spec) -> float:
    """Relaxed rocksalt energy of the toy potential, eV/atom."""
    atoms = bulk("LiCl", "rocksalt", a=ROCKSALT_A, cubic=True)
    h, pos, _ = to_lammps_frame(atoms.cell[:], atoms.positions)
    eng = LammpsEngine(spec, atoms.get_chemical_symbols(), h, pos)
    e = eng.minimize(relax_cell=True, force_tol=1e-6).energy / len(atoms)
    eng.close()
    return e


def lowest_is_rocksalt(db: MinimaDB) -> bool:
    """Whether the lowest stored minimum has rocksalt's fingerprint (supercell-independent)."""
    rows = db.minima()
    if not rows:
        return False
    reference = fingerprint(bulk("LiCl", "rocksalt", a=ROCKSALT_A))
    return fingerprint_distance(fingerprint(rows[0].toatoms()), reference) < 0.02


def run_ssw(start: Atoms, spec, seed: int, budget: int, e_target: float, workdir: Path,
            params: SSWParameters) -> dict:
    """SSW from ``start`` until the budget is spent; first force-call count at rocksalt or None."""
    db = workdir / f"ssw_{len(start)}_{seed}.db"
    try:
        walker = SSWWalker(start, spec, db, params, seed=seed, max_force_calls=budget)
    except BudgetExhausted:  # the start quench alone did not fit
        return {"hit": None, "best": np.inf, "distinct": 0, "calls": budget, "db": None}
    walker.run(10**6, progress=False, max_force_calls=budget)
    walker.close()
    calls = walker.engine.force_calls
    if calls > budget:
        raise RuntimeError(f"SSW spent {calls} force calls, budget {budget}")
    n = len(start)
    hit = next((r.force_calls for r in walker.state.history if r.energy / n <= e_target), None)
    if not lowest_is_rocksalt(walker.db):
        hit = None
    made = [r.move for r in walker.state.history[1:]]
    moves = f"{made.count('kick')}/{walker.state.step}"
    if params.swap_moves:
        moves = f"{made.count('kick')}+{made.count('swap')}/{walker.state.step}"
    return {"hit": hit, "best": walker.lowest_energy() / n, "distinct": walker.db.count(), "calls": calls,
            "moves": moves, "db": db}


def run_bh(start: Atoms, spec, seed: int, budget: int, e_target: float, workdir: Path, dr: float,
           temperature_K: float, fixed_cell_first: bool = False) -> dict:
    """ASE basin hopping with variable-cell FIRE relaxations, stopped at the budget; with
    ``fixed_cell_first`` the start's atoms are relaxed at fixed cell first (FIRE, 0.05 eV/Å, inside
    the budget), as SSW's ``start_fixed_cell`` does."""
    atoms = start.copy()
    calc = EngineCalculator(spec, atoms)
    engine = calc.engine
    engine.max_force_calls = budget  # the same hard budget, in the same engine method as SSW's
    minima: list[tuple[Atoms, float, int]] = []
    hit: list[int] = []
    atoms.calc = calc

    class CellRelax:
        """Optimizer factory for BasinHopping: FIRE on atoms + cell; records every local minimum."""

        def __init__(self, _optimizable, logfile=None):
            self.opt = FIRE(UnitCellFilter(atoms), logfile=None)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def run(self, fmax):
            self.opt.run(fmax=fmax, steps=3000)
            e = atoms.get_potential_energy()
            minima.append((atoms.copy(), e, engine.force_calls))
            if e / len(atoms) <= e_target and not hit:
                hit.append(engine.force_calls)

    np.random.seed(seed)
    # ASE's default trajectories would land in the current folder; keep them in the work folder.
    try:  # BasinHopping relaxes the start in its constructor: inside the budget too
        if fixed_cell_first:
            FIRE(atoms, logfile=None).run(fmax=0.05, steps=1000)
        bh = BasinHopping(atoms, temperature=kB * temperature_K, dr=dr, optimizer=CellRelax, fmax=0.05,
                          logfile=None, trajectory=str(workdir / f"bh_{len(start)}_{seed}_lowest.traj"),
                          local_minima_trajectory=str(workdir / f"bh_{len(start)}_{seed}_minima.traj"))
        bh.run(10**6)
    except BudgetExhausted:
        pass
    engine.close()
    db = MinimaDB(workdir / f"bh_{len(start)}_{seed}.db")
    for k, (m, e, _) in enumerate(minima):
        db.add_minimum(m, e, seed=seed, step=k)
    n = len(start)
    if not lowest_is_rocksalt(db):
        hit.clear()
    return {"hit": hit[0] if hit else None, "best": min((e for _, e, _ in minima), default=np.inf) / n,
            "distinct": db.count(), "calls": engine.force_calls, "db": db.path}


def in_turns(run_one, n_walkers: int, seed: int, budget: int, workdir: Path, tag: str) -> dict:
    """``run_one(seed, budget)`` for ``n_walkers`` walkers from one start, each with ``budget // n``.

    Walker seeds are :func:`~lizrcl_tools.ssw.parallel.walker_seeds` of ``seed`` (as ``lizrcl ssw
    --walkers``). Force calls are booked as if the walkers ran one after another: a hit by walker
    k costs every call of walkers 0 … k−1 plus its own calls up to the hit. Distinct minima are
    counted in the merged database (``lizrcl minima --merge``), so two walkers finding the same
    minimum count it once.
    """
    if n_walkers == 1:
        return run_one(seed, budget)
    spent, hit, best, dbs, moves = 0, None, np.inf, [], []
    for s in walker_seeds(seed, n_walkers):
        r = run_one(s, budget // n_walkers)
        if hit is None and r["hit"] is not None:
            hit = spent + r["hit"]
        spent += r["calls"]
        best = min(best, r["best"])
        dbs += [r["db"]] if r["db"] is not None and Path(r["db"]).exists() else []
        moves.append(r.get("moves", "-"))
    merged = MinimaDB(workdir / f"{tag}_merged.db")
    merge_minima(merged, [MinimaDB(p) for p in dbs])
    return {"hit": hit, "best": best, "distinct": merged.count(), "calls": spent, "moves": "+".join(moves),
            "db": merged.path}


def run_case(n: int, seed: int, args: argparse.Namespace, params: SSWParameters, e_target: float,
             work: Path) -> tuple[dict, dict, float, float]:
    """Both methods from one random cell (``n`` atoms, benchmark ``seed``): (SSW, BH, wall s, wall s)."""
    spec = toy_licl_potential()
    start = (random_cell(["Li", "Cl"] * (n // 2), seed=1000 * n + seed, volume_per_atom=args.volume_per_atom)
             if args.start == "random" else metastable_cell(args.start, n))
    skipped = {"hit": None, "best": np.nan, "distinct": 0, "calls": 1}
    t0 = time.time()
    s = (in_turns(lambda sd, b: run_ssw(start, spec, sd, b, e_target, work, params),
                  args.walkers, seed, args.budget, work, f"ssw_{n}_{seed}") if not args.bh_only else skipped)
    t1 = time.time()
    b = (in_turns(lambda sd, b: run_bh(start, spec, sd, b, e_target, work, args.bh_dr, args.temperature,
                                       args.bh_fixed_cell_first),
                  args.walkers, seed, args.budget, work, f"bh_{n}_{seed}") if not args.ssw_only else skipped)
    return s, b, t1 - t0, time.time() - t1


def _run_case_star(task):
    return task[:2], run_case(*task)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a success rate k/n (95 % for z = 1.96), as fractions."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=4000, help="force calls per run (default 4000)")
    parser.add_argument("--seeds", type=int, default=6, help="random starting cells per size (default 6)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 24, 48],
                        help="atoms per cell (default 8 16 24 48)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="first seed (default 0: the benchmark's seeds 0..; tuning used 100-105 only)")
    parser.add_argument("--ssw-only", action="store_true",
                        help="skip basin hopping (its runs are deterministic per seed: reuse an earlier table)")
    parser.add_argument("--bh-only", action="store_true",
                        help="skip SSW (basin hopping does not depend on the SSW settings: run it alongside)")
    parser.add_argument("--ssw", nargs="*", default=[], metavar="KEY=VALUE",
                        help="SSWParameters overrides, e.g. dimer_rotations=1")
    parser.add_argument("--walkers", type=int, default=1,
                        help="split each run's budget among N walkers from the same start (SSW: walker seeds as "
                             "`lizrcl ssw --walkers`; basin hopping: N restarts), booked one after another")
    parser.add_argument("--jobs", type=int, default=1,
                        help="run the (size, seed) cases in N processes (each case is deterministic, so the table "
                             "does not depend on N; rows print as cases finish)")
    parser.add_argument("--start", choices=["random", *METASTABLE], default="random",
                        help="random cells (default; seed = the cell) or a relaxed metastable polymorph, the same "
                             "start for every seed (seed = the walk's random stream): what SSW is for, escaping a "
                             "deep minimum")
    parser.add_argument("--bh-fixed-cell-first", action="store_true",
                        help="basin hopping relaxes the start's atoms at fixed cell before its first variable-cell "
                             "relaxation (the control for SSW's start_fixed_cell)")
    parser.add_argument("--volume-per-atom", type=float, default=ROCKSALT_A**3 / 8,
                        help="random cells' volume, Å³/atom, before random_cell's U(0.9, 1.2) factor (default: "
                             "rocksalt's, 24.5; the start then often relaxes into rocksalt by itself at 24 atoms)")
    parser.add_argument("--tol", type=float, default=0.002, help="rocksalt energy tolerance, eV/atom")
    parser.add_argument("--bh-dr", type=float, default=0.5, help="basin-hopping step, Å (default 0.5)")
    parser.add_argument("--temperature", type=float, default=300.0, help="Metropolis temperature, K")
    args = parser.parse_args()

    params = SSWParameters(**parse_overrides(args.ssw))
    spec = toy_licl_potential()
    e_rs = rocksalt_energy_per_atom(spec)
    e_target = e_rs + args.tol
    print(f"toy LiCl potential; rocksalt {e_rs:.5f} eV/atom; budget {args.budget} force calls per run; "
          f"start: {args.start}")
    print(f"SSW parameters: {params}")
    if args.start == "random":
        print(f"random cells at {args.volume_per_atom:.2f} Å³/atom × U(0.9, 1.2)")
    if args.bh_fixed_cell_first:
        print("basin hopping: the start's atoms relaxed at fixed cell first (--bh-fixed-cell-first)")
    if args.walkers > 1:
        print(f"{args.walkers} walkers per run for both methods, {args.budget // args.walkers} force calls each")
    print(f"{'N':>3} {'seed':>4} | {'SSW hit@':>9} {'best ΔE':>8} {'minima':>6} | {'BH hit@':>9} {'best ΔE':>8} "
          f"{'minima':>6}   (ΔE in meV/atom above rocksalt; SSW kicks[+swaps]/steps; wall s SSW / BH)")
    summary = {"ssw": [], "bh": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tasks = [(n, seed, args, params, e_target, work) for n in args.sizes
                 for seed in range(args.first_seed, args.first_seed + args.seeds)]
        if args.jobs > 1:
            import multiprocessing

            pool = multiprocessing.get_context("fork").Pool(args.jobs)
            results = pool.imap_unordered(_run_case_star, tasks)
        else:
            pool, results = None, map(_run_case_star, tasks)
        for (n, seed), (s, b, t_s, t_b) in results:
            summary["ssw"].append((n, s))
            summary["bh"].append((n, b))
            print(f"{n:>3} {seed:>4} | {str(s['hit']):>9} {1000 * (s['best'] - e_rs):>8.1f} {s['distinct']:>6} | "
                  f"{str(b['hit']):>9} {1000 * (b['best'] - e_rs):>8.1f} {b['distinct']:>6}   "
                  f"{s.get('moves', '-'):>7} ({t_s:.0f} s / {t_b:.0f} s)", flush=True)
        if pool is not None:
            pool.close()
            pool.join()
    print(f"\n| N | SSW success (95 % interval) | BH success (95 % interval) | SSW median calls | BH median calls "
          f"| SSW minima/1000 calls | BH minima/1000 calls |\n|---|---|---|---|---|---|---|")
    for n in args.sizes:
        cols = {}
        for name in ("ssw", "bh"):
            runs = [r for m, r in summary[name] if m == n]
            hits = [r["hit"] for r in runs if r["hit"] is not None]
            lo, hi = wilson(len(hits), len(runs))
            per_k = 1000 * np.mean([r["distinct"] / max(r["calls"], 1) for r in runs])
            cols[name] = (f"{len(hits)}/{len(runs)} ({100 * lo:.0f}–{100 * hi:.0f} %)",
                          f"{np.median(hits):.0f}" if hits else "-", f"{per_k:.2f}")
        s, b = cols["ssw"], cols["bh"]
        print(f"| {n} | {s[0]} | {b[0]} | {s[1]} | {b[1]} | {s[2]} | {b[2]} |")
    print("\nPaired by starting cell (same seed, both methods): seeds where only one method reached rocksalt, "
          "and the exact two-sided sign test on those (McNemar) — p small: the methods differ")
    for n in args.sizes:
        # summary's two lists are appended together, one case at a time: zip pairs the same start.
        only_s = sum(1 for (m, r), (_, q) in zip(summary["ssw"], summary["bh"])
                     if m == n and r["hit"] is not None and q["hit"] is None)
        only_b = sum(1 for (m, r), (_, q) in zip(summary["ssw"], summary["bh"])
                     if m == n and r["hit"] is None and q["hit"] is not None)
        p_value = binomtest(only_s, only_s + only_b).pvalue if only_s + only_b else 1.0
        print(f"  N = {n}: SSW only {only_s}, BH only {only_b}, p = {p_value:.3f}")

if __name__ == "__main__":
    main()
