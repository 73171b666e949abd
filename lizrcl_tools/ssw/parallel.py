"""Several SSW walkers on one cell, one per core (or per batch slot), then one merged database.

SQLite over NFS is not safe to share between processes on different hosts, so each walker
writes its own run folder ``DIR/walker_NNN/`` (``minima.db``, checkpoint ``walk.json``, and
``result.json`` once it has finished), and the driver merges the walkers' databases into the
target with :func:`~lizrcl_tools.ssw.merge.merge_minima`. The run folders are the durable
record: a finished walker (its ``result.json`` matching the requested steps, budget and seed)
is not sent again, an unfinished one resumes from its checkpoint.

Seeds: walker k gets ``numpy.random.SeedSequence(seed, spawn_key=(k,))``'s first 32-bit word,
so walkers are independent streams, walker k's seed does not depend on how many walkers there
are, and every seed is recorded (``DIR/walkers.json``, each checkpoint, each database visit).
Running the walkers serially (no cluster) or as Parsl tasks gives the same folders and the
same merged database.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
from ase import Atoms

from lizrcl_tools.errors import SetupError
from lizrcl_tools.fileio import write_json_atomic
from lizrcl_tools.potential.spec import PotentialSpec
from lizrcl_tools.ssw.parameters import SSWParameters

MANIFEST = "walkers.json"


def walker_seeds(seed: int, n_walkers: int) -> list[int]:
    """Seeds of walkers 0 … n−1 derived from ``seed`` (independent streams, stable in n)."""
    if n_walkers < 1:
        raise SetupError(f"--walkers must be at least 1, got {n_walkers}")
    return [int(np.random.SeedSequence(int(seed), spawn_key=(k,)).generate_state(1, dtype=np.uint32)[0])
            for k in range(n_walkers)]


def walker_folder(out_dir: str | Path, k: int) -> Path:
    """Run folder of walker ``k``."""
    return Path(out_dir) / f"walker_{k:03d}"


def _request(seed: int, steps: int, max_force_calls: int | None) -> dict:
    return {"seed": int(seed), "steps": int(steps), "max_force_calls": max_force_calls}


def finished_walker(run_dir: str | Path, seed: int, steps: int, max_force_calls: int | None) -> dict | None:
    """The walker's ``result.json`` if it finished this request (same seed, steps, budget), else None."""
    path = Path(run_dir) / "result.json"
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text())
    except ValueError:
        return None
    want = _request(seed, steps, max_force_calls)
    return result if all(result.get(k) == v for k, v in want.items()) else None


def run_walker(atoms: Atoms, spec: PotentialSpec, params: SSWParameters, seed: int, run_dir: str | Path,
               steps: int, max_force_calls: int | None = None) -> dict:
    """Run (or resume) one walker in ``run_dir`` until ``steps`` steps or its budget; return its summary.

    The summary (also written to ``run_dir/result.json``): seed, steps asked and done, budget,
    force calls spent, lowest energy (eV, whole cell) and the number of distinct minima.
    """
    from lizrcl_tools.potential.lammps_engine import BudgetExhausted
    from lizrcl_tools.ssw.walker import SSWWalker

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    db, checkpoint = run_dir / "minima.db", run_dir / "walk.json"
    if checkpoint.exists():
        walker = SSWWalker.resume(checkpoint, db=db, spec=spec, seed=seed)
    else:
        try:
            walker = SSWWalker(atoms, spec, db, params, seed, checkpoint, max_force_calls=max_force_calls)
        except BudgetExhausted as exc:
            raise SetupError(f"{run_dir}: the start quench alone needs more than {max_force_calls} force calls") \
                from exc
    try:
        walker.run(steps, progress=False, max_force_calls=max_force_calls)
        s = walker.state
        result = {**_request(seed, steps, max_force_calls), "steps_done": s.step, "force_calls": s.force_calls,
                  "lowest_energy_eV": walker.lowest_energy(), "distinct_minima": walker.db.count(),
                  "acceptance": walker.acceptance_rate()}
    finally:
        walker.close()
    write_json_atomic(run_dir / "result.json", result)
    return result


def _check_manifest(out_dir: Path, manifest: dict) -> None:
    path = out_dir / MANIFEST
    if path.exists():
        old = json.loads(path.read_text())
        manifest = json.loads(json.dumps(manifest))  # tuples → lists, as read back
        if old.get("seeds") != manifest["seeds"][: len(old.get("seeds", []))] or \
                old.get("params") != manifest["params"] or old.get("potential") != manifest["potential"]:
            raise SetupError(f"{path}: these walkers were started with another seed, potential or parameters; "
                             "use a new folder for a new search")
    write_json_atomic(path, manifest)


def run_walkers(
    atoms: Atoms,
    spec: PotentialSpec,
    params: SSWParameters,
    seed: int,
    n_walkers: int,
    out_dir: str | Path,
    db: str | Path,
    steps: int,
    max_force_calls: int | None = None,
    cluster=None,
) -> tuple[list[dict], object]:
    """Run ``n_walkers`` SSW walkers from ``atoms`` and merge their databases into ``db``.

    Parameters
    ----------
    atoms : ase.Atoms
        Starting cell, the same for every walker (they differ by seed).
    spec : PotentialSpec
        Potential.
    params : SSWParameters
        Walk settings (shared).
    seed : int
        Base seed; walker seeds from :func:`walker_seeds`.
    n_walkers : int
        Number of walkers.
    out_dir : str or Path
        Parent of the walker run folders ``walker_NNN/`` and of ``walkers.json``.
    db : str or Path
        Merged minima database (created or added to; merging again changes nothing).
    steps : int
        SSW steps per walker.
    max_force_calls : int, optional
        Hard force-call budget of each walker (start quench included).
    cluster : ClusterConfig, optional
        Run the walkers as Parsl tasks on its ``ssw`` block; None: one after another here.

    Returns
    -------
    (list of dict, MergeReport)
        Each walker's summary (see :func:`run_walker`), in walker order, and the merge report.
    """
    from lizrcl_tools.ssw.database import MinimaDB
    from lizrcl_tools.ssw.merge import merge_minima

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = walker_seeds(seed, n_walkers)
    _check_manifest(out_dir, {"base_seed": int(seed), "seeds": seeds, "steps": int(steps),
                              "max_force_calls": max_force_calls, "params": asdict(params),
                              "potential": spec.to_dict(), "merged_db": str(Path(db).resolve())})
    jobs = [dict(atoms=atoms, spec=spec, params=params, seed=s, run_dir=walker_folder(out_dir, k), steps=steps,
                 max_force_calls=max_force_calls) for k, s in enumerate(seeds)]
    if cluster is None:
        results = [finished_walker(j["run_dir"], s, steps, max_force_calls) or run_walker(**j)
                   for j, s in zip(jobs, seeds)]
    else:
        from lizrcl_tools.cluster.tasks import Task, run_tasks

        tasks = [Task(key=f"ssw-{j['run_dir'].name}", function=run_walker, kwargs=j,
                      done=partial(finished_walker, j["run_dir"], j["seed"], steps, max_force_calls)) for j in jobs]
        by_key = run_tasks(tasks, cluster, "ssw", out_dir)
        results = [by_key[t.key] for t in tasks]
    target = MinimaDB(db)
    report = merge_minima(target, [MinimaDB(j["run_dir"] / "minima.db") for j in jobs])
    return results, report

