#!/usr/bin/env python
"""Check: does SSW with the shipped model reach the P-3m1 Li ordering of Li2ZrCl6 from random ones?

For each seed: ``structures.build("li2zrcl6-p3m1", seed=S, n_atoms=N)`` (``--atoms`` 27 or 54;
Li redistributed at random over all Li sites of the cell, Zr and Cl on their P-3m1 sites: the
builder randomises Li only), or with ``--arrangement mix`` Li *and* Zr placed at random in the
octahedral holes of an ideal hcp Cl array (``structures.mix(1/3, N, S)``); then an SSW walk
(:class:`lizrcl_tools.ssw.SSWWalker`, default parameters or ``--ssw`` overrides, variable cell) under a hard force-call
budget. Reference: the builder's ordered P-3m1 cell of the same size, quenched with the same
potential and tolerances (the walk's start quench); "reached" means within ``--tol`` of P-3m1's
energy or below. Printed per seed: lowest minimum vs P-3m1 (meV/atom), force calls and wall
seconds when the walk first reached it, the space group of the lowest minimum, and SevenNet-0
(the model's teacher, no D3) and the bare model (no D3) single points of the lowest minimum and
relaxed P-3m1, to check the ordering. JSON summary to ``--out``.

Usage: ``OMP_NUM_THREADS=1 nice -n 10 python scripts/li2zrcl6_ssw_check.py --seeds 1 2 --budget 4000``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path



def space_group(atoms, symprec: float = 0.1) -> str:
    import spglib

    return str(spglib.get_spacegroup((atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), symprec))


def main() -> None:
    from lizrcl_tools.commands.ssw import load_potential
    from lizrcl_tools.neb.teacher import model_energies, teacher_energies
    from lizrcl_tools.ssw import SSWParameters, SSWWalker
    from lizrcl_tools.ssw.parameters import parse_overrides
    from lizrcl_tools.structures import build, mix

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--atoms", type=int, default=27, choices=(27, 54), help="cell size (default 27)")
    parser.add_argument("--arrangement", choices=("li", "mix"), default="li",
                        help="li: Li shuffled over P-3m1's Li sites (default); mix: Li and Zr at random on hcp Cl")
    parser.add_argument("--budget", type=int, default=4000, help="force calls per walk")
    parser.add_argument("--potential", default="mace", help="mace (MACE + D3(BJ), default) or a spec")
    parser.add_argument("--walk-seed", type=int, default=1, help="SSW seed of each walk")
    parser.add_argument("--tol", type=float, default=0.001, help="'reached P-3m1': within this, eV/atom")
    parser.add_argument("--no-teacher", action="store_true")
    parser.add_argument("--max-wall", type=float, default=None,
                        help="also stop a walk after this many wall seconds (checked between steps)")
    parser.add_argument("--work", default=None,
                        help="folder for the walks (w<seed>.json/.db); an existing walk there is resumed "
                        "(default: a temporary folder)")
    parser.add_argument("--ssw", nargs="*", default=[], metavar="KEY=VALUE",
                        help="SSWParameters overrides, e.g. swap_moves=true swap_pairs=Li-Zr (default: the defaults)")
    parser.add_argument("--out", default="li2zrcl6_ssw_check.json")
    args = parser.parse_args()

    spec = load_potential(args.potential, None)
    bare = load_potential(args.potential, None, "none")
    params = SSWParameters(**parse_overrides(args.ssw))
    out = {"potential": spec.name, "dispersion": spec.metadata.get("dispersion"), "budget": args.budget,
           "atoms": args.atoms, "arrangement": args.arrangement,
           "walk_seed": args.walk_seed, "params": params.__dict__, "runs": []}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(args.work) if args.work else Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        ref = SSWWalker(build("li2zrcl6-p3m1", n_atoms=args.atoms), spec, Path(scratch) / "ref.db", params, seed=0)
        n = len(ref.symbols)
        e_ref = ref.state.energy / n
        ref_atoms = ref._atoms(ref.state.cell, ref.state.positions)
        ref.close()
        out["p3m1_eV_per_atom"] = e_ref
        out["p3m1_space_group"] = space_group(ref_atoms)
        print(f"P-3m1 relaxed: {e_ref:.5f} eV/atom ({out['p3m1_space_group']}), {spec.name}")
        for s in args.seeds:
            start = (build("li2zrcl6-p3m1", seed=s, n_atoms=args.atoms) if args.arrangement == "li"
                     else mix(1 / 3, args.atoms, s))
            t0 = time.time()
            checkpoint = tmp / f"w{s}.json"
            resumed = checkpoint.exists()
            if resumed:  # wall times of the earlier part are not known
                walker = SSWWalker.resume(checkpoint, db=tmp / f"w{s}.db", spec=spec, seed=args.walk_seed)
                times = [float("nan")] * len(walker.state.history)
            else:
                walker = SSWWalker(start, spec, tmp / f"w{s}.db", params, seed=args.walk_seed,
                                   checkpoint=checkpoint, max_force_calls=args.budget)
                times = [time.time() - t0]
            e_start = walker.state.history[0].energy / n
            while args.max_wall is None or time.time() - t0 < args.max_wall:
                done = walker.run(walker.state.step + 1, progress=False, max_force_calls=args.budget)
                if not done:
                    break
                times.append(time.time() - t0)
            hist = walker.state.history
            reached = next((k for k, r in enumerate(hist) if r.energy / n <= e_ref + args.tol), None)
            best = walker.db.minima()[0]
            best_atoms = best.toatoms()
            run = {"arrangement_seed": s, "resumed": resumed, "start_quench_eV_per_atom": e_start, "steps": walker.state.step,
                   "force_calls": walker.state.force_calls, "wall_s": time.time() - t0,
                   "lowest_eV_per_atom": best.e_per_atom, "lowest_minus_p3m1_meV_per_atom":
                   1000 * (best.e_per_atom - e_ref), "lowest_space_group": space_group(best_atoms),
                   "reached_at_step": None if reached is None else hist[reached].step,
                   "reached_at_calls": None if reached is None else hist[reached].force_calls,
                   "reached_at_wall_s": None if reached is None else times[reached],
                   "distinct_minima": walker.db.count(), "acceptance": walker.acceptance_rate()}
            walker.close()
            if not args.no_teacher:
                et, prov = teacher_energies([best_atoms, ref_atoms])
                eb = model_energies([best_atoms, ref_atoms], bare)
                run["teacher"] = prov
                run["teacher_lowest_minus_p3m1_meV_per_atom"] = 1000 * (et[0] - et[1]) / n
                run["bare_model_lowest_minus_p3m1_meV_per_atom"] = 1000 * (eb[0] - eb[1]) / n
            out["runs"].append(run)
            print(json.dumps(run, indent=1, default=float), flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1, default=float))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
